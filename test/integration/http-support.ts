// Helpers shared by the HTTP API's integration tests (test/integration/http-*.test.ts).
import type { TestTlim } from "../support/tlim.js";
import { envelope, isErrorFor, isReceiptFor, tlimMessage } from "../support/tlim-stanzas.js";
import type { Element, TestClient } from "../support/xmpp-client.js";

/** Sends a tlim message and waits for the XEP-0184 ack of its commit; throws on a refusal. */
export async function sendStored(c: TestClient, to: string, env: ReturnType<typeof envelope>): Promise<void> {
  const stanza = tlimMessage(to, env);
  const id = stanza.attrs.id as string;
  await c.send(stanza);
  await c.waitFor((el) => isReceiptFor(id)(el) || isErrorFor(id)(el));
  const err = c.received.find(isErrorFor(id));
  if (err) throw new Error(`refused: ${err.toString()}`);
}

/** Sends a tlim message and resolves with the error reply it must get. */
export async function refused(c: TestClient, to: string, env: ReturnType<typeof envelope>): Promise<Element> {
  const stanza = tlimMessage(to, env);
  await c.send(stanza);
  return c.waitFor(isErrorFor(stanza.attrs.id as string));
}

/** A session text message from `from` to session `sid`. */
export function sessionText(from: string, sid: string, text: string) {
  return envelope({ msg_from: from, msg_to: sid, msg_type: "MTS-000", body: [{ session_id: sid, text }] });
}

/** A 1:1 text message. */
export function chatText(from: string, to: string, text: string) {
  return envelope({ msg_from: from, msg_to: to, msg_type: "MTT-000", body: [{ text }] });
}

/** addSession over HTTP; returns the session id. */
export async function addSession(tlim: TestTlim, owner: string, members: string[], type = "0"): Promise<string> {
  const r = await tlim.api("addSession", { session_type: type, request_user: owner, subscribers: JSON.stringify(members.map((user_id) => ({ user_id }))) });
  if (r.result !== "ok") throw new Error(`addSession failed: ${JSON.stringify(r)}`);
  return r.session_id as string;
}

/** POSTs a JSON body (the app accepts JSON as well as forms). */
export async function postJson(tlim: TestTlim, name: string, body: unknown): Promise<any> {
  const res = await fetch(`${tlim.httpUrl}/plugins/tlim/${name}`, {
    method: "POST",
    headers: { authorization: "Bearer test-api-secret", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.json();
}
