// A throwaway certificate authority for the TLS tests, made with the openssl command line: a CA
// and server certificates it signs for 127.0.0.1 and localhost. Nothing is trusted outside the
// tests that pass `ca` explicitly.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCa {
  dir: string;
  /** PEM of the CA certificate (what clients trust). */
  caPem: Buffer;
  /** Makes a server certificate signed by the CA; returns the PEM file paths and its fingerprint. */
  issue(name: string, opts?: { cn?: string; days?: number; chain?: boolean }): { cert: string; key: string; fingerprint256: string };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "tlim-ca-"));
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tlim test CA", "-keyout", "ca.key", "-out", "ca.pem"], dir);
  return {
    dir,
    caPem: readFileSync(join(dir, "ca.pem")),
    issue(name, opts = {}) {
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n");
      openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${opts.cn ?? name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`], dir);
      openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", String(opts.days ?? 2), "-extfile", ext, "-out", `${name}.pem`], dir);
      const pem = readFileSync(join(dir, `${name}.pem`));
      if (opts.chain) writeFileSync(join(dir, `${name}.pem`), Buffer.concat([pem, readFileSync(join(dir, "ca.pem"))]));
      return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), fingerprint256: new X509Certificate(pem).fingerprint256 };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
