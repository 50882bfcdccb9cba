// Body checks shared by the content handlers (the field rules of docs/protocol.md "Every msg_type").
import type { BodyItem } from "../../protocol/envelope.js";
import { ImError } from "../../protocol/errors.js";

function stringField(item: BodyItem, names: readonly string[]): string | null {
  for (const n of names) {
    const v = item[n];
    if (typeof v === "string") return v;
    if (typeof v === "number") return String(v);
  }
  return null;
}

/** `text` present, non-blank and within the limit, in every element. */
export function requireText(body: BodyItem[], maxChars: number): void {
  body.forEach((item, i) => {
    const text = stringField(item, ["text"]);
    if (text === null || text.trim() === "") throw ImError.bodyInvalid(`body[${i}].text is empty`);
    // Count characters as users do (code points), so one emoji is one character.
    const length = [...text].length;
    if (length > maxChars) {
      throw ImError.tooLarge(`body[${i}].text has ${length} characters; at most ${maxChars} are allowed`);
    }
  });
}

/** `fileId` (or the legacy `file_id`) present in every element, at most 64 chars. */
export function requireFileId(body: BodyItem[]): void {
  body.forEach((item, i) => {
    const id = stringField(item, ["fileId", "file_id"]);
    if (id === null || id.trim() === "") throw ImError.bodyInvalid(`body[${i}].fileId is empty`);
    if (id.length > 64) throw ImError.bodyInvalid(`body[${i}].fileId is longer than 64 characters`);
  });
}

/** Per-code body rules for content types; codes without rules accept any non-empty body. */
export function checkContentBody(kind: string, body: BodyItem[], maxTextChars: number): void {
  switch (kind) {
    case "000":
      return requireText(body, maxTextChars);
    case "001":
    case "002":
    case "003":
      return requireFileId(body);
    default:
      return;
  }
}
