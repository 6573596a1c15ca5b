// Holds back convex-test's scheduled functions while a timed window is open.
//
// convex-test runs a function scheduled with `ctx.scheduler.runAfter(0, ...)` from a
// `setTimeout` it takes from `globalThis` (outside handlers), so it can start in the middle of
// the next timed call and its work would count as that call's. In Convex it is a separate
// transaction, not part of the write's latency. While held, convex-test's timers are queued and
// started with their original delays on release (the way fake timers work in a test). Every
// other caller (Node's fetch/undici keeps its socket timers on the global) passes straight through.
export function holdScheduledFunctions() {
  const realSetTimeout = globalThis.setTimeout;
  const queued = [];
  globalThis.setTimeout = function heldSetTimeout(callback, ms, ...args) {
    if (!/[\\/]convex-test[\\/]/.test(new Error().stack ?? "")) return realSetTimeout(callback, ms, ...args);
    queued.push({ callback, ms, args });
    return { ref() {}, unref() {}, hasRef: () => false, refresh() {}, [Symbol.toPrimitive]: () => 0 };
  };
  return function release() {
    globalThis.setTimeout = realSetTimeout;
    for (const { callback, ms, args } of queued) realSetTimeout(callback, ms, ...args);
    return queued.length;
  };
}
