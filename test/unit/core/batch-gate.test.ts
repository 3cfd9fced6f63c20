// The gate's effects: a queue served in order, timers at the times the pacer names, a stop, an
// outage that outlasts its limit. A fake clock: timers run when the test moves time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchGate, RelayDownError } from '../../../src/core/batch-gate.ts';
import { fakeClock } from '../../helpers/fake-clock.ts';
import { InterruptedError } from '../../../src/types.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('gate: up to -c at once, in the order asked; an answer lets the next one go', async () => {
  const gate = new BatchGate({ max: 2, clock: fakeClock() });
  const order: number[] = [];
  const reqs = [0, 1, 2, 3].map((i) => {
    const r = gate.forRequest();
    void r.wait().then(() => order.push(i));
    return r;
  });
  await tick();
  assert.deepEqual(order, [0, 1]);
  reqs[0]?.settle({ kind: 'ok', latencyMs: 10, headers: {} });
  await tick();
  assert.deepEqual(order, [0, 1, 2]);
  reqs[1]?.done(); // an attempt the client never settled is given back too
  await tick();
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(gate.peak, 2);
});

test('gate: --max-rps spaces starts on the clock', async () => {
  const clock = fakeClock();
  const gate = new BatchGate({ max: 8, maxRps: 4, clock });
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) void gate.acquire().then(() => starts.push(clock.t));
  await tick();
  assert.deepEqual(starts, [0]);
  await clock.advance(600);
  assert.deepEqual(starts, [0, 250, 500]);
});

test('gate: close() rejects every waiting and later attempt with InterruptedError', async () => {
  const gate = new BatchGate({ max: 1, clock: fakeClock() });
  await gate.acquire();
  const waiting = gate.acquire();
  gate.close();
  await assert.rejects(waiting, InterruptedError);
  await assert.rejects(gate.acquire(), InterruptedError);
});

test('gate: an abort ends a wait with InterruptedError and leaves the queue', async () => {
  const gate = new BatchGate({ max: 1, clock: fakeClock() });
  await gate.acquire();
  const ac = new AbortController();
  const p = gate.acquire(ac.signal);
  ac.abort();
  await assert.rejects(p, InterruptedError);
});

test('gate: a relay down past the limit rejects every wait with RelayDownError (exit 4)', async () => {
  const clock = fakeClock();
  const changes: string[] = [];
  const gate = new BatchGate({ max: 2, clock, downLimitMs: 5_000, onChange: (c) => changes.push(c.text) });
  // a request as the client sends it: every attempt meets the outage
  const attempts = async () => {
    const r = gate.forRequest();
    for (;;) {
      await r.wait();
      r.settle({ kind: 'down', reason: 'HTTP 502' });
    }
  };
  const caught = attempts().catch((e: unknown) => e);
  const other = attempts().catch((e: unknown) => e);
  // probes go out and fail until the limit
  for (let i = 0; i < 10; i++) await clock.advance(1_000);
  const e = await caught;
  assert.ok(e instanceof RelayDownError, String(e));
  assert.equal((e as RelayDownError).exitCode, 4);
  assert.match((e as Error).message, /down for more than 5\.0 s \(last: HTTP 502\)/);
  assert.ok((await other) instanceof RelayDownError);
  assert.match(changes[0] ?? '', /the relay is down \(HTTP 502\)/);
});

test('gate: the per-attempt timeout is learned only when the user gave none', () => {
  const learned = new BatchGate({ max: 2, defaultTimeoutMs: 300_000 });
  assert.equal(learned.timeoutMs(), 300_000);
  const given = new BatchGate({ max: 2 });
  assert.equal(given.timeoutMs(), undefined);
});
