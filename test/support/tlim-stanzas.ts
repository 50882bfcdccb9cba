// Builders for the stanzas a tlim client sends, and readers for what it receives.
import { randomUUID } from "node:crypto";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

export interface EnvelopeFields {
  msg_from: string;
  msg_to: string;
  msg_type: string;
  body: unknown;
  msg_id?: string;
  msg_time?: string;
}

export function envelope(f: EnvelopeFields) {
  return {
    compress: "0", encode: "0", encrypt: "0", version: "2.1.0",
    msg_id: f.msg_id ?? randomUUID(),
    msg_time: f.msg_time ?? String(Date.now()),
    ...f,
  };
}

/** A `<message type="chat">` carrying the envelope as JSON text, asking for a XEP-0184 receipt. */
export function tlimMessage(to: string, env: ReturnType<typeof envelope> | string, opts: { id?: string; receipt?: boolean } = {}): Element {
  const text = typeof env === "string" ? env : JSON.stringify(env);
  const children = [xml("body", {}, text)];
  if (opts.receipt !== false) children.push(xml("request", { xmlns: "urn:xmpp:receipts" }));
  return xml("message", { type: "chat", to, id: opts.id ?? randomUUID() }, ...children);
}

/** The envelope of a received message, or null when its body is not JSON. */
export function envelopeOf(el: Element): any {
  const body = el.getChildText("body");
  if (!body) return null;
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/** The msg_ids of every envelope `client` receives from now on (error bounces left out). */
export function envelopeIdsOf(client: { xmpp: { on(ev: "stanza", fn: (el: Element) => void): unknown } }): Set<string> {
  const got = new Set<string>();
  client.xmpp.on("stanza", (el: Element) => {
    const id = el.is("message") && el.attrs.type !== "error" ? envelopeOf(el)?.msg_id : undefined;
    if (typeof id === "string") got.add(id);
  });
  return got;
}

export const isMessageWithId = (msgId: string) => (el: Element) =>
  el.is("message") && el.attrs.type !== "error" && envelopeOf(el)?.msg_id === msgId;

export const isErrorFor = (stanzaId: string) => (el: Element) => el.is("message") && el.attrs.type === "error" && el.attrs.id === stanzaId;

export const isReceiptFor = (stanzaId: string) => (el: Element) =>
  el.is("message") && el.getChild("received", "urn:xmpp:receipts")?.attrs.id === stanzaId;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
