// The store contract. Plain data in, plain data out: no TypeORM type leaks past this file's
// implementations. Every implementation passes test/store/contract.ts (docs/architecture.md "One store contract;
// a missing server fails the tests").

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
/** A device cursor moved forward: `seq` is the highest inbox seq the device has. */
export interface CursorAdvance {
  userId: string;
  device: string;
  seq: number;
}

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
  recipients: string[] | SessionRecipients;
  /** Stored and queued in inboxes, but left out of history (read receipts). */
  hidden?: boolean;
  /** State changes committed in the same transaction, only when this message is stored (not
   * when it is a duplicate or rejected). */
  effects?: MessageEffects;
}

export interface SessionRecipients {
  sessionMembersOf: string;
  /**
   * A notice the server originates (HTTP `dissolved`, `revokeMessage`): the sender need not be a
   * member, and a session closed with `switchSession` still takes it; a dissolved one does not.
   */
  fromServer?: boolean;
}

export interface MessageEffects {
  /** Revoke (MTT-101/MTS-101): these messages of the same conversation become revoked. A msg_id
   * is unique per sender only, so a target is the pair (msg_from, msg_id). */
  revoke?: MessageRef[];
  /** Read receipts (MTT-100/MTS-100): upsert (author, msgId, reader = msgFrom) with status
   * 1 (read on web) or 2 (read elsewhere). */
  reads?: Array<{ author: string; msgId: string; status: number }>;
  /** Dissolve (MTS-107 from the owner): after this notice is stored and queued for every member,
   * the session is closed (session_valid 1, session_delete_time now), its members removed, and
   * every other message of the conversation deleted (docs/architecture.md "Removing members is not dissolving"). */
  dissolve?: boolean;
}

/** An XMPP device tlim saw online: its resource, and the node its presence was addressed to
 * (`<via>@C`, "" for C itself), which is where a probe must come from to be answered. */
export interface OnlineDevice {
  userId: string;
  resource: string;
  via: string;
}

/** One message named by its sender and its client id (unique together). */
export interface MessageRef {
  msgFrom: string;
  msgId: string;
}

export interface ReadMark {
  author: string;
  msgId: string;
  reader: string;
  /** 1 read on web, 2 read on another device. */
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
  /** 0 open, 1 closed. */
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

/** A user of tlim's own `users` table (names, pictures, emails, push codes; docs/architecture.md "tlim keeps its own user directory"). */
export interface User {
  userId: string;
  userName: string;
  acctLogin: string;
  userEmail: string | null;
  picUrl: string | null;
  /** Push registration id (`registerAppPushCode`). */
  appPushCode: string | null;
  /** ms since epoch of the last change. */
  updatedAt: number;
}

/**
 * A 1:1 conversation seen from one side (the original's `ofchat`): kept by commitBatch for every
 * stored, visible 1:1 message, in both directions.
 */
export interface ChatPeer {
  userId: string;
  peerId: string;
  /** ms since epoch: first and latest visible message between the two. */
  createdAt: number;
  updatedAt: number;
}

/** A session notice-board entry (the original's `ofpubact`). */
export interface Pubact {
  id: string;
  title: string;
  content: string;
  userId: string;
  /** ms epoch string. */
  ts: string;
  sessionId: string;
}

/** A per-user UI preference (the original's `ofstyle`), unique by (userId, styleName). */
export interface Style {
  styleId: string;
  styleName: string;
  styleValue: number;
  userId: string;
}

/** An uploaded file's metadata; the bytes live in the file directory under `fileId`. */
export interface StoredFile {
  fileId: string;
  fileName: string;
  contentType: string;
  size: number;
  userId: string | null;
  createdAt: number;
}

/** Changes to a session row; absent fields are left alone. */
export type SessionChanges = Partial<Pick<Session, "sessionName" | "sessionPic" | "sessionValid" | "sessionModifyTime">>;

/** Narrows a history page: one msg_type only, and/or strictly older than a seq (keyset). */
export interface HistoryFilter {
  msgType?: string;
  beforeSeq?: number;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface CommitOptions {
  /** Called once the batch holds every lock that fixes its numbering. */
  locked?: () => void;
  /**
   * Pipelined writers only: the batch may commit once this resolves (the batch before it has
   * finished). When it rejects, the batch rolls back and commitBatch rejects with RetryBatch.
   * With `ready` given, a failure after `locked` is never retried in place (a later batch may
   * already be numbered): it rejects with RetryBatch and the writer runs it again in order.
   */
  ready?: Promise<void>;
}

/**
 * The batch was rolled back and nothing of it is stored; it may run again unchanged (lock
 * conflict, deadlock, another instance's duplicate, or an earlier batch that runs again).
 */
export class RetryBatch extends Error {
  constructor(override readonly cause: unknown) {
    super(`batch rolled back to run again: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = "RetryBatch";
  }
}

/**
 * What one `purgeBefore` call removes (docs/reliability.md "Retention"). Horizons are ms since
 * epoch, compared with `created_at`. A pass walks the conversations by key, then the inboxes by
 * user: each call does a bounded part of it and returns where the next call starts.
 */
export interface PurgeRequest {
  /** 1:1 messages (session_id null) committed before this go; null keeps them forever. */
  chatBefore: number | null;
  /** Session messages committed before this go; null keeps them forever. */
  sessionBefore: number | null;
  /** Most messages, and most inbox entries, removed by this call; also bounds what it reads. */
  limit: number;
  /** Where the previous call of this pass stopped (its result's `cursor`); absent or null: the start. */
  cursor?: PurgeCursor | null;
}

/** A position in a purge pass. Opaque to callers: only handed back to the next call. */
export interface PurgeCursor {
  /** "messages": conversations, walked by conv_id; "inbox": inboxes, walked by user_id. */
  phase: "messages" | "inbox";
  /** The conversation or user the next call starts at ("" = the first). */
  key: string;
  /**
   * How much of `key` is done: null, all of it (the walk goes on after it); else, in the inbox
   * phase, its entries up to this seq were looked at and are kept (0: none).
   */
  seq: number | null;
}

export interface PurgeResult {
  messages: number;
  inbox: number;
  reads: number;
  /** Where the next call goes on; null: the pass is complete. */
  cursor: PurgeCursor | null;
}

export interface Store {
  /**
   * Commits a batch in ONE transaction (group commit, docs/architecture.md "The write path"): dedupes on (msg_from, msg_id),
   * allocates conversation seqs and inbox seqs in arrival order, writes messages and inbox
   * entries. Outcomes are in input order. Nothing is visible to readers before it resolves.
   *
   * `locked` is called once the batch holds every lock that fixes its numbering (sessions,
   * conversation and inbox counters): a batch started after that is numbered after this one.
   */
  commitBatch(batch: NewMessage[], opts?: CommitOptions): Promise<CommitOutcome[]>;
  /** commitBatch calls may overlap (a second connection), so the writer may pipeline batches. */
  readonly concurrentCommits: boolean;

  /** Inbox entries of a user with inboxSeq > afterSeq, ascending; revoked messages left out. */
  inboxAfter(userId: string, afterSeq: number, limit: number): Promise<InboxItem[]>;
  /** The user's inbox seq for a message (by conversation position), or null. */
  inboxSeqOf(userId: string, convId: ConvId, convSeq: number): Promise<number | null>;
  /** The user's inbox seq of the message with this client msg_id (newest if several), or null. */
  inboxSeqOfMsgId(userId: string, msgId: string): Promise<number | null>;
  /** Device cursor: highest inbox seq the device acknowledged; 0 when never seen. */
  cursorGet(userId: string, device: string): Promise<number>;
  /**
   * Moves cursors forward only (max of old and new), creating rows when absent; all of them in
   * one transaction (a flush of the cursor book is one write, not one per device).
   */
  cursorAdvance(advances: readonly CursorAdvance[]): Promise<void>;
  /** Every device cursor row of a user: device -> acked seq (empty object when none). */
  cursorsOf(userId: string): Promise<Record<string, number>>;

  /** Records an XMPP device as online (insert or replace). */
  onlineDevicePut(device: OnlineDevice): Promise<void>;
  /** Forgets an online device; absent is fine. */
  onlineDeviceRemove(userId: string, resource: string): Promise<void>;
  /** Every device recorded as online (at start-up: whom to ask again). */
  onlineDevices(): Promise<OnlineDevice[]>;

  findMessage(msgFrom: string, msgId: string): Promise<StoredMessage | null>;
  /** Messages with this client msg_id in a conversation (msg_id is unique per sender only). */
  findMessageInConv(convId: ConvId, msgId: string): Promise<StoredMessage | null>;
  /** Every stored message with this client msg_id, any sender (a revoke by id), oldest first. */
  messagesByMsgId(msgId: string): Promise<StoredMessage[]>;
  /**
   * Newest first (by seq: one order on every database), revoked and hidden left out; `total`
   * counts the same rows (with `filter.msgType`, of that type only; `beforeSeq` narrows the page,
   * never the total). The offset walks the (conv_id, seq) index; `beforeSeq` seeks into it.
   */
  history(convId: ConvId, offset: number, limit: number, filter?: HistoryFilter): Promise<Page<StoredMessage>>;
  /** Deletes every message of a 1:1 conversation with its inbox entries and read marks
   * (clearChatHistory); returns the number of messages deleted. */
  conversationClear(convId: ConvId, users: string[]): Promise<number>;

  /**
   * One small batch of the retention purge (docs/reliability.md "Retention"), in one short
   * transaction: the next part of the walk of src/store/purge.ts, where up to `limit` messages
   * committed before their kind's horizon (`created_at`, a prefix of each conversation) go with
   * their read marks, or up to `limit` inbox entries (a prefix of each inbox, per kind).
   * Nothing else changes: conversation and inbox counters are never lowered (a message stored
   * later gets the next seq), what remains keeps its seqs, sessions, users and files stay. Call
   * it again with the result's cursor until that is null.
   * A purged message's (msg_from, msg_id) is free again: a resend of it is stored as new.
   */
  purgeBefore(req: PurgeRequest): Promise<PurgeResult>;

  /** Read marks of one message (findStatusList), ordered by reader. */
  readsOf(author: string, msgId: string): Promise<ReadMark[]>;
  /** Number of readers per message of one author (findSessionRead/findChatRead); messages with
   * no reads are absent from the result. */
  readCounts(author: string, msgIds: string[]): Promise<Record<string, number>>;
  /** Which of these messages (author, msg_id) `reader` has read: the read ones, in no order. */
  readBy(reader: string, messages: Array<{ author: string; msgId: string }>): Promise<Array<{ author: string; msgId: string }>>;

  sessionCreate(session: Session, members: Member[]): Promise<void>;
  sessionGet(sessionId: string): Promise<Session | null>;
  sessionMembers(sessionId: string): Promise<Member[]>;
  /** Updates the given fields; false when the session does not exist. */
  sessionUpdate(sessionId: string, changes: SessionChanges): Promise<boolean>;
  /** Deletes the session row and its members (messages are kept); false when absent. */
  sessionDelete(sessionId: string): Promise<boolean>;
  /** Adds members, or replaces the snapshot of those already in (one transaction). */
  sessionMembersPut(sessionId: string, members: Member[]): Promise<void>;
  /** Removes memberships only (docs/architecture.md "Removing members is not dissolving"); returns how many were removed. */
  sessionMembersRemove(sessionId: string, userIds: string[]): Promise<number>;
  /** Sessions the user is a member of with this session_valid, latest activity first
   * (session_modify_time, else session_create_time). */
  sessionsOf(userId: string, valid: number): Promise<Session[]>;
  /** The user's 1:1 conversations, latest activity first. */
  chatsOf(userId: string): Promise<ChatPeer[]>;

  /** Inserts or replaces users (every field). */
  usersPut(users: User[]): Promise<void>;
  /** Deletes users; returns how many existed. */
  usersRemove(userIds: string[]): Promise<number>;
  /** The known users among `userIds`, in no particular order. */
  usersGet(userIds: string[]): Promise<User[]>;
  /** Sets (null: clears) a user's push code; an unknown user is created with the id as name. */
  userPushCodeSet(userId: string, code: string | null): Promise<void>;

  pubactAdd(p: Pubact): Promise<void>;
  /** A session's board, newest first. */
  pubactsOf(sessionId: string): Promise<Pubact[]>;
  /** false when the entry does not exist. */
  pubactUpdate(id: string, changes: Partial<Pick<Pubact, "title" | "content">>): Promise<boolean>;
  pubactDelete(id: string): Promise<boolean>;

  /** Inserts, or updates the value of the user's style of that name; returns the stored style
   * (its id is the existing one when updated). */
  stylePut(style: Style): Promise<Style>;
  /** A user's styles by name. */
  stylesOf(userId: string): Promise<Style[]>;

  fileAdd(file: StoredFile): Promise<void>;
  fileGet(fileId: string): Promise<StoredFile | null>;

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
