// The store contract. Plain data in, plain data out: no TypeORM type leaks past this file's
// implementations (DESIGN §1). Every implementation passes test/store/contract.ts.

/**
 * `chat:<a>:<b>` (ids sorted) for a 1:1 pair, `session:<session_id>` for a session. ':' cannot
 * occur in a JID local part (RFC 7622 §3.3.1), so the pair is unambiguous. Never parsed back:
 * the peer of a 1:1 message is read from its msg_from/msg_to.
 */
export type ConvId = string;

export interface MessageFlags {
  compress: string;
  encode: string;
  encrypt: string;
  version: string;
}

/** A message as stored: one row whatever the number of recipients. */
export interface StoredMessage extends MessageFlags {
  convId: ConvId;
  /** Contiguous per conversation, from 1. */
  seq: number;
  msgId: string;
  msgFrom: string;
  msgTo: string;
  msgType: string;
  msgTime: string;
  /** Compact JSON text of the body array. */
  body: string;
  /** The session id for session messages, null for 1:1. */
  sessionId: string | null;
  /** Server clock, ms since epoch, when committed. */
  createdAt: number;
  revoked: boolean;
  hidden: boolean;
}

export interface NewMessage extends MessageFlags {
  convId: ConvId;
  msgId: string;
  msgFrom: string;
  msgTo: string;
  msgType: string;
  msgTime: string;
  body: string;
  sessionId: string | null;
  /**
   * Who gets an inbox entry. For 1:1 the explicit list (recipient and sender, for the sender's
   * other devices). For a session: `{ sessionMembersOf: id }`, resolved inside the commit's
   * transaction; the sender must then be a member and the session open.
   */
  recipients: string[] | { sessionMembersOf: string };
  /** Stored and queued in inboxes, but left out of history (read receipts, spec §2.8). */
  hidden?: boolean;
  /** State changes committed in the same transaction, only when this message is stored (not
   * when it is a duplicate or rejected). */
  effects?: MessageEffects;
}

export interface MessageEffects {
  /** Revoke (MTT-101/MTS-101): these msg_ids of the same conversation become revoked. */
  revoke?: string[];
  /** Read receipts (MTT-100/MTS-100): upsert (author, msgId, reader = msgFrom) with status
   * 1 (read on web) or 2 (read elsewhere), spec §2.8. */
  reads?: Array<{ author: string; msgId: string; status: number }>;
  /** Dissolve (MTS-107 from the owner): after this notice is stored and queued for every member,
   * the session is closed (session_valid 1, session_delete_time now), its members removed, and
   * every other message of the conversation deleted (Q11: "notifies then purges"). */
  dissolve?: boolean;
}

export interface ReadMark {
  author: string;
  msgId: string;
  reader: string;
  /** 1 read on web, 2 read on another device (spec §2.8). */
  status: number;
  updatedAt: number;
}

export interface InboxRef {
  userId: string;
  /** Contiguous per user across all conversations, from 1. */
  inboxSeq: number;
}

export type CommitOutcome =
  | { status: "stored"; message: StoredMessage; inbox: InboxRef[] }
  /** Same (msg_from, msg_id) already stored: the original is returned, nothing written. */
  | { status: "duplicate"; message: StoredMessage }
  | { status: "rejected"; reason: "no-session" | "session-closed" | "not-member" };

export interface InboxItem {
  userId: string;
  inboxSeq: number;
  message: StoredMessage;
}

export interface Session {
  sessionId: string;
  sessionType: number;
  sessionName: string;
  sessionUser: string;
  sessionPic: string | null;
  /** 0 open, 1 closed (spec §4.3). */
  sessionValid: number;
  sessionCreateTime: string;
  sessionModifyTime: string | null;
  sessionDeleteTime: string | null;
}

export interface Member {
  sessionId: string;
  userId: string;
  userName: string;
  acctLogin: string;
  pic: string | null;
  /** Join time, ms epoch string. */
  ts: string;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface Store {
  /**
   * Commits a batch in ONE transaction (group commit, DESIGN §3): dedupes on (msg_from, msg_id),
   * allocates conversation seqs and inbox seqs in arrival order, writes messages and inbox
   * entries. Outcomes are in input order. Nothing is visible to readers before it resolves.
   */
  commitBatch(batch: NewMessage[]): Promise<CommitOutcome[]>;

  /** Inbox entries of a user with inboxSeq > afterSeq, ascending; revoked messages left out. */
  inboxAfter(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]>;
  /** The user's inbox seq for a message (by conversation position), or null. */
  inboxSeqOf(userId: string, convId: ConvId, convSeq: number): Promise<number | null>;
  /** The user's inbox seq of the message with this client msg_id (newest if several), or null. */
  inboxSeqOfMsgId(userId: string, msgId: string): Promise<number | null>;
  /** Device cursor: highest inbox seq the device acknowledged; 0 when never seen. */
  cursorGet(userId: string, device: string): Promise<number>;
  /** Moves the cursor forward only (max of old and new); creates the row when absent. */
  cursorAdvance(userId: string, device: string, inboxSeq: number): Promise<void>;
  /** Every device cursor row of a user: device -> acked seq (empty object when none). */
  cursorsOf(userId: string): Promise<Record<string, number>>;

  findMessage(msgFrom: string, msgId: string): Promise<StoredMessage | null>;
  /** Messages with this client msg_id in a conversation (msg_id is unique per sender only). */
  findMessageInConv(convId: ConvId, msgId: string): Promise<StoredMessage | null>;
  /** Newest first, revoked left out; total counts the same rows. */
  history(convId: ConvId, offset: number, limit: number): Promise<Page<StoredMessage>>;

  /** Read marks of one message (findStatusList), ordered by reader. */
  readsOf(author: string, msgId: string): Promise<ReadMark[]>;
  /** Number of readers per message of one author (findSessionRead/findChatRead); messages with
   * no reads are absent from the result. */
  readCounts(author: string, msgIds: string[]): Promise<Record<string, number>>;

  sessionCreate(session: Session, members: Member[]): Promise<void>;
  sessionGet(sessionId: string): Promise<Session | null>;
  sessionMembers(sessionId: string): Promise<Member[]>;

  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function chatConvId(a: string, b: string): ConvId {
  return a <= b ? `chat:${a}:${b}` : `chat:${b}:${a}`;
}

export function sessionConvId(sessionId: string): ConvId {
  return `session:${sessionId}`;
}

/** The other party of a 1:1 message, seen from `me`. */
export function chatPeer(m: Pick<StoredMessage, "msgFrom" | "msgTo">, me: string): string {
  return m.msgFrom === me ? m.msgTo : m.msgFrom;
}
