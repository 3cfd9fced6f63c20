// Retry policy as small pure functions, after openai-node's client (shouldRetry / calculateDefaultRetryTimeoutMillis).

export interface RetryCandidate {
  status?: number | undefined;
  headers?: Record<string, string> | undefined;
  /** Reset, refused, DNS failure, socket closed mid-body. */
  connectionError?: boolean | undefined;
  timeout?: boolean | undefined;
}

/** Headers win (`x-should-retry`), then connection errors and timeouts, then the status. */
export function shouldRetry(e: RetryCandidate): boolean {
  const hint = e.headers?.['x-should-retry'];
  if (hint === 'true') return true;
  if (hint === 'false') return false;
  if (e.connectionError || e.timeout) return true;
  const s = e.status;
  if (s === undefined) return false;
  if (s === 408 || s === 409 || s === 429) return true;
  return s >= 500 && s <= 599; // includes Anthropic's 529 "overloaded"
}

export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
/** A server may ask for a longer wait than our own backoff, but not for longer than this. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** The delay a server asks for, in ms, or undefined when it asks for none we understand. */
export function retryAfterMs(headers: Record<string, string> | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = headers['retry-after']?.trim();
  if (after) {
    if (/^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) {
      const d = date - now;
      // A date in the past (clock skew) says "now": fall back to our own backoff instead of hammering.
      if (d >= 0) return d;
    }
  }
  return undefined;
}

/**
 * How long to wait before retry number `attempt` (0 = the first retry).
 * A server's `retry-after-ms` / `retry-after` (seconds or HTTP date) is honoured up to 60 s;
 * otherwise 0.5 s · 2^attempt capped at 8 s, minus up to 25 % jitter so workers spread out.
 */
export function retryDelayMs(
  attempt: number,
  headers: Record<string, string> | undefined,
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  const asked = retryAfterMs(headers, now);
  if (asked !== undefined) return Math.min(Math.ceil(asked), MAX_RETRY_AFTER_MS);
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** Math.max(0, attempt), MAX_RETRY_DELAY_MS);
  const jitter = 1 - Math.min(Math.max(random(), 0), 1) * 0.25;
  return Math.round(base * jitter);
}
