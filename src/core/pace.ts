// Pacing against the relay, as pure decisions: the time and what the relay answered go in; when the
// next request may start and how many may be in flight come out. batch-gate.ts carries them out.
//
// What it learns, and from what (issue #23):
// - a 429 for a request that started while fewer were in flight than some that were admitted says
//   "too fast": the start rate becomes what the relay admitted over the last seconds (slightly less);
// - a 429 for a request that started with more in flight than any admitted one says "too many at
//   once": the concurrency becomes the most that were admitted;
// - 429s for every request, also for those started after the relay began refusing, say "not now"
//   (a window): nothing is learned; starts stop, one probe at a time, until one is answered;
// - 502/503/504 and refused connections say "down": the same pause and probe, with a longer backoff,
//   then a ramp back; down for longer than `downLimitMs` ends the run;
// - rate-limit headers (OpenAI's x-ratelimit-*, Anthropic's anthropic-ratelimit-*) give the limit
//   before any 429: the pace starts there.
// Learned limits are probed upward every few seconds without a 429, so a relay that allows more
// again is followed within seconds. -c and --max-rps are ceilings nothing here goes above.
// Why not plain AIMD or a latency gradient (Netflix concurrency-limits): relays answer a 429 at once
// rather than queueing, so latency says little, and halving on each 429 is what sank the old gate;
// a limit measured from what was admitted does not spiral, and a window is told apart from a limit.

/** What the relay said about its limits on an answer (parsed from its headers). */
export interface RateHints {
  /** Requests allowed per minute. */
  limit?: number | undefined;
  /** Requests left before the limit. */
  remaining?: number | undefined;
  /** Time until the limit is whole again, in ms. */
  resetMs?: number | undefined;
}

export type Outcome =
  | { kind: 'ok'; latencyMs: number; hints?: RateHints | undefined }
  | {
      kind: 'limited';
      retryAfterMs?: number | undefined;
      /**
       * The time came as `retry-after-ms`. `Retry-After` has whole seconds only (or a date), rounded
       * up by the relay: the relay may admit again well before it.
       */
      exact?: boolean | undefined;
      hints?: RateHints | undefined;
    }
  /** 502/503/504, a refused or reset connection: the relay is not there. */
  | { kind: 'down'; reason: string }
  /** Any other answer (a 400, a 500 for this image, a malformed body): the relay is up. */
  | { kind: 'answered' }
  /** Timed out, or stopped by us: says nothing about the relay. */
  | { kind: 'abandoned' };

export interface Ticket {
  /** Order of starting (times may be equal). */
  readonly seq: number;
  readonly startedAt: number;
  /** Requests in flight when it started, itself included. */
  readonly inFlight: number;
  readonly probe: boolean;
  /** Filled in when answered. */
  state: 'pending' | 'admitted' | 'refused' | 'other';
}

export type Decision =
  | { go: true; probe: boolean }
  /** Not yet: ask again at `at`, or when something is answered (`at` undefined). */
  | { go: false; at: number | undefined }
  | { gone: string };

export type Mode = 'open' | 'blocked' | 'down' | 'gone';

/** A change of pace and its cause, for -v. */
export interface PaceChange {
  at: number;
  text: string;
}

export interface PaceOptions {
  /** -c */
  maxConcurrency: number;
  /** --max-rps */
  maxRps?: number | undefined;
  /** How long the relay may be down before the run gives up (default 2 minutes). */
  downLimitMs?: number | undefined;
  /** Window over which admitted requests are counted (default 3 s). */
  windowMs?: number | undefined;
  /** The least the hung-request bound may be (default 60 s). */
  hungMinMs?: number | undefined;
}

export const DOWN_LIMIT_MS = 120_000;
/** Without a 429 for this long, a learned rate is raised by RATE_STEP. */
const RATE_PROBE_MS = 2_000;
const RATE_STEP = 1.05;
/** Below what was admitted, so the relay's bucket refills a little. */
const RATE_MARGIN = 0.95;
/** Without a 429 for this long, a learned concurrency is raised by one. */
const CONC_PROBE_MS = 5_000;
/** After a 429 without Retry-After, nothing starts for this long. */
const HOLD_MS = 50;
/**
 * Probes while every request is refused (429): BLOCKED_PROBE_MS apart for the first BLOCKED_FAST_MS
 * (a window of a second or two is left within a tenth of a second or so), then doubling to BLOCKED_MAX_MS.
 */
const BLOCKED_PROBE_MS = 125;
const BLOCKED_FAST_MS = 2_000;
const BLOCKED_MAX_MS = 1_000;
/**
 * A probe not refused this long after it started (at least; twice the p90 of the last refusals'
 * times) was admitted: relays refuse at once, and an admitted request takes the model's time. Only
 * while that is well under the quickest answers (0.8× their p10); otherwise its answer is waited for.
 */
const ADMITTED_AFTER_MS = 50;
const REFUSAL_SAMPLES = 32;
/** Probes while the relay is down: first after this, doubling, at most DOWN_MAX_MS. */
const DOWN_FIRST_MS = 500;
const DOWN_MAX_MS = 2_000;
/** Consecutive 429s, with one started after the first was answered, that mean "every request is refused". */
const BLOCK_AFTER = 2;
/** Latency samples kept for the hung-request bound. */
const LATENCY_SAMPLES = 512;
/** The hung-request bound: this many times the p95 latency, at least HUNG_MIN_MS, once HUNG_SAMPLES answers are in. */
const HUNG_FACTOR = 10;
const HUNG_MIN_MS = 60_000;
const HUNG_SAMPLES = 20;

/** The value at fraction `q` of ascending `sorted` (not empty): the one at floor(n·q), the last at most. */
const percentile = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number;

const fmtRate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));

export class Pacer {
  readonly max: number;
  readonly maxRps: number | undefined;
  private readonly downLimitMs: number;
  private readonly windowMs: number;
  private readonly hungMinMs: number;

  mode: Mode = 'open';
  /** The relay's start rate as learned (per second); Infinity until something says otherwise. */
  rate = Number.POSITIVE_INFINITY;
  /** The concurrency the relay allows as learned; `max` until a 429 says otherwise. */
  concurrency: number;
  /** What set the pace last: the relay's rate, its concurrency, or neither. */
  limitedBy: 'rate' | 'concurrency' | undefined;
  /** Counts for the summary and tests. */
  active = 0;
  peak = 0;
  rateLimited = 0;
  lowest: number;
  readonly changes: PaceChange[] = [];

  private seq = 0;
  private nextStartAt = Number.NEGATIVE_INFINITY;
  /** The learned limits when the current run of 429s began: a run that turns out to be a window gives them back. */
  private before = { rate: Number.POSITIVE_INFINITY, concurrency: 0 };
  private pauseUntil = Number.NEGATIVE_INFINITY;
  /** The part of pauseUntil an exact Retry-After (retry-after-ms) or rate-limit headers set. */
  private exactUntil = Number.NEGATIVE_INFINITY;
  private lastLimitedAt = Number.NEGATIVE_INFINITY;
  private lastRateChange = Number.NEGATIVE_INFINITY;
  private lastConcChange = Number.NEGATIVE_INFINITY;
  /** After an outage: the concurrency ramps back from 1, one more per answer. */
  private ramp: number | undefined;
  /** Blocked or down: since when, the next probe, its backoff, whether one is out. */
  private since = 0;
  private probeAt = 0;
  private backoff = 0;
  private probeOut = false;
  private downReason = '';
  /** The current run of 429s: how many, and when the first was answered. */
  private refusedRun = 0;
  private firstRefusalAt = 0;
  /** When the earliest-started request refused in the current run started. */
  private firstRefusedStart = 0;
  /** How long the last 429s took to come back, and the probe out (blocked). */
  private readonly refusalMs: number[] = [];
  private probeTicket: Ticket | undefined;
  /** Starts of the last `windowMs`, oldest first. */
  private recent: Ticket[] = [];
  private firstStart: number | undefined;
  private readonly latencies: number[] = [];
  /** The p95 of `latencies`, worked out once per new sample (hungAfterMs is asked before every request). */
  private p95?: number | undefined;
  /** How many of `latencies` are over hungMinMs / HUNG_FACTOR: while few are, the bound is hungMinMs without sorting. */
  private slow = 0;
  private latencyAt = 0;
  /** ok answers (their times) of the last 5 s, for the achieved rate. */
  private oks: number[] = [];

  constructor(opts: PaceOptions) {
    this.max = Math.max(1, Math.floor(opts.maxConcurrency));
    this.maxRps = opts.maxRps !== undefined && opts.maxRps > 0 ? opts.maxRps : undefined;
    this.concurrency = this.max;
    this.lowest = this.max;
    this.downLimitMs = opts.downLimitMs ?? DOWN_LIMIT_MS;
    this.windowMs = opts.windowMs ?? 3_000;
    this.hungMinMs = opts.hungMinMs ?? HUNG_MIN_MS;
  }

  /** The start rate in force: the learned one under --max-rps. */
  get startRate(): number {
    return Math.min(this.rate, this.maxRps ?? Number.POSITIVE_INFINITY);
  }

  /** The concurrency in force now (a ramp after an outage included). */
  get allowed(): number {
    return Math.min(this.concurrency, this.ramp ?? Number.POSITIVE_INFINITY);
  }

  /** May a request start at `now`? */
  decide(now: number): Decision {
    if (this.mode === 'gone') return { gone: this.goneText() };
    if (this.mode === 'down' && now - this.since >= this.downLimitMs) {
      this.mode = 'gone';
      this.note(now, `the relay has been down for ${secs(now - this.since)}: giving up`);
      return { gone: this.goneText() };
    }
    const admittedAfter = this.mode === 'blocked' && this.probeTicket ? this.admittedAfterMs() : undefined;
    if (admittedAfter !== undefined && this.probeTicket) {
      // The probe is not refused at once: the relay admits again; no need to wait for its answer.
      const admittedAt = this.probeTicket.startedAt + admittedAfter;
      if (now < admittedAt) return { go: false, at: admittedAt };
      this.reopen(now);
      return this.decide(now);
    }
    if (this.mode === 'down' || this.mode === 'blocked') {
      // A probe in a 429 window goes before a Retry-After in whole seconds (one request, and the
      // relay rounded it up); an exact one (retry-after-ms) holds it too.
      const at = this.mode === 'blocked' ? Math.max(this.probeAt, this.exactUntil) : Math.max(this.probeAt, this.pauseUntil);
      if (this.probeOut) return { go: false, at: this.mode === 'down' ? this.since + this.downLimitMs : undefined };
      if (now < at) return { go: false, at: this.mode === 'down' ? Math.min(at, this.since + this.downLimitMs) : at };
      return { go: true, probe: true };
    }
    if (this.active >= this.allowed) return { go: false, at: undefined };
    const at = Math.max(this.pauseUntil, this.nextStartAt);
    if (now < at) return { go: false, at };
    return { go: true, probe: false };
  }

  /** A request starts now (after `decide` said go). */
  start(now: number, probe = false): Ticket {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    const t: Ticket = { seq: this.seq++, startedAt: now, inFlight: this.active, probe, state: 'pending' };
    if (probe) {
      this.probeOut = true;
      this.probeTicket = t;
    }
    const r = this.startRate;
    if (Number.isFinite(r)) this.nextStartAt = Math.max(now, this.nextStartAt) + 1000 / r;
    this.firstStart ??= now;
    this.recent.push(t);
    this.prune(now);
    return t;
  }

  /** How the request of `t` ended. */
  answer(t: Ticket, o: Outcome, now: number): void {
    this.active = Math.max(0, this.active - 1);
    if (t === this.probeTicket) {
      this.probeOut = false;
      this.probeTicket = undefined;
    }
    switch (o.kind) {
      case 'ok':
        t.state = 'admitted';
        this.admitted(t, now, o.latencyMs);
        if (o.hints) this.hints(o.hints, now);
        this.probeUp(now);
        break;
      case 'limited':
        t.state = 'refused';
        this.refused(t, now, o.retryAfterMs, o.exact === true);
        if (o.hints) this.hints(o.hints, now);
        break;
      case 'down':
        t.state = 'other';
        this.down(t, now, o.reason);
        break;
      case 'answered':
        t.state = 'other';
        this.refusedRun = 0;
        if (this.mode !== 'open') this.reopen(now);
        break;
      case 'abandoned':
        t.state = 'other';
        break;
    }
  }

  /** How long nothing may start because the relay asked to wait (429) or is refusing everything, in ms. */
  holdingFor(now: number): number {
    const until = this.mode === 'blocked' ? Math.max(this.pauseUntil, this.probeAt) : this.mode === 'open' ? this.pauseUntil : 0;
    // The short hold after a 429 without Retry-After is not worth a word on the live line.
    return until - now > HOLD_MS ? until - now : 0;
  }

  /** How long the relay has answered nothing but 429s, in ms (0 when it is not refusing). */
  refusingFor(now: number): number {
    return this.refusedRun > 0 ? now - this.firstRefusalAt : 0;
  }

  /** ok answers per second over the last 5 s. */
  achieved(now: number): number {
    while (this.oks.length && (this.oks[0] as number) < now - 5_000) this.oks.shift();
    const span = Math.min(5_000, now - (this.firstStart ?? now));
    return span > 0 ? (this.oks.length * 1000) / span : 0;
  }

  /**
   * The per-attempt timeout when the user set none: 10× the p95 latency of this batch's answers,
   * at least 60 s; `fallbackMs` (the default timeout) until 20 answers are in.
   */
  hungAfterMs(fallbackMs: number): number {
    const n = this.latencies.length;
    if (n < HUNG_SAMPLES) return fallbackMs;
    // The p95 (the value at floor(0.95 n) of the sorted samples) is at most hungMinMs / HUNG_FACTOR
    // when no more samples than those above that place are slower: then the bound is hungMinMs.
    // Otherwise sorted once per new sample, as a typed array (natively, no JS comparator).
    const p95 =
      this.slow <= n - 1 - Math.min(n - 1, Math.floor(n * 0.95))
        ? 0
        : (this.p95 ??= percentile(Float64Array.from(this.latencies).sort(), 0.95));
    // Whole ms: a timer's delay must be an integer (AbortSignal.timeout throws otherwise).
    const bound = Math.ceil(Math.max(this.hungMinMs, HUNG_FACTOR * p95));
    return fallbackMs > 0 ? Math.min(fallbackMs, bound) : bound;
  }

  /** What the relay allowed, when it held the batch back: for the summary and its suggestion. */
  learned(): { rate?: number; concurrency?: number } {
    const out: { rate?: number; concurrency?: number } = {};
    if (Number.isFinite(this.rate)) out.rate = this.rate;
    if (this.concurrency < this.max) out.concurrency = this.concurrency;
    return out;
  }

  // ---- learning -------------------------------------------------------------------------------

  private admitted(t: Ticket, now: number, latencyMs: number): void {
    this.oks.push(now);
    const slow = this.hungMinMs / HUNG_FACTOR;
    if (this.latencies.length < LATENCY_SAMPLES) this.latencies.push(latencyMs);
    else {
      const at = this.latencyAt++ % LATENCY_SAMPLES;
      if ((this.latencies[at] as number) > slow) this.slow--;
      this.latencies[at] = latencyMs;
    }
    if (latencyMs > slow) this.slow++;
    this.p95 = undefined;
    // The answer of a request sent before the current run of 429s began says nothing about now (in
    // a window, the requests already out are answered while everything new is refused).
    if (this.refusedRun > 0 && t.startedAt < this.firstRefusedStart) return;
    this.refusedRun = 0;
    if (this.mode !== 'open') this.reopen(now);
    else if (this.ramp !== undefined) {
      this.ramp++;
      if (this.ramp >= this.concurrency) this.ramp = undefined;
    }
  }

  private refused(t: Ticket, now: number, retryAfterMs: number | undefined, exact: boolean): void {
    this.rateLimited++;
    this.lastLimitedAt = now;
    this.refusalMs.push(now - t.startedAt);
    if (this.refusalMs.length > REFUSAL_SAMPLES) this.refusalMs.shift();
    if (this.refusedRun === 0) {
      this.firstRefusalAt = now;
      this.firstRefusedStart = t.startedAt;
      this.before = { rate: this.rate, concurrency: this.concurrency };
    } else this.firstRefusedStart = Math.min(this.firstRefusedStart, t.startedAt);
    this.refusedRun++;
    // Without a time from the relay, a short hold: a request sent again at once would meet the same
    // answer (and a relay that counts a request a moment after answering it would refuse it again).
    const asked = retryAfterMs !== undefined && retryAfterMs > 0;
    const hold = (ms: number) => {
      this.pauseUntil = Math.max(this.pauseUntil, now + ms);
      if (asked && exact) this.exactUntil = Math.max(this.exactUntil, now + ms);
    };
    if (this.mode === 'down') this.reopen(now);
    if (this.mode === 'blocked') {
      hold(asked ? retryAfterMs : HOLD_MS);
      if (t.probe) this.nextBlockedProbe(now);
      return;
    }
    // Refused although it started after the relay had begun refusing, and none started since is
    // admitted or still out: every request is refused, whatever the pace. Wait and probe; learn nothing.
    if (t.startedAt >= this.firstRefusalAt) {
      const since = this.recent.filter((r) => r.startedAt >= this.firstRefusalAt);
      const refused = since.filter((r) => r.state === 'refused').length;
      if (refused >= BLOCK_AFTER && refused === since.length) {
        this.mode = 'blocked';
        this.since = this.firstRefusalAt;
        this.rate = this.before.rate;
        this.concurrency = Math.max(this.concurrency, this.before.concurrency);
        this.nextBlockedProbe(now);
        this.note(now, 'the relay refuses every request (429): waiting, one probe at a time');
        hold(asked ? retryAfterMs : HOLD_MS);
        return;
      }
    }
    // Too many at once: fewer in flight is the answer, not a pause of every start (a cap that
    // sends Retry-After would otherwise stop the batch for a second at each probe upward); at a
    // learned cap, a short hold (the relay counts an answered request a moment longer).
    const learned = this.learnFrom(t, now);
    if (learned === 'rate') hold(asked ? retryAfterMs : HOLD_MS);
    else if (learned === 'at-cap') hold(HOLD_MS);
  }

  /** A 429 while others are admitted: too fast, or too many at once. */
  private learnFrom(t: Ticket, now: number): 'concurrency' | 'at-cap' | 'rate' {
    // The requests in flight when this one started (those started before it), and not refused.
    const mostAdmitted = this.recent.reduce(
      (m, r) => (r.seq < t.seq && (r.state === 'admitted' || r.state === 'pending') ? Math.max(m, r.inFlight) : m),
      0,
    );
    if (t.inFlight > mostAdmitted && mostAdmitted > 0) {
      // Only requests started after the last step down say anything about the new concurrency.
      if (t.startedAt < this.lastConcChange || this.concurrency <= mostAdmitted) return 'concurrency';
      this.concurrency = Math.max(1, mostAdmitted);
      this.lowest = Math.min(this.lowest, this.concurrency);
      this.lastConcChange = now;
      this.limitedBy = 'concurrency';
      this.note(now, `429 with ${t.inFlight} in flight, none with ${mostAdmitted}: concurrency ${this.concurrency}`);
      return 'concurrency';
    }
    // At (or next to) a concurrency cap that was learned: the relay counts a request a moment after
    // answering it, and ours had not reached it yet. Sent again after the hold; nothing to learn.
    if (this.concurrency < this.max && t.inFlight >= this.concurrency - 1 && !this.belowCap(now)) {
      // Often enough, though, and the cap is one lower than it looked.
      const since = this.recent.filter((r) => r.startedAt >= this.lastConcChange);
      const refused = since.filter((r) => r.state === 'refused').length;
      if (this.concurrency > 1 && refused >= 3 && refused > 0.05 * since.length) {
        this.concurrency--;
        this.lowest = Math.min(this.lowest, this.concurrency);
        this.lastConcChange = now;
        this.note(now, `${refused} of ${since.length} refused at ${this.concurrency + 1} in flight: concurrency ${this.concurrency}`);
      }
      return 'at-cap';
    }
    if (t.startedAt < this.lastRateChange) return 'rate';
    // A rate limit refuses some and admits others: a few refusals mixed with answers since the last
    // change. Refusals alone are a window (or not yet anything): no cut.
    const since = this.recent.filter((r) => r.startedAt >= this.lastRateChange);
    const refusedSince = since.filter((r) => r.state === 'refused');
    // Admitted after the first refused one started: a limit interleaves them; a window that began
    // refuses everything started in it, and the admitted ones had started before it.
    const firstRefused = refusedSince[0]?.seq ?? this.seq;
    const admittedSince = since.filter((r) => r.state === 'admitted' && r.seq > firstRefused).length;
    if (refusedSince.length < 3 || admittedSince < 1) return 'rate';
    const first = this.firstStart ?? now;
    const span = Math.max(1_000, Math.min(this.windowMs, now - first));
    const inSpan = this.recent.filter((r) => r.startedAt >= now - span);
    const admitted = inSpan.filter((r) => r.state === 'admitted' || r.state === 'pending').length;
    // What was admitted, less a margin; never less than half of what was started (a single 429 among
    // requests still out says little about the rate yet).
    const started = (inSpan.length * 1000) / span;
    const measured = Math.max(0.1, (admitted * 1000 * RATE_MARGIN) / span, 0.5 * Math.min(started, this.startRate));
    const next = Math.min(this.startRate, measured);
    this.rate = next;
    this.lastRateChange = now;
    this.limitedBy = 'rate';
    this.note(now, `429 at ${fmtRate(admitted / (span / 1000))}/s admitted: pace ${fmtRate(next)}/s`);
    return 'rate';
  }

  /**
   * The relay admits far fewer than the learned concurrency would carry at this batch's latency:
   * the limit is a rate after all (a burst that looked like a cap), not the concurrency.
   */
  private belowCap(now: number): boolean {
    if (this.latencies.length < 8) return false;
    const mean = this.latencies.reduce((a, b) => a + b, 0) / this.latencies.length;
    const first = this.firstStart ?? now;
    const span = Math.max(1_000, Math.min(this.windowMs, now - first));
    const admitted = this.recent.filter((r) => r.startedAt >= now - span && (r.state === 'admitted' || r.state === 'pending')).length;
    return (admitted * 1000) / span < 0.5 * (this.concurrency / (Math.max(1, mean) / 1000));
  }

  /** Without 429s for a while, try a little more: the relay may allow more than it did. */
  private probeUp(now: number): void {
    const quiet = now - this.lastLimitedAt;
    if (Number.isFinite(this.rate) && quiet >= RATE_PROBE_MS && now - this.lastRateChange >= RATE_PROBE_MS) {
      this.rate *= RATE_STEP;
      this.lastRateChange = now;
      if (this.maxRps !== undefined && this.rate > this.maxRps * 2) this.rate = Number.POSITIVE_INFINITY;
    }
    if (
      this.concurrency < this.max &&
      quiet >= CONC_PROBE_MS &&
      now - this.lastConcChange >= CONC_PROBE_MS &&
      this.active + 1 >= this.concurrency
    ) {
      this.concurrency++;
      this.lastConcChange = now;
    }
  }

  private hints(h: RateHints, now: number): void {
    if (h.limit !== undefined && h.limit > 0) {
      const perSecond = h.limit / 60;
      if (perSecond < this.rate) {
        this.rate = perSecond;
        this.lastRateChange = now;
        this.limitedBy = 'rate';
        this.note(now, `the relay allows ${h.limit} requests/min (rate-limit headers): pace ${fmtRate(perSecond)}/s`);
      }
    }
    if (h.remaining !== undefined && h.remaining < 1 && h.resetMs !== undefined && h.resetMs > 0) {
      const limit = h.limit ?? 1;
      // OpenAI's reset is until the whole limit is back; one request's worth comes back sooner.
      const oneBack = Math.min(h.resetMs, 60_000 / Math.max(1, limit));
      this.pauseUntil = Math.max(this.pauseUntil, now + oneBack);
      this.exactUntil = Math.max(this.exactUntil, now + oneBack);
    }
  }

  private down(t: Ticket, now: number, reason: string): void {
    this.refusedRun = 0;
    this.downReason = reason;
    if (this.mode !== 'down') {
      this.mode = 'down';
      this.since = now;
      this.backoff = DOWN_FIRST_MS / 2;
      this.nextProbe(now, DOWN_MAX_MS);
      this.note(now, `the relay is down (${reason}): pausing the batch, one probe at a time`);
      return;
    }
    if (t.probe) this.nextProbe(now, DOWN_MAX_MS);
  }

  /**
   * How long a probe may go unanswered before it counts as admitted: twice the p90 of the recent
   * 429s' times, at least 50 ms; undefined when that is not well under the quickest answers.
   */
  admittedAfterMs(): number | undefined {
    if (!this.refusalMs.length || this.latencies.length < 8) return undefined;
    const p90 = percentile(Float64Array.from(this.refusalMs).sort(), 0.9);
    const after = Math.max(ADMITTED_AFTER_MS, 2 * p90);
    const p10 = percentile(Float64Array.from(this.latencies).sort(), 0.1);
    return after < 0.8 * p10 ? after : undefined;
  }

  /** In a 429 window: a probe every 125 ms for 2 s, then doubling to 1 s. */
  private nextBlockedProbe(now: number): void {
    const blocked = now - this.since;
    this.backoff = blocked < BLOCKED_FAST_MS ? BLOCKED_PROBE_MS : Math.min(BLOCKED_MAX_MS, Math.max(BLOCKED_PROBE_MS, this.backoff) * 2);
    this.probeAt = now + this.backoff;
  }

  private nextProbe(now: number, cap: number): void {
    this.backoff = Math.min(cap, this.backoff * 2);
    this.probeAt = now + this.backoff;
  }

  private reopen(now: number): void {
    const was = this.mode;
    this.mode = 'open';
    this.refusedRun = 0;
    if (was === 'down') {
      this.ramp = this.concurrency > 1 ? 1 : undefined;
      this.note(now, `the relay answers again after ${secs(now - this.since)}: ramping back`);
    } else {
      // It admitted a request: what it asked before (Retry-After) is over.
      this.pauseUntil = Math.min(this.pauseUntil, now);
      this.exactUntil = Math.min(this.exactUntil, now);
      this.note(now, `the relay admits requests again after ${secs(now - this.since)}`);
    }
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    let i = 0;
    while (i < this.recent.length && (this.recent[i] as Ticket).startedAt < from) i++;
    if (i > 0) this.recent.splice(0, i);
  }

  private note(at: number, text: string): void {
    this.changes.push({ at, text });
  }

  private goneText(): string {
    return `the relay has been down for more than ${secs(this.downLimitMs)} (last: ${this.downReason})`;
  }
}

function secs(ms: number): string {
  const s = ms / 1000;
  return s >= 10 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
}
