// Retry policy as small pure functions, after openai-node's client (shouldRetry / calculateDefaultRetryTimeoutMillis).
import { APIConnectionError, APIError, APITimeoutError, isModelNotFound } from './errors.ts';
import { networkWords } from '../net/words.ts';
import type { CliError } from '../types.ts';

export interface RetryCandidate {
  status?: number | undefined;
  headers?: Record<string, string> | undefined;
  /** Reset, refused, DNS failure, socket closed mid-body. */
  connectionError?: boolean | undefined;
  timeout?: boolean | undefined;
  /** The error came in the body of a 2xx answer (Gemini's "No candidates returned" with code 500). */
  bodyError?: { type: string | null; code: string | null; serverMessage: string } | undefined;
  /** The relay has no such model (even a 503 "无可用渠道"): asking again cannot help. */
  modelNotFound?: boolean | undefined;
  /** The model is known to take no images (takesNoImages): its error will not change, bar a rate limit. */
  noImages?: boolean | undefined;
}

// What a relay says when asking again later can help: overload and rate limits, in English and Chinese
// (one-api controller/relay.go "当前分组上游负载已饱和，请稍后再试").
const TRANSIENT = /overload|rate.?limit|too.?many|capacity|busy|饱和|繁忙|限流|稍后再试/i;

/**
 * Headers win (`x-should-retry`), then connection errors and timeouts, then an error in a 2xx body
 * (only when it says overload or rate limit: a blocked prompt stays blocked), then the status.
 * 504 and 524 are not retried: the upstream may already be working on (and billing) the request.
 */
export function shouldRetry(e: RetryCandidate): boolean {
  const hint = e.headers?.['x-should-retry'];
  if (hint === 'true') return true;
  if (hint === 'false') return false;
  if (e.connectionError || e.timeout) return true;
  if (e.modelNotFound) return false;
  if (e.noImages && e.status !== 429) return false;
  if (e.bodyError) {
    const b = e.bodyError;
    return TRANSIENT.test(`${b.type ?? ''} ${b.code ?? ''} ${b.serverMessage}`) || e.status === 429 || e.status === 529;
  }
  const s = e.status;
  if (s === undefined) return false;
  if (s === 408 || s === 409 || s === 429) return true;
  if (s === 504 || s === 524) return false;
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

// ---- classify and decide: what an attempt's failure is, and what to do about it -------------------

/** How one attempt failed, classified. `retry` is shouldRetry's verdict on it. */
export interface Failure {
  error: CliError;
  retry: boolean;
  status?: number | undefined;
  headers?: Record<string, string> | undefined;
  /** Short, for retry notes: `HTTP 429`, `ECONNRESET`, `timed out after 300 s`. */
  reason: string;
  timeout?: boolean | undefined;
  /** The relay is not there (502/503/504, refused, reset before an answer): in a batch, the gate waits it out. */
  outage?: boolean | undefined;
}

// Gateways saying the relay behind them is not there; Cloudflare's 521-523 say the same. 524 is a
// slow answer, not an outage.
const OUTAGE_STATUS = new Set([502, 503, 504, 521, 522, 523]);
// Connection failures that mean nobody is listening (yet): the relay is restarting or unreachable.
const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'UND_ERR_SOCKET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'EPIPE',
]);

/**
 * The rate-limit headers of an answer, as requests per minute: OpenAI's
 * `x-ratelimit-{limit,remaining,reset}-requests` (reset as `1s`, `6m0s`, `20ms`) and Anthropic's
 * `anthropic-ratelimit-requests-{limit,remaining,reset}` (reset as an RFC 3339 time).
 * Relays (one-api, new-api) send none on errors; undefined when there are none.
 */
export function rateHints(
  headers: Record<string, string> | undefined,
  now: number = Date.now(),
): { limit?: number; remaining?: number; resetMs?: number } | undefined {
  if (!headers) return undefined;
  const num = (v: string | undefined) => {
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const out: { limit?: number; remaining?: number; resetMs?: number } = {};
  const limit = num(headers['x-ratelimit-limit-requests'] ?? headers['anthropic-ratelimit-requests-limit']);
  const remaining = num(headers['x-ratelimit-remaining-requests'] ?? headers['anthropic-ratelimit-requests-remaining']);
  const reset = headers['x-ratelimit-reset-requests'];
  const resetAt = headers['anthropic-ratelimit-requests-reset'];
  let resetMs: number | undefined;
  if (reset !== undefined) resetMs = goDuration(reset);
  else if (resetAt !== undefined) {
    const at = Date.parse(resetAt);
    if (!Number.isNaN(at)) resetMs = Math.max(0, at - now);
  }
  if (limit !== undefined) out.limit = limit;
  if (remaining !== undefined) out.remaining = remaining;
  if (resetMs !== undefined) out.resetMs = resetMs;
  return Object.keys(out).length ? out : undefined;
}

/** `6m0s`, `1.5s`, `20ms` → ms; undefined for anything else. */
export function goDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  const text = s.trim();
  if (!/^(\d+(?:\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    ms += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
  }
  return ms;
}

/** 300000 → "300 s", 1500 → "1.5 s". */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(1))} s`;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
// A certificate problem does not go away by asking again.
const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH|ALTNAME|^EPROTO$/;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL']);

export interface NetworkFacts {
  /** The system or undici error code, when there is one. */
  code: string | undefined;
  message: string;
  /** Our own per-attempt timer fired. */
  timedOut: boolean;
  /** Response headers had arrived (the failure came while reading the body). */
  responded: boolean;
  /** `host:port` */
  where: string;
  timeoutMs: number;
  cause?: unknown;
}

/** The messages of an error and its causes: OpenSSL's reason is often a cause's. */
function messageChain(e: unknown): string {
  const out: string[] = [];
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 4; depth++, cur = cur.cause) out.push(cur.message);
  return out.join('; ');
}

/** A failure without an HTTP answer: timeout, TLS, refused, reset. */
export function classifyNetworkError(f: NetworkFacts): Failure {
  const { code, where } = f;
  if (f.timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    const reason = `timed out after ${seconds(f.timeoutMs)}`;
    return { error: new APITimeoutError(reason, { cause: f.cause }), retry: shouldRetry({ timeout: true }), timeout: true, reason };
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    const hint = 'check the base URL, or the proxy and its certificates';
    const words = networkWords(code, messageChain(f.cause) || f.message);
    return {
      error: new APIConnectionError(`TLS error connecting to ${where}: ${words === code ? code : `${words}, ${code}`}`, {
        code,
        cause: f.cause,
        hint,
      }),
      retry: false,
      reason: code,
    };
  }
  const detail = code === undefined ? f.message : networkWords(code);
  const connecting = !f.responded && (code === undefined || CONNECT_CODES.has(code));
  const message = connecting
    ? `could not connect to ${where}: ${detail}`
    : f.responded
      ? `connection to ${where} failed while reading the response: ${detail}`
      : `connection to ${where} closed before a response: ${detail}`;
  return {
    error: new APIConnectionError(message, {
      code: code ?? null,
      cause: f.cause,
      hint: connecting ? 'check the host and port of the base URL, and the network or proxy' : undefined,
    }),
    retry: shouldRetry({ connectionError: true }),
    reason: detail,
    outage: !f.responded && code !== undefined && OUTAGE_CODES.has(code),
  };
}

/** An HTTP answer that is an error (a non-2xx status, or a 2xx with an error body). */
export function classifyResponseError(error: APIError, status: number, headers: Record<string, string>, noImages = false): Failure {
  const s = error.status ?? status;
  const bodyError = status >= 200 && status < 300 ? error : undefined;
  const modelNotFound = isModelNotFound(error);
  return {
    error,
    retry: shouldRetry({ status: s, headers, bodyError, modelNotFound, noImages }),
    status: s,
    headers,
    reason: `HTTP ${s}`,
    outage: bodyError === undefined && !modelNotFound && !noImages && OUTAGE_STATUS.has(s),
  };
}

/** A redirect we do not follow: another origin (credentials would go along), or a second hop. */
export function classifyRedirect(status: number, headers: Record<string, string>, from: URL, to: URL, hops: number): Failure | undefined {
  const refuse = (message: string, hint: string): Failure => ({
    error: new APIError({ status, message, headers, hint }),
    retry: false,
    reason: `HTTP ${status}`,
  });
  if (to.origin !== from.origin)
    return refuse(`refusing to follow a redirect to ${to.origin} with credentials`, `if you trust ${to.origin}, use it as the base URL`);
  if (hops >= 1) return refuse(`too many redirects (last to ${to.pathname})`, 'check the base URL');
  return undefined;
}

/** Where a request's retrying stands. */
export interface RetryState {
  /** Attempts made so far (≥ 1 when deciding). */
  attempts: number;
  /** Retries used up (waits on a 429 in a batch use none). */
  retriesUsed: number;
  /** 429 waits so far, and their total length. */
  rateLimitWaits: number;
  rateLimitWaitedMs: number;
  /** Attempts abandoned at the gate's learned timeout. */
  abandoned?: number | undefined;
}

export interface RetryPolicy {
  retries: number;
  /** In a batch (a shared rate gate): waiting on a 429 does not use up a retry. */
  freeRateLimitWaits: boolean;
  /** The most one request waits on 429s in total; also ends a relay that stays rate-limited this long. */
  maxRateLimitWaitMs: number;
  /** How long the relay has answered nothing but 429s (the batch's gate knows); 0 when unknown. */
  rateLimitedForMs: number;
  /**
   * A batch's gate paces the relay: it holds the next attempt after a 429 (as long as the relay
   * asks, or as its learned pace says) and through an outage, so neither waits here nor uses a retry.
   */
  gatePaces?: boolean | undefined;
  /** The attempt timed out at the gate's learned bound (not the user's --timeout): retried once. */
  learnedTimeout?: boolean | undefined;
}

/** Ten minutes: longer than any 429 window a relay means to end, short enough to finish a batch. */
export const MAX_RATE_LIMIT_WAIT_MS = 10 * 60_000;

export type RetryDecision = { do: 'fail'; error: CliError } | { do: 'retry'; delayMs: number; usesRetry: boolean; rateLimited: boolean };

/** Retry or give up, and how long to wait. Pure: `random` and `now` are passed in. */
export function decideRetry(
  f: Failure,
  state: RetryState,
  policy: RetryPolicy,
  random: () => number = Math.random,
  now: number = Date.now(),
): RetryDecision {
  const giveUp = (): RetryDecision => {
    if (!f.timeout) return { do: 'fail', error: f.error };
    const n = state.attempts;
    return { do: 'fail', error: new APITimeoutError(`${f.reason} (${n} attempt${n === 1 ? '' : 's'})`, { cause: f.error.cause }) };
  };
  if (!f.retry && !(policy.gatePaces && f.outage)) return giveUp();
  const rateLimited = f.status === 429;
  if (policy.gatePaces) {
    if (rateLimited) {
      if (policy.rateLimitedForMs > policy.maxRateLimitWaitMs) return giveUp();
      return { do: 'retry', delayMs: 0, usesRetry: false, rateLimited };
    }
    if (f.outage) return { do: 'retry', delayMs: 0, usesRetry: false, rateLimited };
    if (f.timeout && policy.learnedTimeout) {
      if ((state.abandoned ?? 0) >= 2) return giveUp();
      return { do: 'retry', delayMs: 0, usesRetry: false, rateLimited };
    }
  }
  if (rateLimited && policy.freeRateLimitWaits) {
    const delayMs = retryDelayMs(state.rateLimitWaits, f.headers, random, now);
    const cap = policy.maxRateLimitWaitMs;
    if (state.rateLimitWaitedMs + delayMs > cap || policy.rateLimitedForMs > cap) return giveUp();
    return { do: 'retry', delayMs, usesRetry: false, rateLimited };
  }
  if (state.retriesUsed >= Math.max(0, Math.floor(policy.retries))) return giveUp();
  return { do: 'retry', delayMs: retryDelayMs(state.retriesUsed, f.headers, random, now), usesRetry: true, rateLimited };
}
