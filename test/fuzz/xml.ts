// The strict XML 1.0 check the fuzz properties hold tlim's output to (docs/reliability.md
// "Fuzzing"). Two independent parts, neither shared with src/protocol/xml-safe.ts:
//  1. every character of the document matches production [2] Char of XML 1.0 §2.2, checked code
//     point by code point here: saxes checks Char too, but it accepts a lone high surrogate
//     followed by any other code unit ("a\uD800b" parses), so it cannot be relied on alone;
//  2. saxes for well-formedness (XML 1.0 §2.1 and the Namespaces in XML rules): tags, attributes,
//     entity references, `]]>` in character data, and the Char production again.
import { SaxesParser } from "saxes";

/** First index whose code point is outside XML 1.0's Char production, or -1. */
export function firstNonXmlChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0xd7ff) continue;
    if (c === 0x9 || c === 0xa || c === 0xd) continue;
    if (c >= 0xe000 && c <= 0xfffd) continue;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a pair: U+10000..U+10FFFF, all of them Char
        continue;
      }
    }
    return i;
  }
  return -1;
}

export class XmlViolation extends Error {
  constructor(detail: string, readonly doc: string) {
    super(`${detail} in ${JSON.stringify(doc.length > 400 ? `${doc.slice(0, 400)}…` : doc)}`);
    this.name = "XmlViolation";
  }
}

/** What a parsed fragment held: the text of every element (by name), and every attribute. */
export interface Parsed {
  texts: Map<string, string>;
  attrs: Array<{ element: string; name: string; value: string }>;
}

const STREAM_OPEN = `<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams">`;
const STREAM_CLOSE = "</stream:stream>";

/**
 * Parses `fragment` (one or more stanzas, or plain content) as the content of a component stream
 * root (XEP-0114), strictly; throws XmlViolation. Text of an element is joined over its chunks.
 */
export function parseStrict(fragment: string): Parsed {
  const bad = firstNonXmlChar(fragment);
  if (bad >= 0) {
    throw new XmlViolation(`U+${fragment.charCodeAt(bad).toString(16).toUpperCase().padStart(4, "0")} at ${bad} is not an XML 1.0 Char`, fragment);
  }
  const p = new SaxesParser({ xmlns: true, position: true });
  let error: Error | null = null;
  const texts = new Map<string, string>();
  const attrs: Parsed["attrs"] = [];
  const stack: string[] = [];
  p.on("error", (e) => {
    error ??= e;
  });
  p.on("opentag", (tag) => {
    stack.push(tag.name);
    for (const a of Object.values(tag.attributes)) {
      const attr = a as { name: string; value: string };
      attrs.push({ element: tag.name, name: attr.name, value: attr.value });
    }
  });
  p.on("closetag", () => {
    stack.pop();
  });
  p.on("text", (t) => {
    const top = stack[stack.length - 1] ?? "";
    texts.set(top, (texts.get(top) ?? "") + t);
  });
  p.write(STREAM_OPEN + fragment + STREAM_CLOSE).close();
  if (error) throw new XmlViolation(`not well-formed: ${(error as Error).message}`, fragment);
  return { texts, attrs };
}

/** Parses `<r a="…">…</r>` built from `attr` and `text` as given (already escaped). */
export function parseTextAndAttr(text: string, attr: string): Parsed {
  return parseStrict(`<r a="${attr}">${text}</r>`);
}
