// The XMPP server the integration tests run against, chosen once per run by
// TLIM_TEST_XMPP_SERVER: "prosody" (the default, test/support/prosody.ts) or "ejabberd"
// (test/support/ejabberd.ts). Both give the same handle; `kind` says which one it is, for the
// few assertions that depend on the server (name them explicitly where they are made).
import { join } from "node:path";
import { startEjabberd, type EjabberdOptions } from "./ejabberd.js";
import { startProsody, type ProsodyHandle, type ProsodyOptions } from "./prosody.js";

export type XmppServerKind = "prosody" | "ejabberd";
export const XMPP_SERVER_KINDS: readonly XmppServerKind[] = ["prosody", "ejabberd"];

/** Reads TLIM_TEST_XMPP_SERVER (unset or empty = "prosody"); anything else is an error. */
export function xmppServerFromEnv(env: NodeJS.ProcessEnv = process.env): XmppServerKind {
  const v = env.TLIM_TEST_XMPP_SERVER?.trim() || "prosody";
  if (!(XMPP_SERVER_KINDS as readonly string[]).includes(v))
    throw new Error(`TLIM_TEST_XMPP_SERVER must be one of ${XMPP_SERVER_KINDS.join(", ")} (got ${JSON.stringify(v)})`);
  return v as XmppServerKind;
}

export const XMPP_SERVER: XmppServerKind = xmppServerFromEnv();

/**
 * A test title that names the selected server: `npm test` runs the integration files on both
 * servers in one report (vitest.config.ts), so a title must say which one a result is from.
 * "delivery guarantees on %s" -> "delivery guarantees on %s [ejabberd]".
 */
export function onServer(title: string): string {
  return `${title} [${XMPP_SERVER}]`;
}

export interface XmppServerHandle extends ProsodyHandle {
  readonly kind: XmppServerKind;
  /** The server's own pid file (for tests that freeze the process with SIGSTOP). */
  readonly pidFile: string;
}

export interface XmppServerOptions {
  /** Accounts to create: [username, password]. */
  users?: Array<[string, string]>;
  /** Default "tlim.localhost". */
  componentDomain?: string;
  /** Default "s3cret". */
  componentSecret?: string;
  /** Default "localhost". */
  userDomain?: string;
  /** Used only when the server is Prosody. */
  prosody?: Pick<ProsodyOptions, "extraConfig" | "hostConfig">;
  /** Used only when the server is ejabberd. */
  ejabberd?: Omit<EjabberdOptions, "users" | "componentDomain" | "componentSecret" | "userDomain">;
}

/** Starts the server selected by TLIM_TEST_XMPP_SERVER, or `kind` when given. */
export async function startXmppServer(opts: XmppServerOptions = {}, kind: XmppServerKind = XMPP_SERVER): Promise<XmppServerHandle> {
  const { prosody, ejabberd, ...common } = opts;
  if (kind === "ejabberd") return startEjabberd({ ...common, ...ejabberd });
  const h = await startProsody({ ...common, ...prosody });
  // Properties added to the handle itself: its port getters must stay live.
  return Object.assign(h, { kind: "prosody" as const, pidFile: join(h.dir, "prosody.pid") });
}
