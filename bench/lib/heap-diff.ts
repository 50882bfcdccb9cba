// What a J-IM connection costs in tlim's V8 heap, by kind of object: the difference of two heap
// snapshots (before and after N connections, written by scenario 6 with BENCH_JIM_HEAP_SNAPSHOT),
// grouped by node type and constructor/name, per connection.
//   npx tsx bench/lib/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> <connections> [rows]
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function groups(file: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf("type"), f.indexOf("name"), f.indexOf("self_size")];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    let name = s.strings[s.nodes[i + iName]!] ?? "?";
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(strings)";
    else if (type === "code") name = "(code)";
    else if (name.length > 60) name = name.slice(0, 60) + "…";
    const key = `${type} ${name}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[i + iSize]!;
    out.set(key, g);
  }
  return out;
}

const [beforeFile, afterFile, nArg, rowsArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !nArg) {
  process.stderr.write("usage: heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> <connections> [rows]\n");
  process.exit(2);
}
const n = Number(nArg);
const a = groups(beforeFile);
const b = groups(afterFile);
const diff = [...b].map(([k, v]) => {
  const w = a.get(k) ?? { count: 0, bytes: 0 };
  return { k, count: v.count - w.count, bytes: v.bytes - w.bytes };
});
diff.sort((x, y) => y.bytes - x.bytes);
let total = 0;
for (const d of diff) total += d.bytes;
process.stdout.write(`heap growth: ${(total / 1024 / n).toFixed(2)} KiB per connection (${n} connections)\n`);
process.stdout.write(`${"bytes/conn".padStart(10)} ${"objs/conn".padStart(9)}  kind\n`);
for (const d of diff.slice(0, Number(rowsArg ?? 40))) {
  process.stdout.write(`${(d.bytes / n).toFixed(1).padStart(10)} ${(d.count / n).toFixed(2).padStart(9)}  ${d.k}\n`);
}
