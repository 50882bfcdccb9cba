// Minimal JID split (RFC 7622 §3.1): local@domain/resource. The resource may contain '@' and '/'.
export interface Jid {
  local: string;
  domain: string;
  resource: string;
}

export function parseJid(text: string): Jid {
  const slash = text.indexOf("/");
  const bare = slash === -1 ? text : text.slice(0, slash);
  const resource = slash === -1 ? "" : text.slice(slash + 1);
  const at = bare.indexOf("@");
  return at === -1
    ? { local: "", domain: bare.toLowerCase(), resource }
    : { local: bare.slice(0, at), domain: bare.slice(at + 1).toLowerCase(), resource };
}

export function bareJid(j: Jid): string {
  return j.local ? `${j.local}@${j.domain}` : j.domain;
}
