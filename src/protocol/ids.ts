// Identifiers at the trust boundary (docs/reliability.md "Identifiers"). Every id that comes in —
// over XMPP, J-IM or HTTP — passes through here before anything stores, routes or echoes it.
// Pure: no I/O.
//
// Two kinds:
//  - addresses (user ids, session ids): they become the local part of a JID (`<user>@D`,
//    `<session_id>@C`), so they follow the local-part rules of RFC 7622 §3.3 and are case-folded
//    the way the XMPP server folds them (nodeprep, RFC 3920 Appendix A / RFC 3454 B.2: NFKC plus
//    case folding). `Bob` and `bob` are one account on the server, so they are one user here.
//  - message ids (`msg_id`): opaque, case-sensitive, printable; they become stanza `id`
//    attributes, so nothing that XML 1.0 cannot carry may be in them.
// A refusal names the field and the rule, never the raw value (which may be unprintable).

/** Longest id in characters (docs/protocol.md: every id column is 64 characters). */
export const MAX_ID_CHARS = 64;

/**
 * Not allowed anywhere in an id: control and format characters, lone surrogates, private use,
 * noncharacters (U+FDD0–U+FDEF, U+xFFFE/U+xFFFF) and U+FFF9–U+FFFD (RFC 3454 C.2–C.6, C.8, C.9).
 */
const FORBIDDEN_ANY = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\uFDD0-\uFDEF\uFFF9-\uFFFF]/u;

/** U+1FFFE, U+1FFFF … U+10FFFF: the noncharacters of the supplementary planes. */
function hasPlaneNoncharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) continue;
    const cp = s.codePointAt(i)!;
    if ((cp & 0xfffe) === 0xfffe) return true;
    i++;
  }
  return false;
}
/** Also not allowed in a JID local part: spaces and `" & ' / : < > @` (RFC 7622 §3.3.1). */
const FORBIDDEN_IN_ADDRESS = /[\p{Z}"&'/:<>@]/u;

/** Already valid and folded: no work to do. */
const PLAIN_ADDRESS = /^[0-9a-z._-]{1,64}$/;
const PLAIN_MESSAGE_ID = /^[\x21-\x7e]{1,64}$/;

/** Why an id was refused (the caller turns it into its protocol's error). */
export class IdError extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field} ${rule}`);
    this.name = "IdError";
  }
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkCommon(raw: string, field: string): void {
  if (raw === "") throw new IdError(field, "is empty");
  if (FORBIDDEN_ANY.test(raw) || hasPlaneNoncharacter(raw)) throw new IdError(field, "contains a control, format or non-character code point");
}

/**
 * Case folding as the XMPP server applies it to local parts (nodeprep's B.2 table is NFKC plus
 * full case folding): upper-then-lower folds `ß` to `ss`, final sigma to sigma; NFKC before and
 * after, as stringprep does. Exact for ASCII and every script the test suite and the original's
 * deployments use (hex and UUID ids, CJK, Latin).
 */
export function foldAddress(s: string): string {
  const n = s.normalize("NFKC");
  // Fast path: plain lowercase ASCII needs nothing.
  if (/^[\x21-\x7e]*$/.test(n)) return n.toLowerCase();
  return n.toUpperCase().toLowerCase().replace(/ς/g, "σ").normalize("NFKC");
}

/** A user or session id: validated and folded; throws IdError. */
export function addressId(raw: string, field: string): string {
  if (PLAIN_ADDRESS.test(raw)) return raw; // the common case: lowercase hex, UUIDs, names
  checkCommon(raw, field);
  if (FORBIDDEN_IN_ADDRESS.test(raw)) throw new IdError(field, "contains a space or one of \" & ' / : < > @ (not allowed in an XMPP address)");
  const folded = foldAddress(raw);
  if (folded === "") throw new IdError(field, "is empty");
  if (FORBIDDEN_ANY.test(folded) || FORBIDDEN_IN_ADDRESS.test(folded)) {
    throw new IdError(field, "folds to a character that is not allowed in an XMPP address");
  }
  if (codePoints(folded) > MAX_ID_CHARS) throw new IdError(field, `is longer than ${MAX_ID_CHARS} characters`);
  return folded;
}

/** A message id: validated, kept as given (case-sensitive, opaque); throws IdError. */
export function messageId(raw: string, field: string): string {
  if (PLAIN_MESSAGE_ID.test(raw)) return raw;
  checkCommon(raw, field);
  if (codePoints(raw) > MAX_ID_CHARS) throw new IdError(field, `is longer than ${MAX_ID_CHARS} characters`);
  return raw;
}

/** `addressId` that answers null instead of throwing (lookups of possibly absent ids). */
export function tryAddressId(raw: string): string | null {
  try {
    return addressId(raw, "id");
  } catch {
    return null;
  }
}
