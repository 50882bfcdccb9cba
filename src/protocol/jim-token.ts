// J-IM login tokens minted by a business system (docs/jim-gateway.md "Identity, login and devices"):
//   <expiry>.<hex HMAC-SHA256(secret, "<userId>.<expiry>")>
// expiry in Unix seconds. Pure: the caller passes the clock.
import { createHmac, timingSafeEqual } from "node:crypto";

export function signToken(secret: string, userId: string, expiresAtS: number): string {
  const sig = createHmac("sha256", secret).update(`${userId}.${expiresAtS}`).digest("hex");
  return `${expiresAtS}.${sig}`;
}

/** True when the token was signed with `secret` for `userId` and has not expired. */
export function verifyToken(secret: string, userId: string, token: string, nowS: number): boolean {
  if (secret === "" || userId === "") return false;
  const m = /^(\d{1,12})\.([0-9a-f]{64})$/i.exec(token.trim());
  if (!m) return false;
  const expiry = Number(m[1]);
  if (expiry <= nowS) return false;
  const expected = Buffer.from(signToken(secret, userId, expiry).split(".")[1]!, "hex");
  const given = Buffer.from(m[2]!.toLowerCase(), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
