// Plain types shared by core and the transports. No I/O here.
import type { Envelope } from "../protocol/envelope.js";
import type { InboxItem, StoredMessage } from "../store/types.js";

/** Device classes recognised from the resource (docs/protocol.md "Devices: online, offline and acknowledgements"). */
export type DeviceClass = "web" | "ios" | "android" | "other";

export function deviceClassOf(resource: string): DeviceClass {
  if (resource.includes("[web]")) return "web";
  if (resource.includes("[ios]")) return "ios";
  if (resource.includes("[android]")) return "android";
  return "other";
}

/**
 * The key a device's cursor is stored under. tlim's own clients put a random UUID plus a class
 * marker in the resource (`<uuid>[web]`), so they are keyed by the marker; any other resource
 * is its own device.
 */
export function deviceKeyOf(resource: string): string {
  const cls = deviceClassOf(resource);
  return cls === "other" ? resource.slice(0, 128) : `[${cls}]`;
}

export interface Sender {
  userId: string;
  /** Transport-specific device name (XMPP resource). */
  resource: string;
}

/** Where a stanza was addressed inside the component's domain: `<node>@C`, or C itself (null). */
export interface Inbound {
  sender: Sender;
  envelope: Envelope;
  addressedNode: string | null;
}

export type SubmitResult =
  | { kind: "stored"; message: StoredMessage }
  | { kind: "duplicate"; message: StoredMessage }
  /** Not stored by design (pass-through types): deliver as is to `to`. */
  | { kind: "passed"; to: string; envelope: Envelope };

/** A transport that can push stored messages to users (XMPP today; J-IM and haoshuo later). */
export interface DeliverySink {
  readonly name: string;
  /** Called after commit, in inbox order per user, for every inbox entry. Must not throw. */
  push(item: InboxItem): void;
  /** Wraps the pushes of one commit batch (e.g. to write them to a socket at once). */
  corked?(f: () => void): void;
}
