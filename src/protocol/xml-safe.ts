// What may be written into an XML 1.0 document (XML 1.0 §2.2, production [2] Char):
//   #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
// A single character outside it makes the XMPP server close the component's stream as
// not-well-formed (RFC 6120 §4.9.3.13), which takes every user off the service. Every stanza tlim
// writes passes through `xmlSafe` (XmppLink's one writer); envelope text is made safe without
// loss first, by `jsonXmlSafe`. Pure: no I/O.

/** One character XML 1.0 cannot carry (lone surrogates included, thanks to the u flag). */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NOT_XML_CHARS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function isXmlSafe(s: string): boolean {
  return !NOT_XML_CHAR.test(s);
}

/** Replaces every character XML 1.0 cannot carry with U+FFFD (lossy; for text and attributes). */
export function xmlSafe(s: string): string {
  return NOT_XML_CHAR.test(s) ? s.replace(NOT_XML_CHARS, "\uFFFD") : s;
}

/**
 * JSON text made XML-safe without changing what it means: every such character is written as a
 * JSON `\uXXXX` escape (they can only occur inside JSON strings: JSON.stringify escapes control
 * characters and lone surrogates itself, but not U+FFFE/U+FFFF). A client parsing the JSON gets
 * exactly the string that was sent.
 */
export function jsonXmlSafe(json: string): string {
  if (!NOT_XML_CHAR.test(json)) return json;
  return json.replace(NOT_XML_CHARS, (c) => {
    let out = "";
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  });
}
