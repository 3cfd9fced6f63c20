// A seeded generator (mulberry32): the pace simulators in scripts/bench-pace.mjs and the pace unit
// tests see the same latencies on every run.
/** @param {number} seed @returns {() => number} uniform in [0, 1) */
export function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
