// Not-yet-applied optimisations, tried on a running tlim from the outside (bench only; src/ is
// untouched). Each one is what a proposal in docs/performance.md would change, made with
// monkeypatches so that its gain can be measured before it is applied. None touches the write
// path's guarantees.
//
//   nodelay      TCP_NODELAY on tlim's outgoing sockets (component link)          link.ts
//
// Applied since, and so gone from here (docs/performance.md, "What the optimisations bought"):
// flat, iqonly, envcache, rawstanza, cork (now an explicit cork per commit batch), nodedupe
// (the dedupe SELECT now rides in the same round trip as the locks).
import net from "node:net";
import type { Tlim } from "../src/main.js";

export const EXPERIMENTS = ["nodelay"] as const;

/** Applied before tlim starts. */
export function applyEarly(on: Set<string>): void {
  if (on.has("nodelay")) {
    const connect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      this.setNoDelay(true);
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
  }
}

/** Applied once tlim runs. `afterCommit` lets an experiment act right after each commit. */
export function applyLate(_on: Set<string>, _tlim: Tlim, _afterCommit: Array<() => void>): string[] {
  return [];
}
