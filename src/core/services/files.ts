// Uploaded files' metadata (docs/http-api.md "Files"). The bytes are the HTTP transport's: it
// writes them to TLIM_FILE_DIR under the id it makes, and records them here.
import type { Store, StoredFile } from "../../store/types.js";

export class FilesService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Records an upload whose bytes are in the file directory under `file.fileId`. */
  add(file: StoredFile): Promise<void> {
    return this.#store.fileAdd(file);
  }

  /** The metadata of an upload, or null. */
  get(fileId: string): Promise<StoredFile | null> {
    return this.#store.fileGet(fileId);
  }
}
