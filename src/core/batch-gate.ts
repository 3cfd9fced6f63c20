// The rate gate shared by the workers of a batch: every attempt takes a permit from it.
// A 429 pauses everyone (for the server's Retry-After or our backoff) and halves the permits;
// a run of successes gives one back. The clock is injectable so the policy is tested without waiting.
import { setTimeout as delay } from 'node:timers/promises';
import type { RateGate } from '../api/index.ts';
import { InterruptedError } from '../types.ts';
import { abortable } from './pipeline.ts';

export interface GateClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: GateClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal ? { signal } : {});
  },
};

export interface GateOptions {
  /** The most attempts in flight (-c). */
  max: number;
  /** Consecutive successes that give one permit back (default 8). */
  growAfter?: number;
  clock?: GateClock;
  /** Attempts started per second, at most (--max-rps): starts are spaced 1/rps apart. */
  maxRps?: number | undefined;
}

export class AdaptiveGate {
  readonly max: number;
  /** Attempts allowed in flight now: `max`, less after 429s. */
  limit: number;
  /** Attempts in flight now. */
  active = 0;
  /** Most attempts ever in flight at once (for tests and -v). */
  peak = 0;
  rateLimited = 0;
  /** The lowest the limit went. */
  lowest: number;
  private pausedUntil = 0;
  private streak = 0;
  /** When the relay started answering only 429s (since the last success), or undefined. */
  private limitedSince: number | undefined;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private readonly growAfter: number;
  private readonly clock: GateClock;
  private waiters: Array<() => void> = [];
  private readonly spacingMs: number;
  /** When the next attempt may start under --max-rps. */
  private nextStart = Number.NEGATIVE_INFINITY;

  constructor(opts: GateOptions) {
    this.max = Math.max(1, Math.floor(opts.max));
    this.limit = this.max;
    this.lowest = this.max;
    this.growAfter = Math.max(1, opts.growAfter ?? 8);
    this.clock = opts.clock ?? realClock;
    this.spacingMs = opts.maxRps !== undefined && opts.maxRps > 0 ? 1000 / opts.maxRps : 0;
  }

  /** Waits out any pause, then for a free permit. Resolves with the time the attempt starts. */
  async acquire(signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) throw new InterruptedError();
      const now = this.clock.now();
      if (now < this.pausedUntil) {
        try {
          await this.clock.sleep(this.pausedUntil - now, signal);
        } catch (err) {
          if (signal?.aborted) throw new InterruptedError();
          throw err;
        }
        continue;
      }
      if (this.active < this.limit) {
        this.active++;
        this.peak = Math.max(this.peak, this.active);
        return this.spacingMs > 0 ? this.spaced(now, signal) : now;
      }
      await this.nextRelease(signal);
    }
  }

  /** Holding a permit, waits for this attempt's turn under --max-rps; each attempt books the next turn. */
  private async spaced(now: number, signal?: AbortSignal): Promise<number> {
    const at = Math.max(now, this.nextStart);
    this.nextStart = at + this.spacingMs;
    if (at > now) {
      try {
        await this.clock.sleep(at - now, signal);
      } catch (err) {
        this.release();
        if (signal?.aborted) throw new InterruptedError();
        throw err;
      }
    }
    return this.clock.now();
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
    this.wake();
  }

  pause(ms: number): void {
    if (!(ms > 0)) return;
    const until = this.clock.now() + ms;
    if (until > this.pausedUntil) this.pausedUntil = until;
  }

  /** How long the relay has answered nothing but 429s, in ms (0 when it answered since). */
  rateLimitedFor(): number {
    return this.limitedSince === undefined ? 0 : this.clock.now() - this.limitedSince;
  }

  /** A pause in force right now, in ms (0 when none). */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.clock.now());
  }

  success(): void {
    this.limitedSince = undefined;
    this.streak++;
    if (this.streak >= this.growAfter && this.limit < this.max) {
      this.limit++;
      this.streak = 0;
      this.wake();
    }
  }

  /**
   * A 429 for an attempt that started at `startedAt`. Only attempts started after the last step down
   * count toward another one: a wave of 429s for requests already in flight halves the limit once.
   */
  rateLimit(startedAt: number): void {
    this.rateLimited++;
    this.streak = 0;
    this.limitedSince ??= this.clock.now();
    if (startedAt >= this.lastDecreaseAt) {
      this.limit = Math.max(1, Math.floor(this.limit / 2));
      this.lowest = Math.min(this.lowest, this.limit);
      this.lastDecreaseAt = this.clock.now();
    }
  }

  /**
   * The RateGate for one request (the API client calls it around each attempt): it holds at most
   * one permit, gives it back when the attempt ends, and `done()` returns it whatever happened.
   */
  forRequest(): RateGate & { done(): void } {
    let held = false;
    let startedAt = 0;
    const give = () => {
      if (held) {
        held = false;
        this.release();
      }
    };
    return {
      wait: async (signal?: AbortSignal) => {
        give(); // a retry: the previous attempt is over
        startedAt = await this.acquire(signal);
        held = true;
      },
      pause: (ms: number) => this.pause(ms),
      onSuccess: () => {
        this.success();
        give();
      },
      onRateLimited: () => {
        this.rateLimit(startedAt);
        give();
      },
      rateLimitedFor: () => this.rateLimitedFor(),
      done: give,
    };
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private nextRelease(signal?: AbortSignal): Promise<void> {
    return abortable<void>((settle) => this.waiters.push(() => settle()), signal);
  }
}
