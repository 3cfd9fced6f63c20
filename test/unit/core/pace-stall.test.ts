// The stall of issue #23, through the gate's public surface on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchGate } from '../../../src/core/batch-gate.ts';
import { seeded } from '../../../scripts/seeded.mjs';
import { fakeClock } from '../../helpers/fake-clock.ts';

// The stall of issue #23 (cap 8 at -c 16: one run of five stalled, 167 of 600 after 584 s), through
// the gate as the batch uses it: -c workers, each image a request that waits for its turn, and a 429
// sent back to the gate (as the API client does). The relay allows 8 in flight and counts a request
// 20 ms after answering it (new-api releases its lease after the answer is written), so 429s come
// even below the cap. The old gate halved its concurrency on each such 429, gave one back per 8
// straight successes and paused every worker for the refused request's own backoff (0.5 s · 2ⁿ up
// to 8 s): it sank to 1–2 in flight and crawled.
test('gate: a cap of 8 at -c 16 that counts a request 20 ms after its answer: 600 images at ≥ 70% of the cap, no stall', async () => {
  const clock = fakeClock();
  const gate = new BatchGate({ max: 16, clock });
  const random = seeded(8);
  let inFlight = 0;
  let done = 0;
  let refused = 0;
  let next = 0;
  const after = (ms: number) => new Promise<void>((r) => clock.timer(ms, r));
  const worker = async () => {
    while (next < 600) {
      next++;
      const r = gate.forRequest();
      for (;;) {
        await r.wait();
        if (inFlight >= 8) {
          refused++;
          await after(1);
          r.settle({ kind: 'limited', retryAfterMs: undefined, headers: {} });
          continue;
        }
        inFlight++;
        const z = Math.sqrt(-2 * Math.log(Math.max(1e-9, random()))) * Math.cos(2 * Math.PI * random());
        const ms = Math.round(300 * Math.exp(0.7 * z));
        await after(ms);
        void after(20).then(() => inFlight--);
        r.settle({ kind: 'ok', latencyMs: ms, headers: {} });
        r.done();
        done++;
        break;
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  // 600 images at the cap's pace (8 / 383 ms ≈ 21/s) take about 29 s; 70% of it, 41 s
  while (done < 600 && clock.t < 41_000) await clock.advance(250);
  assert.equal(done, 600, `${done} of 600 after ${clock.t / 1000} s, ${refused} refused, lowest concurrency ${gate.lowest}`);
  assert.ok(gate.lowest >= 4, `lowest concurrency ${gate.lowest}`);
  await Promise.all(workers);
});
