// tlim's file ids and the references that name one (docs/http-api.md "Files", "Credentials"). Pure.
//
// A file id is 32 lowercase hex digits, made by tlim itself and checked before any file-system
// call. A reference is a bare id, a signed file URL
// (`…/plugins/tlim/file/<id>?exp=…&sig=…`) or a download URL (`…/plugins/tlim/download?fileId=<id>&…`).

/** tlim's own file ids: 32 hex digits. */
export const TLIM_FILE_ID = /^[0-9a-f]{32}$/;

/** The file id in the path of a signed file URL (`…/plugins/tlim/file/<id>` then `?`, `#` or the end), or null. */
export function signedFileIdOf(ref: string): string | null {
  return /\/plugins\/tlim\/file\/([0-9a-f]{32})(?:[?#]|$)/.exec(ref)?.[1] ?? null;
}

/**
 * The tlim file id a client's file reference names, or null: a bare id, a signed URL
 * (`…/plugins/tlim/file/<id>?…`) or a download URL (`…?fileId=<id>&…`). Used to hand out a fresh
 * URL in place of one that may have expired.
 */
export function tlimFileIdOf(ref: string): string | null {
  const t = ref.trim();
  if (TLIM_FILE_ID.test(t)) return t;
  const signed = signedFileIdOf(t);
  if (signed !== null) return signed;
  const param = /\/plugins\/tlim\/download\?(?:[^#]*&)?(?:fileId|file_id)=([0-9a-f]{32})(?:[&#]|$)/.exec(t);
  return param ? param[1]! : null;
}
