// The session notice board ("pubact", docs/http-api.md "Notice board and styles"). Entry ids are
// UUIDs; the board stays when its session is dissolved, as in the original.
import { randomUUID } from "node:crypto";
import { ImError } from "../../protocol/errors.js";
import type { Pubact, Store } from "../../store/types.js";

export class BoardService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** addPubact: a new entry, stamped now. */
  async add(req: { sessionId: string; userId: string; title: string; content: string }): Promise<Pubact> {
    const entry: Pubact = { id: randomUUID(), title: req.title, content: req.content, userId: req.userId, ts: String(Date.now()), sessionId: req.sessionId };
    await this.#store.pubactAdd(entry);
    return entry;
  }

  /** findPubactList: a session's entries. */
  list(sessionId: string): Promise<Pubact[]> {
    return this.#store.pubactsOf(sessionId);
  }

  /** modifyPubact: the given fields of an entry; error-018 when it does not exist. */
  async update(id: string, changes: { title?: string; content?: string }): Promise<void> {
    if (!(await this.#store.pubactUpdate(id, changes))) throw notFound(id);
  }

  /** deletePubact; error-018 when it does not exist. */
  async delete(id: string): Promise<void> {
    if (!(await this.#store.pubactDelete(id))) throw notFound(id);
  }
}

const notFound = (id: string) => ImError.recordNotFound(`board entry '${id}' does not exist`);
