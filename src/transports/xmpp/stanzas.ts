// Outgoing stanzas, built in one place so every delivery, copy, receipt and error looks the same.
import xml, { type Element } from "@xmpp/xml";
import type { ImError } from "../../protocol/errors.js";
import { readableText } from "../../protocol/readable.js";
import { jsonXmlSafe, xmlSafe } from "../../protocol/xml-safe.js";
import { conversationNode } from "../../core/conversation.js";
import type { InboxItem, StoredMessage } from "../../store/types.js";

export const NS = {
  receipts: "urn:xmpp:receipts",
  hints: "urn:xmpp:hints",
  delay: "urn:xmpp:delay",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  chatStates: "http://jabber.org/protocol/chatstates",
  markers: "urn:xmpp:chat-markers:0",
  json: "urn:xmpp:json:0",
  /** tlim's own namespace between the component and its server module (server/prosody). */
  route: "urn:tlim:route:0",
  tlim: "im.itonglian.com",
} as const;

export interface Domains {
  /** The component's domain C. */
  component: string;
  /** The users' domain D. */
  users: string;
}

const envelopeTexts = new WeakMap<StoredMessage, string>();
const envelopeXmlTexts = new WeakMap<StoredMessage, string>();

/**
 * The envelope text as delivered on XMPP: body as a real array (docs/architecture.md "The body: an array on
 * XMPP, a string over HTTP"). Every inbox entry of
 * a commit shares one StoredMessage, so the text is built once per message; the stored body is
 * already compact JSON (JSON.stringify), so it is spliced in as is — the same bytes
 * encodeEnvelope would produce, without a parse and a re-serialisation per recipient.
 */
export function envelopeText(m: StoredMessage): string {
  let text = envelopeTexts.get(m);
  if (text === undefined) {
    const head = JSON.stringify({
      compress: m.compress, encode: m.encode, encrypt: m.encrypt, version: m.version,
      msg_from: m.msgFrom, msg_to: m.msgTo, msg_id: m.msgId, msg_type: m.msgType, msg_time: m.msgTime,
    });
    text = `${head.slice(0, -1)},"body":${m.body}}`;
    envelopeTexts.set(m, text);
  }
  return text;
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Escapes an attribute value (as ltx does). */
export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!) : s;
}

/** Escapes element text (as ltx does: quotes stay, which keeps JSON bodies short). */
export function escapeXmlText(s: string): string {
  return /[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => XML_ESCAPES[c]!) : s;
}

/** The envelope text escaped for a `<body>`, once per message like envelopeText. Characters XML
 * cannot carry become JSON escapes: the client's JSON parser gets exactly what was sent. */
function envelopeXmlText(m: StoredMessage): string {
  let text = envelopeXmlTexts.get(m);
  if (text === undefined) {
    text = jsonXmlSafe(escapeXmlText(envelopeText(m)));
    envelopeXmlTexts.set(m, text);
  }
  return text;
}

/**
 * One stored message for one user, as XML text: the hottest stanza, written straight to the
 * link without building an element tree (docs/performance.md). The sender's own 1:1 copy
 * carries `<subject>ASYNC</subject>` as the original plugin's copies did. `id` is
 * the envelope msg_id, so a XEP-0184 receipt for it tells tlim which message the device has.
 * tlim keeps the message itself; servers that honour hints (ejabberd) then do not store a
 * second copy for an offline user (Prosody 0.12's mod_offline ignores them, see delivery.ts).
 */
export function deliveryStanza(
  d: Domains,
  item: InboxItem,
  opts: { to: string; type: "chat" | "headline"; delayed: boolean; plain?: boolean; as?: string; store?: boolean },
): string {
  const m = item.message;
  const own = m.msgFrom === item.userId && m.sessionId === null;
  const from = escapeXml(`${conversationNode(item)}@${d.component}`);
  const delay = opts.delayed
    ? `<delay xmlns="${NS.delay}" from="${escapeXml(d.component)}" stamp="${new Date(m.createdAt).toISOString()}"/>`
    : "";
  const head = `<message type="${opts.type}" from="${from}" to="${escapeXml(opts.to)}" id="${escapeXml(m.msgId)}">` +
    (own ? "<subject>ASYNC</subject>" : "");
  // `as`: the address the server's tlim module gives the stanza (docs/servers.md).
  const address = opts.as ? `<address xmlns="${NS.route}" from="${escapeXml(opts.as)}"/>` : "";
  // `store`: the server may keep it offline (a push to a bare JID, where that is the delivery).
  const hint = opts.store ? "" : `<no-store xmlns="${NS.hints}"/>`;
  const tail = `<request xmlns="${NS.receipts}"/>${hint}${delay}${address}</message>`;
  if (!opts.plain) return `${head}<body>${envelopeXmlText(m)}</body>${tail}`;
  // A device that does not speak tlim: a readable body, the envelope in a XEP-0335 container.
  return `${head}${plainBody(m)}<json xmlns="${NS.json}">${envelopeXmlText(m)}</json>${tail}`;
}

const plainBodies = new WeakMap<StoredMessage, string>();

/** `<body>` with the readable text (once per message), or "" for what a plain client should not
 * show: a read receipt becomes a XEP-0333 `displayed` marker for the message it names. */
function plainBody(m: StoredMessage): string {
  let out = plainBodies.get(m);
  if (out === undefined) {
    const text = readableText(m);
    if (text !== null) out = `<body>${xmlSafe(escapeXmlText(text))}</body>`;
    else {
      const first = /"msg_id":"((?:[^"\\]|\\.)*)"/.exec(m.body)?.[1];
      out = first && m.msgType.endsWith("-100") ? `<displayed xmlns="${NS.markers}" id="${escapeXml(safeJsonString(first))}"/>` : "";
    }
    plainBodies.set(m, out);
  }
  return out;
}

function safeJsonString(raw: string): string {
  try {
    return xmlSafe(JSON.parse(`"${raw}"`) as string);
  } catch {
    return "";
  }
}

/**
 * Error reply (docs/protocol.md "Errors"): `type="error"`, the tlim code as body text for old clients, a
 * standard condition and a readable `<text>` for everyone else.
 */
export function errorStanza(original: Element, err: ImError): Element {
  const { from, to, id } = original.attrs as Record<string, string | undefined>;
  return xml(
    "message",
    { type: "error", from: to, to: from, ...(id ? { id } : {}) },
    xml("body", {}, err.code),
    xml(
      "error",
      { type: err.info.type },
      xml(err.info.condition, { xmlns: NS.stanzas }),
      xml("text", { xmlns: NS.stanzas, "xml:lang": "en" }, `${err.code}: ${err.message}`),
    ),
  );
}

/** XEP-0184 receipt, sent to the sender after its message is committed (one per message: as
 * text, like the deliveries). */
export function receiptStanza(original: Element): string {
  const { from, to, id } = original.attrs as Record<string, string>;
  return `<message from="${escapeXml(to)}" to="${escapeXml(from)}"><received xmlns="${NS.receipts}" id="${escapeXml(id)}"/></message>`;
}

/**
 * A copy of a body-less stanza (chat state, marker, receipt) re-addressed through C, as text (the
 * children serialised as they came; no element tree is copied). `type="chat"` when it had none and
 * a XEP-0334 `<no-store/>`: such a stanza is for an online device and must not be kept offline
 * by the server to be replayed at the next login (ejabberd stores a message with no type).
 */
export function forwardStanza(original: Element, from: string, to: string): string {
  const { type, id } = original.attrs as Record<string, string | undefined>;
  let out = `<message from="${escapeXml(from)}" to="${escapeXml(to)}" type="${escapeXml(type || "chat")}"`;
  if (id) out += ` id="${escapeXml(id)}"`;
  out += ">";
  for (const child of original.getChildElements()) {
    if (child.name === "no-store" && child.attrs.xmlns === NS.hints) continue;
    out += child.toString();
  }
  return `${out}<no-store xmlns="${NS.hints}"/></message>`;
}

/** The envelope of a pass-through message, delivered unstored. */
export function passStanza(from: string, to: string, id: string | undefined, body: string): Element {
  return xml("message", { type: "chat", from, to, ...(id ? { id } : {}) }, xml("body", {}, body));
}
