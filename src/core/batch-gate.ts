// The gate every attempt of a batch (or `map`) passes: it carries out the pacer's decisions
// (pace.ts) with timers and a queue. Waiting attempts start in the order they asked; a decision
// is taken again whenever something is answered or the time the pacer named comes. The clock is
// injectable so the effects are tested without waiting.
import { rateHints, type GateOutcome, type RateGate } from '../api/index.ts';
import { CliError, ExitCode, InterruptedError } from '../types.ts';
import { Pacer, type Outcome, type PaceChange, type Ticket } from './pace.ts';

export interface GateClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  timer(ms: number, fn: () => void): () => void;
}

export const realClock: GateClock = {
  now: () => performance.now(),
  timer: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

export interface GateOptions {
  /** -c: the most attempts in flight. */
  max: number;
  /** --max-rps: attempts started per second, at most. */
  maxRps?: number | undefined;
  clock?: GateClock | undefined;
  /** How long the relay may be down before the batch stops (default 2 minutes). */
  downLimitMs?: number | undefined;
  /** The least the learned per-attempt timeout may be (default 60 s). */
  hungMinMs?: number | undefined;
  /**
   * The per-attempt timeout when the user gave none (the default): the gate shortens it to a bound
   * learned from this batch's latencies. Undefined: the user's --timeout is obeyed as given.
   */
  defaultTimeoutMs?: number | undefined;
  /** Each change of pace, with its cause (for -v). */
  onChange?: ((c: PaceChange) => void) | undefined;
}

/** The relay stayed down past the limit: the batch stops, exit 4, resumable. */
export class RelayDownError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.api, { hint: 'run the same command again to resume once the relay is back' });
    this.name = 'RelayDownError';
  }
}

interface Waiter {
  resolve(t: Ticket): void;
  reject(e: unknown): void;
}

export class BatchGate {
  readonly pacer: Pacer;
  private readonly clock: GateClock;
  private readonly defaultTimeoutMs: number | undefined;
  private readonly onChange: ((c: PaceChange) => void) | undefined;
  private queue: Waiter[] = [];
  private cancelTimer: (() => void) | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed: unknown;

  constructor(opts: GateOptions) {
    this.pacer = new Pacer({ maxConcurrency: opts.max, maxRps: opts.maxRps, downLimitMs: opts.downLimitMs, hungMinMs: opts.hungMinMs });
    this.clock = opts.clock ?? realClock;
    this.defaultTimeoutMs = opts.defaultTimeoutMs;
    this.onChange = opts.onChange;
  }

  get peak(): number {
    return this.pacer.peak;
  }
  get rateLimited(): number {
    return this.pacer.rateLimited;
  }
  get lowest(): number {
    return this.pacer.lowest;
  }
  get active(): number {
    return this.pacer.active;
  }

  /** Waits for this attempt's turn; rejects with InterruptedError on abort or close, RelayDownError when the relay is gone. */
  acquire(signal?: AbortSignal): Promise<Ticket> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(new InterruptedError());
    return new Promise<Ticket>((resolve, reject) => {
      const onAbort = () => {
        this.queue = this.queue.filter((w) => w !== waiter);
        reject(new InterruptedError());
      };
      const waiter: Waiter = {
        resolve: (t) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** The attempt of `t` ended. */
  settle(t: Ticket, o: Outcome): void {
    this.pacer.answer(t, o, this.clock.now());
    this.flushChanges();
    this.pump();
  }

  /** No more starts (the first Ctrl-C): every waiting and later attempt is rejected with `reason`. */
  close(reason: unknown = new InterruptedError()): void {
    this.closed ??= reason;
    for (const w of this.queue.splice(0)) w.reject(this.closed);
    this.cancelTimer?.();
  }

  /** How long the relay has answered nothing but 429s, in ms. */
  rateLimitedFor(): number {
    return this.pacer.refusingFor(this.clock.now());
  }

  /** The per-attempt timeout now: the learned bound, or undefined to use the user's own. */
  timeoutMs(): number | undefined {
    return this.defaultTimeoutMs === undefined ? undefined : this.pacer.hungAfterMs(this.defaultTimeoutMs);
  }

  /**
   * The RateGate of one request (the API client calls it around each attempt). `done()` gives back
   * an attempt the client did not settle (an exception, a stop).
   */
  forRequest(): RateGate & { done(): void } {
    let ticket: Ticket | undefined;
    const give = (o: Outcome) => {
      if (ticket) {
        const t = ticket;
        ticket = undefined;
        this.settle(t, o);
      }
    };
    return {
      wait: async (signal?: AbortSignal) => {
        give({ kind: 'abandoned' });
        ticket = await this.acquire(signal);
      },
      settle: (o: GateOutcome) => give(toOutcome(o)),
      rateLimitedFor: () => this.rateLimitedFor(),
      timeoutMs: () => this.timeoutMs(),
      done: () => give({ kind: 'abandoned' }),
    };
  }

  private pump(): void {
    if (!this.queue.length) {
      // Nothing waits: a timer left behind would only keep the process alive.
      this.cancelTimer?.();
      this.cancelTimer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    while (this.queue.length) {
      const now = this.clock.now();
      const d = this.pacer.decide(now);
      this.flushChanges();
      if ('gone' in d) {
        this.close(new RelayDownError(d.gone));
        return;
      }
      if (!d.go) {
        if (d.at !== undefined) this.wakeAt(d.at, now);
        return;
      }
      const t = this.pacer.start(now, d.probe);
      (this.queue.shift() as Waiter).resolve(t);
    }
  }

  private wakeAt(at: number, now: number): void {
    if (this.cancelTimer && at >= this.timerAt) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.clock.timer(at - now, () => {
      this.cancelTimer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }

  private flushChanges(): void {
    const c = this.pacer.changes;
    if (!c.length) return;
    for (const change of c.splice(0)) this.onChange?.(change);
  }
}

/** The client's account of an attempt, in the pacer's terms. */
export function toOutcome(o: GateOutcome): Outcome {
  switch (o.kind) {
    case 'ok':
      return { kind: 'ok', latencyMs: o.latencyMs, hints: rateHints(o.headers) };
    case 'limited':
      return {
        kind: 'limited',
        retryAfterMs: o.retryAfterMs,
        exact: o.headers?.['retry-after-ms'] !== undefined,
        hints: rateHints(o.headers),
      };
    case 'down':
      return { kind: 'down', reason: o.reason };
    case 'answered':
      return { kind: 'answered' };
    default:
      return { kind: 'abandoned' };
  }
}
