// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per function,
// inclusive time per function, and self time per module (a src/ file or a node_modules package),
// optionally only for samples inside a window of CLOCK_MONOTONIC microseconds (the same clock as
// process.hrtime in any process on the machine, so the bench can cut out start-up and drain).
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  /** Milliseconds sampled (inside the window), idle excluded. */
  busyMs: number;
  idleMs: number;
  selfTop: Share[];
  totalTop: Share[];
  modules: Share[];
}

/** Monotonic microseconds, comparable with a .cpuprofile's timestamps. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1).replace(/^file:\/\//, "");
  if (url.startsWith("node:")) return url;
  return url.replace(/^file:\/\//, "");
}

function frameName(f: CallFrame): string {
  const where = f.url ? `${moduleOf(f.url, f.functionName)}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
}

export function summariseProfile(path: string, window?: [number, number], top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfMs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    // A sample's weight is the gap to the next one (the usual attribution).
    const w = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    selfMs.set(p.samples[i]!, (selfMs.get(p.samples[i]!) ?? 0) + w);
  }

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    if (f.functionName === "(idle)") {
      idle += ms;
      continue;
    }
    busy += ms;
    const name = frameName(f);
    self.set(name, (self.get(name) ?? 0) + ms);
    const mod = moduleOf(f.url, f.functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    // Inclusive: every distinct frame on the stack once (recursion not double counted).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const fname = frameName(byId.get(cur)!.callFrame);
      if (seen.has(fname)) continue;
      seen.add(fname);
      total.set(fname, (total.get(fname) ?? 0) + ms);
    }
  }
  const shares = (m: Map<string, number>, n: number): Share[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((ms / busy) * 1000) / 10 }));
  total.delete("(root)");
  return { busyMs: Math.round(busy), idleMs: Math.round(idle), selfTop: shares(self, top), totalTop: shares(total, top), modules: shares(modules, top) };
}

export function formatSummary(s: ProfileSummary, n = 20): string {
  const fmt = (title: string, list: Share[]) =>
    [`${title}:`, ...list.slice(0, n).map((x) => `  ${x.pct.toFixed(1).padStart(5)} %  ${String(x.ms).padStart(6)} ms  ${x.name}`)].join("\n");
  return [
    `busy ${s.busyMs} ms, idle ${s.idleMs} ms (${Math.round((s.busyMs / Math.max(1, s.busyMs + s.idleMs)) * 100)} % busy)`,
    fmt("self time by module", s.modules),
    fmt("self time by function", s.selfTop),
    fmt("inclusive time by function", s.totalTop),
  ].join("\n");
}
