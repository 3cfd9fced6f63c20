// The HTTP client: one JSON request per attempt, retries, a shared rate gate. The exchange itself
// goes through undici or node:http (transport.ts); undici is loaded only when it is used.
import { setTimeout as wait } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { errorCode, pickTransport, readCapped as readBody, type Exchange } from '../net/transport.ts';
import { CliError, InterruptedError, abortable, timeoutSignal as newTimeoutSignal } from '../types.ts';
import { APIError, InvalidResponseError, findRequestId } from './errors.ts';
import { takesNoImages } from './families.ts';
import { parseJsonBody, errorFromResponse } from './response.ts';
import {
  MAX_RATE_LIMIT_WAIT_MS,
  classifyNetworkError,
  classifyRedirect,
  classifyResponseError,
  decideRetry,
  retryAfterMs,
  type Failure,
  type RetryState,
} from './retry.ts';
import { assembleStream, isEventStream } from './sse.ts';
import { resolveEndpoints } from './url.ts';

/** How an attempt ended, told to the gate. */
export type GateOutcome =
  | { kind: 'ok'; latencyMs: number; headers: Record<string, string> }
  | { kind: 'limited'; retryAfterMs: number | undefined; headers: Record<string, string> | undefined }
  /** 502/503/504, refused or reset before an answer. */
  | { kind: 'down'; reason: string }
  /** Any other answer: the relay is there. */
  | { kind: 'answered' }
  /** Timed out, or no answer for another reason. */
  | { kind: 'abandoned' };

/**
 * Shared by the requests of a batch: every attempt waits for its turn, and says how it ended; the
 * gate paces the relay (429s, outages) for all of them.
 */
export interface RateGate {
  /** Throws a CliError when the batch must stop (the relay stayed down). */
  wait(signal?: AbortSignal): Promise<void>;
  settle(o: GateOutcome): void;
  /** How long the relay has answered nothing but 429s, in ms (0 when it is not rate limiting). */
  rateLimitedFor?(): number;
  /** The per-attempt timeout to use now (a bound learned from the batch), or undefined for the client's own. */
  timeoutMs?(): number | undefined;
}

export interface RetryEvent {
  /** The number of the attempt about to be made (2 = the first retry). */
  attempt: number;
  /** retries + 1 (waits on a 429 in a batch use no retry, so attempts may go beyond it) */
  maxAttempts: number;
  /** Which retry this is (1 = the first), 0 for a wait on a 429 that uses none. */
  retry: number;
  delayMs: number;
  /** Why the previous attempt failed: `HTTP 429`, `ECONNRESET`, `timed out after 300 s` ... */
  reason: string;
}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  /** Per attempt, covering connect, headers and the whole body. */
  timeoutMs: number;
  /** Retries after the first attempt (default 2). */
  retries: number;
  /** With a gate: the most one request waits on 429s in total (default 10 minutes). */
  maxRateLimitWaitMs?: number | undefined;
  /** The user's Ctrl-C: aborts at once, also during a retry wait, with InterruptedError. */
  signal?: AbortSignal | undefined;
  /** undici's pool to send through (batch); without one a single request goes through node:http, unless a proxy is set. */
  dispatcher?: Dispatcher | undefined;
  gate?: RateGate | undefined;
  onRetry?: ((e: RetryEvent) => void) | undefined;
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  /** For elapsedMs only; defaults to performance.now. */
  now?: (() => number) | undefined;
  /** Default 32 MiB. */
  maxResponseBytes?: number | undefined;
  /** `imgdesc/<version>` */
  userAgent?: string | undefined;
}

export interface ApiResult<T> {
  status: number;
  headers: Record<string, string>;
  requestId: string | null;
  /** The body exactly as received (decoded as UTF-8, BOM kept), for `--json`. */
  rawText: string;
  body: T;
  attempts: number;
  elapsedMs: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

// The relay's keep-alive pool (batch) is the same proxy-aware agent image downloads use.
export { getDispatcher } from '../net/transport.ts';

export function createChatCompletion(body: Record<string, unknown>, opts: ClientOptions): Promise<ApiResult<unknown>> {
  return send(
    'POST',
    resolveEndpoints(opts.baseUrl).chat,
    JSON.stringify(body),
    opts,
    body.stream === true ? 'text/event-stream' : 'application/json',
    typeof body.model === 'string' && takesNoImages(body.model) !== undefined,
  );
}

export function listModels(opts: ClientOptions): Promise<ApiResult<unknown>> {
  return send('GET', resolveEndpoints(opts.baseUrl).models, undefined, opts);
}

/** GET any URL of the relay (doctor: model lists of other base-URL forms, quota endpoints). */
export function getJson(url: string, opts: ClientOptions): Promise<ApiResult<unknown>> {
  return send('GET', url, undefined, opts);
}

// ---------------------------------------------------------------------------------------------

function interrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await wait(ms, undefined, signal ? { signal } : {});
}

function sizeLabel(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

async function readCapped(body: Exchange['body'], contentLength: string | undefined, max: number): Promise<string> {
  const bytes = await readBody(body, contentLength, max, () => new InvalidResponseError(`response larger than ${sizeLabel(max)}`));
  // ignoreBOM: keep a BOM so `--json` prints the body byte for byte; parsing strips it.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

interface Response {
  status: number;
  headers: Record<string, string>;
  text: string;
  url: string;
}

async function send(
  method: 'GET' | 'POST',
  url: string,
  payload: string | undefined,
  opts: ClientOptions,
  accept = 'application/json',
  /** The request's model takes no images: an error answer is final (see shouldRetry). */
  noImages = false,
): Promise<ApiResult<unknown>> {
  const { signal, gate } = opts;
  const now = opts.now ?? (() => performance.now());
  const started = now();
  interrupted(signal);
  const transport = await pickTransport({ dispatcher: opts.dispatcher });
  const sleep = opts.sleep ?? defaultSleep;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const origin = new URL(url);
  const headers: Record<string, string> = {
    authorization: `Bearer ${opts.token}`,
    accept,
    'user-agent': opts.userAgent ?? 'imgdesc',
  };
  if (payload !== undefined) headers['content-type'] = 'application/json';

  /** One attempt, following at most one same-origin redirect: the response, or how it failed. */
  const attemptOnce = async (timeoutMs: number): Promise<Response | Failure> => {
    const timeoutSignal = newTimeoutSignal(timeoutMs);
    const attemptSignal = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal;
    let target = origin;
    let responded = false;
    try {
      for (let hops = 0; ; hops++) {
        responded = false;
        const res = await transport(target, { method, headers, body: payload ?? null, signal: attemptSignal, timeoutMs });
        responded = true;
        const resHeaders = normalizeHeaders(res.headers);
        const location = resHeaders['location'];
        if (res.status >= 300 && res.status < 400 && res.status !== 304 && location !== undefined) {
          await res.discard().catch(() => undefined);
          const next = new URL(location, target);
          const refused = classifyRedirect(res.status, resHeaders, origin, next, hops);
          if (refused) return refused;
          target = next;
          continue;
        }
        const text = await readCapped(res.body, resHeaders['content-length'], maxBytes);
        return { status: res.status, headers: resHeaders, text, url: target.href };
      }
    } catch (e) {
      if (signal?.aborted) throw new InterruptedError();
      if (e instanceof CliError) throw e; // a body over the size cap
      return classifyNetworkError({
        code: errorCode(e),
        message: e instanceof Error ? e.message : String(e),
        timedOut: timeoutSignal.aborted,
        responded,
        where: hostPort(target),
        timeoutMs,
        cause: e,
      });
    }
  };

  /** The answer of a response, or its failure when it is an error (status or error body). */
  const readResponse = (res: Response): ApiResult<unknown> | Failure => {
    const requestId = findRequestId(res.headers);
    const ctx = { headers: res.headers, token: opts.token, url: res.url };
    try {
      // A stream (asked for with --stream, or sent anyway) is assembled into one chat.completion;
      // --json then prints that assembled object.
      const ok = res.status >= 200 && res.status < 300;
      const text = ok && isEventStream(res.headers['content-type'], res.text) ? JSON.stringify(assembleStream(res.text)) : res.text;
      const body = ok
        ? parseJsonBody(res.status, text === res.text ? res.headers['content-type'] : 'application/json', text, requestId ?? undefined, ctx)
        : (() => {
            throw errorFromResponse(res.status, res.headers['content-type'], res.text, requestId, ctx);
          })();
      return { status: res.status, headers: res.headers, requestId, rawText: text, body, attempts: 0, elapsedMs: 0 };
    } catch (e) {
      if (e instanceof APIError) return classifyResponseError(e, res.status, res.headers, noImages);
      throw e; // InvalidResponseError of a 2xx: not retried
    }
  };

  const policy = {
    retries: opts.retries,
    freeRateLimitWaits: gate !== undefined,
    maxRateLimitWaitMs: opts.maxRateLimitWaitMs ?? MAX_RATE_LIMIT_WAIT_MS,
    gatePaces: gate !== undefined,
  };
  const state: RetryState = { attempts: 0, retriesUsed: 0, rateLimitWaits: 0, rateLimitWaitedMs: 0, abandoned: 0 };
  for (;;) {
    interrupted(signal);
    if (gate) await abortable<void>((settle, fail) => void gate.wait(signal).then(settle, fail), signal);
    state.attempts++;
    const learned = gate?.timeoutMs?.();
    const attemptStarted = now();
    const res = await attemptOnce(learned ?? opts.timeoutMs);
    const outcome = 'error' in res ? res : readResponse(res);
    if (!('error' in outcome)) {
      gate?.settle({ kind: 'ok', latencyMs: now() - attemptStarted, headers: outcome.headers });
      return { ...outcome, attempts: state.attempts, elapsedMs: now() - started };
    }
    gate?.settle(gateOutcome(outcome));
    const learnedTimeout = learned !== undefined && outcome.timeout === true;
    if (learnedTimeout) state.abandoned = (state.abandoned ?? 0) + 1;
    const d = decideRetry(outcome, state, { ...policy, rateLimitedForMs: gate?.rateLimitedFor?.() ?? 0, learnedTimeout }, opts.random);
    if (d.do === 'fail') throw d.error;
    if (d.usesRetry) state.retriesUsed++;
    if (d.rateLimited) {
      state.rateLimitWaits++;
      state.rateLimitWaitedMs += d.delayMs;
    }
    opts.onRetry?.({
      attempt: state.attempts + 1,
      maxAttempts: policy.retries + 1,
      retry: d.usesRetry ? state.retriesUsed : 0,
      delayMs: d.delayMs,
      reason: outcome.reason,
    });
    if (d.delayMs > 0) await abortable<void>((settle, fail) => void sleep(d.delayMs, signal).then(settle, fail), signal);
  }
}

/** A failed attempt, as the gate sees it. */
function gateOutcome(f: Failure): GateOutcome {
  if (f.status === 429) return { kind: 'limited', retryAfterMs: retryAfterMs(f.headers), headers: f.headers };
  if (f.outage) return { kind: 'down', reason: f.reason };
  if (f.timeout || f.status === undefined) return { kind: 'abandoned' };
  return { kind: 'answered' };
}
