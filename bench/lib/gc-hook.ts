// Preloaded into a tlim child by scenario 6 (`node --expose-gc --import gc-hook.ts`), so that
// memory per connection is read after a full garbage collection, not with whatever garbage the
// heap happens to hold. Bench-only: tlim itself is untouched. IPC:
//   {type:"gc"}                → two full GCs, then {type:"gc-done", memory, heapSpaces}
//   {type:"heap-snapshot", path} → v8.writeHeapSnapshot(path), then {type:"heap-snapshot-done", path}
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const gc = (globalThis as { gc?: () => void }).gc;

process.on("message", (m: { type?: string; path?: string }) => {
  if (m?.type === "gc") {
    gc?.();
    gc?.();
    const heapSpaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    process.send?.({ type: "gc-done", gc: !!gc, memory: process.memoryUsage(), heapSpaces });
  } else if (m?.type === "heap-snapshot" && m.path) {
    const path = writeHeapSnapshot(m.path);
    process.send?.({ type: "heap-snapshot-done", path });
  }
});
