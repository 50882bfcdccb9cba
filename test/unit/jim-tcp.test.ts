// A TCP connection's read path (src/transports/jim/tcp.ts) on a stub socket: frames trickled in
// small reads arrive whole, nothing is held between frames, a bad header closes at once.
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { encodeFrame } from "../../src/protocol/jim-frame.js";
import type { ConnectionHost } from "../../src/transports/jim/connection.js";
import { TcpConnection } from "../../src/transports/jim/tcp.js";

class Probe extends TcpConnection {
  readonly frames: Array<{ cmd: number; synSeq: number; body: string }> = [];
  override frame(cmd: number, synSeq: number, body: Buffer): void {
    this.frames.push({ cmd, synSeq, body: body.toString("latin1") });
  }
}

function probe(maxBodyBytes = 4 * 1024 * 1024) {
  const socket = { ended: false, remoteAddress: "192.0.2.7", writableLength: 0, end() { this.ended = true; }, destroy() {}, write() { return true; }, pause() {}, resume() {} };
  const deps = { log: createLogger("silent"), hub: { remove() {} } };
  const host = { deps, table: null, maxBodyBytes } as unknown as ConnectionHost;
  return { conn: new Probe(host, socket as unknown as Socket), socket };
}

describe("TcpConnection reads", () => {
  it("assembles a 2 MiB frame trickled 100 bytes per read and keeps no buffer afterwards", () => {
    const { conn } = probe();
    const body = Buffer.alloc(2 * 1024 * 1024, "a");
    const bytes = Buffer.concat([encodeFrame(11, body), encodeFrame(13, Buffer.from([0x80]))]);
    let held = 0;
    for (let at = 0; at < bytes.length; at += 100) {
      conn.data(bytes.subarray(at, at + 100));
      held = Math.max(held, conn.bufferedBytes);
    }
    expect(conn.frames.map((f) => [f.cmd, f.body.length])).toEqual([[11, body.length], [13, 1]]);
    expect(conn.frames[0]!.body).toBe(body.toString("latin1"));
    expect(held).toBeGreaterThan(2_000_000);
    expect(conn.bufferedBytes).toBe(0);
  });

  it("closes as soon as a header read across reads is too large", () => {
    const { conn, socket } = probe(1024);
    const header = Buffer.from("01510b00100000", "hex"); // cmd 11, 1 MiB body
    for (const b of header.subarray(0, 6)) conn.data(Buffer.from([b]));
    expect(conn.closed).toBe(false);
    conn.data(header.subarray(6));
    expect(conn.closed).toBe(true);
    expect(socket.ended).toBe(true);
    expect(conn.bufferedBytes).toBe(0);
  });

  it("takes its remote address from the socket", () => {
    expect(probe().conn.remoteAddress).toBe("192.0.2.7");
  });
});
