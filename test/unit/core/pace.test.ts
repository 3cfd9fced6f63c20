// The pacer's decisions, with times given by hand: one line per case, and simulated relays run on
// a simulated clock (no waiting, no timers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer, type Outcome, type Ticket } from '../../../src/core/pace.ts';
import { seeded } from '../../../scripts/seeded.mjs';

const ok = (latencyMs = 300): Outcome => ({ kind: 'ok', latencyMs });
const limited = (retryAfterMs?: number): Outcome => ({ kind: 'limited', retryAfterMs });
const down: Outcome = { kind: 'down', reason: 'HTTP 503' };

/** Starts as many as the pacer lets go at `now`. */
function startAll(p: Pacer, now: number): Ticket[] {
  const out: Ticket[] = [];
  for (let d = p.decide(now); 'go' in d && d.go; d = p.decide(now)) out.push(p.start(now, d.probe));
  return out;
}

test('open: up to -c start at once; the next waits for an answer', () => {
  const p = new Pacer({ maxConcurrency: 4 });
  assert.equal(startAll(p, 0).length, 4);
  assert.deepEqual(p.decide(0), { go: false, at: undefined });
});

test('--max-rps: starts 1/rps apart; idle time is not saved up', () => {
  const p = new Pacer({ maxConcurrency: 8, maxRps: 4 });
  assert.equal(startAll(p, 0).length, 1);
  assert.deepEqual(p.decide(100), { go: false, at: 250 });
  assert.equal(startAll(p, 250).length, 1);
  assert.equal(startAll(p, 5000).length, 1);
  assert.deepEqual(p.decide(5000), { go: false, at: 5250 });
});

test('a concurrency cap: 429s for those started with more in flight than any admitted → concurrency 8, rate untouched', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const t = startAll(p, 0);
  for (const r of t.slice(8)) p.answer(r, limited(), 5);
  assert.equal(p.concurrency, 8);
  assert.equal(p.rate, Number.POSITIVE_INFINITY);
  assert.equal(p.limitedBy, 'concurrency');
  assert.equal(p.rateLimited, 8);
  assert.deepEqual(p.decide(6), { go: false, at: undefined }, '8 still in flight');
});

test('a rate limit: a 429 with fewer in flight than admitted ones → the admitted rate, less 5%', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const first = startAll(p, 0); // 16 admitted at 0
  for (const r of first.slice(0, 4)) p.answer(r, ok(), 1000);
  const more = startAll(p, 1000); // 4 more, started with 13..16 in flight
  p.answer(more[0] as Ticket, limited(), 1001);
  assert.equal(p.rate, Number.POSITIVE_INFINITY, 'one 429 is not yet a rate');
  p.answer(more[3] as Ticket, ok(1), 1001); // admitted although started after a refused one: a limit, not a window
  p.answer(more[1] as Ticket, limited(), 1001);
  p.answer(more[2] as Ticket, limited(), 1001);
  // 17 admitted or still out over the first 1.001 s, less 5%
  assert.equal(p.limitedBy, 'rate');
  assert.ok(Math.abs(p.rate - (17 * 0.95) / 1.001) < 0.01, String(p.rate));
});

test('only requests started after a step down count toward another one', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const t = startAll(p, 0);
  p.answer(t[15] as Ticket, limited(), 1);
  assert.equal(p.concurrency, 15);
  p.answer(t[14] as Ticket, limited(), 2); // started before the step: the same wave
  assert.equal(p.concurrency, 15);
});

test('a 429 window: refused also after refusals began, nothing admitted → blocked, limits kept, one probe at a time', () => {
  const p = new Pacer({ maxConcurrency: 4 });
  for (const r of startAll(p, 0)) p.answer(r, limited(), 10);
  let now = 10;
  for (let i = 0; i < 5 && p.mode === 'open'; i++) {
    const d = p.decide(now);
    if ('go' in d && !d.go) now = d.at ?? now;
    for (const r of startAll(p, now)) p.answer(r, limited(), now + 1);
    now += 1;
  }
  assert.equal(p.mode, 'blocked');
  assert.equal(p.rate, Number.POSITIVE_INFINITY, 'a window teaches nothing');
  const d = p.decide(now);
  assert.ok('go' in d && !d.go && d.at !== undefined && d.at > now);
  const probe = startAll(p, (d as { at: number }).at);
  assert.equal(probe.length, 1, 'one probe at a time');
  assert.equal(probe[0]?.probe, true);
  p.answer(probe[0] as Ticket, ok(), now + 1000);
  assert.equal(p.mode, 'open');
  assert.equal(startAll(p, now + 1000).length, 4);
});

test("Retry-After: nothing starts before the relay's time", () => {
  const p = new Pacer({ maxConcurrency: 4 });
  const t = startAll(p, 0);
  p.answer(t[3] as Ticket, ok(), 300);
  p.answer(t[0] as Ticket, limited(1000), 300);
  assert.deepEqual(p.decide(400), { go: false, at: 1300 });
  assert.deepEqual(p.decide(1300), { go: true, probe: false });
});

test('an outage: the first 503 pauses everything; one probe at a time, backoff doubling; then a ramp from 1', () => {
  const p = new Pacer({ maxConcurrency: 8 });
  const t = startAll(p, 0);
  p.answer(t[0] as Ticket, down, 100);
  assert.equal(p.mode, 'down');
  for (const r of t.slice(1)) p.answer(r, down, 120); // the others in flight: the same outage
  assert.deepEqual(p.decide(200), { go: false, at: 600 });
  const [probe] = startAll(p, 600);
  assert.deepEqual(p.decide(601), { go: false, at: 100 + 120_000 }, 'the probe is out');
  p.answer(probe as Ticket, down, 650);
  assert.deepEqual(p.decide(700), { go: false, at: 1650 });
  const [second] = startAll(p, 1650);
  p.answer(second as Ticket, ok(), 1900);
  assert.equal(p.mode, 'open');
  const ramp = startAll(p, 1900);
  assert.equal(ramp.length, 1, 'the ramp starts at 1');
  p.answer(ramp[0] as Ticket, ok(), 2200);
  assert.equal(startAll(p, 2200).length, 2, 'and takes one more per answer');
});

test('down for longer than the limit: gone, with the last reason', () => {
  const p = new Pacer({ maxConcurrency: 2, downLimitMs: 10_000 });
  const [t] = startAll(p, 0);
  p.answer(t as Ticket, down, 0);
  assert.deepEqual(p.decide(10_000), { gone: 'the relay has been down for more than 10 s (last: HTTP 503)' });
});

test('rate-limit headers: the limit per minute sets the pace before any 429; none left waits for one to come back', () => {
  const p = new Pacer({ maxConcurrency: 64 });
  const [t, u] = startAll(p, 0);
  p.answer(t as Ticket, { kind: 'ok', latencyMs: 300, hints: { limit: 1200, remaining: 500, resetMs: 10_000 } }, 300);
  assert.equal(p.rate, 20);
  p.answer(u as Ticket, { kind: 'ok', latencyMs: 300, hints: { limit: 1200, remaining: 0, resetMs: 30_000 } }, 300);
  assert.deepEqual(p.decide(300), { go: false, at: 350 }, '60 s / 1200 until one request is back');
});

test('a learned rate is raised 5% after 2 s without a 429; a learned concurrency by one after 5 s', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const t = startAll(p, 0);
  for (const r of t.slice(8)) p.answer(r, limited(), 5);
  assert.equal(p.concurrency, 8);
  p.answer(t[0] as Ticket, ok(), 5004);
  startAll(p, 5004);
  p.answer(t[1] as Ticket, ok(), 5100);
  assert.equal(p.concurrency, 9);
});

/**
 * A pacer in a 429 window since `2 × refusedIn`: 8 answers of 250 ms before, then `c` started at 0
 * and refused `refusedIn` ms later, and 2 started then, refused as well (Retry-After `ra` ms when given).
 */
function blocked(c: number, ra?: number, exact?: boolean, refusedIn = 1): Pacer {
  const p = new Pacer({ maxConcurrency: c });
  const refused: Outcome = { kind: 'limited', retryAfterMs: ra, exact };
  for (let i = 0; i < 8; i++) p.answer(p.start(-1000), ok(250), -750);
  for (const r of startAll(p, 0)) p.answer(r, refused, refusedIn);
  for (const r of [p.start(refusedIn), p.start(refusedIn)]) p.answer(r, refused, 2 * refusedIn);
  return p;
}

test('a first burst, every request refused before anything came back, is not yet a window', () => {
  const p = new Pacer({ maxConcurrency: 4 });
  for (const r of startAll(p, 0)) p.answer(r, limited(), 1);
  assert.equal(p.mode, 'open');
});

test('a window: probes 125 ms apart for its first 2 s, then doubling to 1 s', () => {
  const p = blocked(4);
  assert.equal(p.mode, 'blocked');
  const at: number[] = [];
  let now = 2;
  for (let i = 0; i < 20; i++) {
    now = (p.decide(now) as { at: number }).at;
    at.push(now);
    p.answer(startAll(p, now)[0] as Ticket, limited(), now + 1);
    now += 1;
  }
  assert.deepEqual(
    at.map((t, i) => t - (i ? (at[i - 1] as number) + 1 : 2)),
    [...Array(16).fill(125), 250, 500, 1000, 1000],
  );
});

test('a window: a probe not refused within 50 ms was admitted → open again before its answer, every slot', () => {
  const p = blocked(4);
  const [probe] = startAll(p, 127);
  assert.deepEqual(p.decide(130), { go: false, at: 177 });
  assert.equal(startAll(p, 177).length, 3, 'the probe is still out');
  assert.equal(p.mode, 'open');
  p.answer(probe as Ticket, ok(), 500);
});

test('a window: the answer of a request sent before it began does not end it', () => {
  const p = new Pacer({ maxConcurrency: 4 });
  for (let i = 0; i < 8; i++) p.answer(p.start(-1000), ok(250), -750);
  const early = p.start(0);
  for (const r of startAll(p, 10)) p.answer(r, limited(), 11);
  for (const r of [p.start(12), p.start(12)]) p.answer(r, limited(), 13);
  assert.equal(p.mode, 'blocked');
  p.answer(early as Ticket, ok(), 250);
  assert.equal(p.mode, 'blocked');
});

test('a window whose 429s come back as slowly as answers: the probe is waited for', () => {
  const p = blocked(4, undefined, undefined, 100);
  assert.equal(startAll(p, 325).length, 1);
  assert.deepEqual(p.decide(1000), { go: false, at: undefined });
});

test('a window with Retry-After in whole seconds: probes go before it (the relay rounded it up)', () => {
  assert.deepEqual(blocked(4, 1000).decide(2), { go: false, at: 127 });
});

test('a window with retry-after-ms (exact): probes wait for it', () => {
  assert.deepEqual(blocked(4, 800, true).decide(2), { go: false, at: 802 });
});

test('open again after a window: an earlier Retry-After holds nothing more', () => {
  const p = blocked(4, 1000);
  startAll(p, 127);
  assert.equal(startAll(p, 177).length, 3);
});

test('a 429 that teaches a concurrency cap holds no start, whatever its Retry-After (fewer in flight is the answer)', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const t = startAll(p, 0);
  for (const r of t.slice(8)) p.answer(r, limited(1000), 5);
  assert.equal(p.concurrency, 8);
  p.answer(t[0] as Ticket, ok(), 6);
  assert.equal(startAll(p, 6).length, 1);
});

test('a 429 at a learned cap (the relay counts an answered request a moment longer) holds starts 50 ms', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const t = startAll(p, 0);
  for (const r of t.slice(8)) p.answer(r, limited(), 5);
  p.answer(t[0] as Ticket, ok(), 300);
  const [again] = startAll(p, 300);
  p.answer(again as Ticket, limited(), 301);
  p.answer(t[1] as Ticket, ok(), 320);
  assert.deepEqual(p.decide(320), { go: false, at: 351 });
});

test('429s for requests started in a window while those started before it are admitted: no rate cut', () => {
  const p = new Pacer({ maxConcurrency: 8 });
  const before = startAll(p, 0);
  for (const r of before.slice(0, 4)) p.answer(r, ok(), 250);
  const inWindow = startAll(p, 250);
  for (const r of inWindow.slice(0, 3)) p.answer(r, limited(), 251);
  assert.equal(p.rate, Number.POSITIVE_INFINITY);
});

test('hung requests: the default timeout until 20 answers, then 10× p95, at least 60 s, never above the default', () => {
  const p = new Pacer({ maxConcurrency: 4 });
  assert.equal(p.hungAfterMs(300_000), 300_000);
  for (let i = 0; i < 20; i++) p.answer(p.start(0), ok(1000 + i * 100), 1);
  assert.equal(p.hungAfterMs(300_000), 60_000);
  for (let i = 0; i < 40; i++) p.answer(p.start(0), ok(20_000), 1);
  assert.equal(p.hungAfterMs(300_000), 200_000);
  assert.equal(p.hungAfterMs(100_000), 100_000);
});

test('hung requests: the bound is whole ms (a timer takes no fraction of one); hungMinMs lowers its floor', () => {
  const p = new Pacer({ maxConcurrency: 4, hungMinMs: 300 });
  for (let i = 0; i < 20; i++) p.answer(p.start(0), ok(62.398), 1);
  assert.equal(p.hungAfterMs(300_000), 624);
});

test('hung requests: 10× the sample at 95%, also when few samples are slow and as old ones are replaced', () => {
  const bound = (latencies: number[]) => {
    const p = new Pacer({ maxConcurrency: 4, hungMinMs: 1000 });
    for (const ms of latencies) p.answer(p.start(0), ok(ms), 1);
    return p.hungAfterMs(300_000);
  };
  const n = (count: number, ms: number) => Array<number>(count).fill(ms);
  assert.equal(bound([...n(19, 50), 500]), 5000); // 20 samples: the 95% one is the slowest
  assert.equal(bound([...n(19, 50), 100]), 1000); // at the floor's own p95 (100 × 10 = 1000)
  assert.equal(bound([...n(38, 50), ...n(2, 500)]), 5000);
  assert.equal(bound([...n(39, 50), 500]), 1000);
  assert.equal(bound(n(512, 500)), 5000);
  assert.equal(bound([...n(512, 500), ...n(512, 50)]), 1000); // the slow ones all replaced
  assert.equal(bound([...n(512, 50), ...n(30, 500)]), 5000); // 30 of 512 slow: past the 95% place
  assert.equal(bound([...n(512, 50), ...n(25, 500)]), 1000); // 25: not yet
});

// ---- simulated relays ----------------------------------------------------------------------------

interface Relay {
  /** What the relay answers a request arriving at `now`: ok after `ms`, or 429 at once. */
  arrive(now: number): { ok: true; ms: number } | { ok: false };
  /** A request's answer was sent at `now`. */
  release(now: number): void;
}

/**
 * `items` requests through the pacer against `relay`, on a simulated clock: each 429 goes back to
 * the queue, as the client sends it again. Returns when all are answered ok, or at `untilMs`.
 */
function simulate(p: Pacer, relay: Relay, items: number, untilMs: number) {
  type Ev = { at: number; fn: () => void };
  const events: Ev[] = [];
  let now = 0;
  let waiting = items;
  let done = 0;
  let wakeAt: number | undefined;
  const schedule = (at: number, fn: () => void) => events.push({ at, fn });
  const pump = () => {
    while (waiting > 0) {
      const d = p.decide(now);
      if ('gone' in d) throw new Error(d.gone);
      if (!d.go) {
        wakeAt = d.at;
        return;
      }
      waiting--;
      const t = p.start(now, d.probe);
      const a = relay.arrive(now);
      if (a.ok) {
        schedule(now + a.ms, () => {
          relay.release(now);
          p.answer(t, ok(a.ms), now);
          done++;
        });
      } else {
        schedule(now + 1, () => {
          p.answer(t, limited(), now);
          waiting++;
        });
      }
    }
  };
  pump();
  while (done < items && now < untilMs) {
    events.sort((a, b) => a.at - b.at);
    const next = events[0];
    const at = Math.min(next?.at ?? Number.POSITIVE_INFINITY, wakeAt ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(at)) break;
    now = at;
    wakeAt = undefined;
    while (events.length && (events[0] as Ev).at <= now) (events.shift() as Ev).fn();
    pump();
  }
  return { done, elapsedMs: now };
}

/** At most `cap` in flight; a request counts for `lagMs` after its answer (new-api's lease release). */
function concurrencyCap(cap: number, lagMs: number, random = seeded(8)): Relay & { releases: Array<number> } {
  let inFlight = 0;
  const pending: number[] = [];
  const relay = {
    releases: pending,
    arrive(now: number) {
      while (pending.length && (pending[0] as number) <= now) {
        pending.shift();
        inFlight--;
      }
      if (inFlight >= cap) return { ok: false as const };
      inFlight++;
      const z = Math.sqrt(-2 * Math.log(Math.max(1e-9, random()))) * Math.cos(2 * Math.PI * random());
      return { ok: true as const, ms: Math.round(300 * Math.exp(0.7 * z)) };
    },
    release(now: number) {
      pending.push(now + lagMs);
      pending.sort((a, b) => a - b);
    },
  };
  return relay;
}

function tokenBucket(perSecond: number, burst: number, random = seeded(9)): Relay {
  let tokens = burst;
  let at = 0;
  return {
    arrive(now) {
      tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond);
      at = now;
      if (tokens < 1) return { ok: false };
      tokens--;
      const z = Math.sqrt(-2 * Math.log(Math.max(1e-9, random()))) * Math.cos(2 * Math.PI * random());
      return { ok: true, ms: Math.round(300 * Math.exp(0.7 * z)) };
    },
    release() {},
  };
}

// The stall of issue #23: a cap of 8 at -c 16, on a relay that counts a request a moment after
// answering it (so 429s come even below the cap). The old gate halved its concurrency on every
// such 429 and gave one back per 8 straight successes, so it sank to 1 in flight and, with each
// 429 pausing every worker for up to 8 s, crawled (167 of 600 after 584 s). The pacer learns the
// cap (or a rate just under it) instead of halving, and never goes below what was admitted.
test('stall: a cap of 8 at -c 16 with a lagging release keeps going at ≥ 70% of the cap (cap 8 ≈ 21/s)', () => {
  const p = new Pacer({ maxConcurrency: 16 });
  const r = simulate(p, concurrencyCap(8, 20), 600, 600_000);
  assert.equal(r.done, 600);
  const rate = r.done / (r.elapsedMs / 1000);
  assert.ok(rate >= 0.7 * (8 / 0.383), `${rate.toFixed(1)}/s, concurrency ${p.concurrency}, rate ${p.rate}`);
  assert.ok(p.lowest >= 4, `lowest concurrency ${p.lowest}`);
  assert.ok(p.rateLimited < 0.1 * 600, `${p.rateLimited} 429s`);
});

for (const c of [4, 16, 64]) {
  test(`a cap of 8 at -c ${c}: at least 90% of min(c, 8) / latency, fewer than 5% answered 429`, () => {
    const p = new Pacer({ maxConcurrency: c });
    const r = simulate(p, concurrencyCap(8, 0), 600, 600_000);
    const rate = r.done / (r.elapsedMs / 1000);
    assert.ok(rate >= 0.9 * (Math.min(c, 8) / 0.383), `${rate.toFixed(1)}/s, concurrency ${p.concurrency}`);
    // once settled: the first wave of -c requests meets the cap before anything is known
    assert.ok(p.rateLimited - Math.max(0, c - 8) < 0.05 * 600, `${p.rateLimited} 429s`);
  });

  test(`a 20/s token bucket at -c ${c}: at least 90% of min(20, c / latency), fewer than 5% answered 429`, () => {
    const p = new Pacer({ maxConcurrency: c });
    const r = simulate(p, tokenBucket(20, 20), 600, 600_000);
    const rate = r.done / (r.elapsedMs / 1000);
    assert.ok(rate >= 0.9 * Math.min(20, c / 0.383), `${rate.toFixed(1)}/s, rate ${p.rate}, concurrency ${p.concurrency}`);
    // once settled: the relay's burst (20) and the first wave of -c requests come before anything is known
    assert.ok(p.rateLimited - Math.max(0, c - 20) < 0.1 * 600, `${p.rateLimited} 429s`);
  });
}
