// J-IM delivery (docs/jim-gateway.md "Message mapping"): every committed inbox entry of a user with J-IM connections goes
// out as a push of what is stored: a chat as command 11, a revoke as command 15 (one per
// recalled id), read receipts not at all. The sender's own 1:1 copy goes to its other
// connections, not back to the one it came from; group messages reach every connection of
// every member, the sender's included (as upstream, clients filter their echo by `from`).
import type { Logger } from "pino";
import type { DeliverySink } from "../../core/types.js";
import { Delivered, type FastHistogram } from "../../metrics.js";
import { Cmd, dataPacket, type Packet } from "../../protocol/jim-commands.js";
import { messageToJim, type Dialect, type JimMappingOptions } from "../../protocol/jim-mapping.js";
import type { InboxItem } from "../../store/types.js";
import type { JimHub } from "./hub.js";

/** Pushes queued on a socket beyond this mean a client that does not read: it is closed. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export class JimDelivery implements DeliverySink {
  readonly name = "jim";

  constructor(
    private readonly hub: JimHub,
    private readonly log: Logger,
    /** Signed URLs for tlim's files (docs/http-api.md "Credentials"). */
    private readonly mapping: JimMappingOptions = {},
    /** tlim_message_delivery_latency_seconds (src/metrics.ts); null: not measured. */
    private readonly delivered: FastHistogram | null = null,
  ) {}

  push(item: InboxItem): void {
    const conns = this.hub.connectionsOf(item.userId);
    if (conns.length === 0) return;
    const m = item.message;
    const origin = m.sessionId === null && m.msgFrom === item.userId ? this.hub.origins.get(`${m.msgFrom}\u0000${m.msgId}`) : undefined;
    const packets = new Map<Dialect, Packet[]>();
    for (const conn of conns) {
      const sync = conn.sync;
      if (!sync || sync.has(item.inboxSeq)) continue; // already fetched with cmd 19
      if (conn !== origin) {
        let out = packets.get(conn.dialect);
        if (!out) packets.set(conn.dialect, (out = packetsOf(item, conn.dialect, this.mapping)));
        for (const p of out) conn.send(p);
        if (out.length > 0 && this.delivered) {
          this.delivered.observe((Date.now() - m.createdAt) / 1000, Delivered.jimLive);
          sync.handed(item.inboxSeq, m.createdAt);
        }
        if (conn.buffered() > MAX_BUFFERED_BYTES) {
          this.log.warn({ user: item.userId, protocol: conn.protocol }, "j-im client does not read its pushes; closing it");
          conn.close();
          continue;
        }
      }
      sync.delivered(item.inboxSeq);
    }
  }
}

function packetsOf(item: InboxItem, dialect: Dialect, mapping: JimMappingOptions): Packet[] {
  const view = messageToJim(item.message, dialect, mapping);
  if (view.kind === "chat") return [dataPacket(Cmd.CHAT, view.chat)];
  if (view.kind === "recall") return view.recalls.map((r) => dataPacket(Cmd.CANCEL_MSG_REQ, r));
  return [];
}
