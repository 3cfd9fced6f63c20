// A clock for the batch gate whose timers run when the test moves time (each followed by a turn of
// the event loop, so the promises they settle run before the next one).
import type { GateClock } from '../../src/core/batch-gate.ts';

export function fakeClock(): GateClock & { t: number; advance(ms: number): Promise<void> } {
  let timers: Array<{ at: number; fn: () => void }> = [];
  const c = {
    t: 0,
    now: () => c.t,
    timer(ms: number, fn: () => void) {
      const entry = { at: c.t + ms, fn };
      timers.push(entry);
      return () => {
        timers = timers.filter((x) => x !== entry);
      };
    },
    async advance(ms: number) {
      const until = c.t + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > until) break;
        timers.shift();
        c.t = next.at;
        next.fn();
        await new Promise((r) => setImmediate(r));
      }
      c.t = until;
      await new Promise((r) => setImmediate(r));
    },
  };
  return c;
}
