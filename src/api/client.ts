// The HTTP client: one JSON request per attempt with undici, retries, a shared rate gate.
// undici is loaded inside the functions (`await import('undici')`) so `imgdesc --help` never pays for it.
import { setTimeout as wait } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { CliError, InterruptedError, timeoutSignal as newTimeoutSignal } from '../types.ts';
import { APIConnectionError, APIError, APITimeoutError, InvalidResponseError, findRequestId } from './errors.ts';
import { parseJsonBody, errorFromResponse } from './response.ts';
import { retryDelayMs, shouldRetry } from './retry.ts';
import { resolveEndpoints } from './url.ts';

/** Shared by the workers of a batch: every attempt waits on it; a 429 pauses all of them. */
export interface RateGate {
  wait(signal?: AbortSignal): Promise<void>;
  pause(ms: number): void;
  onSuccess?(): void;
  onRateLimited?(): void;
}

export interface RetryEvent {
  /** The number of the attempt about to be made (2 = the first retry). */
  attempt: number;
  /** retries + 1 */
  maxAttempts: number;
  delayMs: number;
  /** Why the previous attempt failed: `HTTP 429`, `ECONNRESET`, `timed out after 300 s` ... */
  reason: string;
}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  /** Per attempt, covering connect, headers and the whole body. */
  timeoutMs: number;
  /** Retries after the first attempt (DESIGN default 2). */
  retries: number;
  /** The user's Ctrl-C: aborts at once, also during a retry wait, with InterruptedError. */
  signal?: AbortSignal | undefined;
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

const shared = new Map<number | undefined, Promise<Dispatcher>>();

/**
 * One keep-alive EnvHttpProxyAgent per process and pool size (honours HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY), so a batch reuses its connections. `connections` is the most per origin.
 */
export function getDispatcher(opts?: { connections?: number }): Promise<Dispatcher> {
  const connections = opts?.connections;
  let d = shared.get(connections);
  if (!d) {
    // .default: the bundled CommonJS module exposes only its default export to import()
    d = import('undici').then(({ default: { EnvHttpProxyAgent } }) => new EnvHttpProxyAgent(connections !== undefined ? { connections } : {}));
    shared.set(connections, d);
  }
  return d;
}

export function createChatCompletion(body: Record<string, unknown>, opts: ClientOptions): Promise<ApiResult<unknown>> {
  return send('POST', resolveEndpoints(opts.baseUrl).chat, JSON.stringify(body), opts);
}

export function listModels(opts: ClientOptions): Promise<ApiResult<unknown>> {
  return send('GET', resolveEndpoints(opts.baseUrl).models, undefined, opts);
}

// ---------------------------------------------------------------------------------------------

interface Failure {
  error: CliError;
  retry: boolean;
  status?: number | undefined;
  headers?: Record<string, string> | undefined;
  reason: string;
  timeout?: boolean;
}

/** Carries a Failure out of an attempt; never leaves this module. */
class AttemptFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

function interrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/** Settles with `p`, or rejects with InterruptedError as soon as the signal aborts. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new InterruptedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(new InterruptedError());
        else resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? new InterruptedError() : e);
      },
    );
  });
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await wait(ms, undefined, signal ? { signal } : {});
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(1))} s`;
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

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
// A certificate problem does not go away by asking again.
const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH|ALTNAME|^EPROTO$/;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL']);

function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') return c;
    // AggregateError (happy eyeballs: every address refused)
    const errs = (cur as { errors?: unknown }).errors;
    if (Array.isArray(errs) && errs.length) cur = errs[0];
    else cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

async function readCapped(body: Dispatcher.ResponseData['body'], contentLength: string | undefined, max: number): Promise<string> {
  const tooLarge = () => new InvalidResponseError(`response larger than ${sizeLabel(max)}`);
  if (contentLength !== undefined && Number(contentLength) > max) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  // ignoreBOM: keep a BOM so `--json` prints the body byte for byte; parsing strips it.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Buffer.concat(chunks, size));
}

interface Response {
  status: number;
  headers: Record<string, string>;
  text: string;
  url: string;
}

async function send(method: 'GET' | 'POST', url: string, payload: string | undefined, opts: ClientOptions): Promise<ApiResult<unknown>> {
  const { signal, gate } = opts;
  const now = opts.now ?? (() => performance.now());
  const started = now();
  interrupted(signal);
  // .default: the bundled CommonJS module exposes only its default export to import()
  const { request } = (await import('undici')).default;
  const dispatcher = opts.dispatcher ?? (await getDispatcher());
  const sleep = opts.sleep ?? defaultSleep;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxAttempts = Math.max(0, Math.floor(opts.retries)) + 1;
  const origin = new URL(url).origin;
  const headers: Record<string, string> = {
    authorization: `Bearer ${opts.token}`,
    accept: 'application/json',
    'user-agent': opts.userAgent ?? 'imgdesc',
  };
  if (payload !== undefined) headers['content-type'] = 'application/json';

  /** One attempt, following at most one same-origin redirect. Throws a Failure. */
  const attemptOnce = async (): Promise<Response> => {
    const timeoutSignal = newTimeoutSignal(opts.timeoutMs);
    const attemptSignal = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal;
    let target = new URL(url);
    let responded = false;
    try {
      for (let redirects = 0; ; redirects++) {
        responded = false;
        const res = await request(target, {
          method,
          headers,
          body: payload ?? null,
          dispatcher,
          signal: attemptSignal,
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
        });
        responded = true;
        const resHeaders = normalizeHeaders(res.headers);
        const location = resHeaders['location'];
        if (res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304 && location !== undefined) {
          await res.body.dump().catch(() => undefined);
          const next = new URL(location, target);
          const refuse = (message: string, hint: string): never => {
            throw new AttemptFailed({ error: new APIError({ status: res.statusCode, message, headers: resHeaders, hint }), retry: false, reason: `HTTP ${res.statusCode}` });
          };
          if (next.origin !== origin) {
            refuse(
              `refusing to follow a redirect to ${next.origin} with credentials`,
              `if you trust ${next.origin}, use it as the base URL`,
            );
          }
          if (redirects >= 1) refuse(`too many redirects (last to ${next.pathname})`, 'check the base URL');
          target = next;
          continue;
        }
        const text = await readCapped(res.body, resHeaders['content-length'], maxBytes);
        return { status: res.statusCode, headers: resHeaders, text, url: target.href };
      }
    } catch (e) {
      if (signal?.aborted) throw new InterruptedError();
      if (e instanceof CliError || e instanceof AttemptFailed) throw e;
      const code = errorCode(e);
      const where = hostPort(target);
      if (timeoutSignal.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
        const reason = `timed out after ${seconds(opts.timeoutMs)}`;
        throw new AttemptFailed({ error: new APITimeoutError(reason, { cause: e }), retry: true, timeout: true, reason });
      }
      // undici's own code for a socket the other side closed says nothing to a user
      const detail = code === 'UND_ERR_SOCKET' ? 'the server closed the connection' : (code ?? (e instanceof Error ? e.message : String(e)));
      if (code !== undefined && TLS_CODE.test(code)) {
        throw new AttemptFailed({
          error: new APIConnectionError(`TLS error connecting to ${where}: ${code}`, { code, cause: e, hint: 'check the base URL, or the proxy and its certificates' }),
          retry: false,
          reason: code,
        });
      }
      const msg =
        !responded && (code === undefined || CONNECT_CODES.has(code))
          ? `could not connect to ${where}: ${detail}`
          : responded
            ? `connection to ${where} failed while reading the response: ${detail}`
            : `connection to ${where} closed before a response: ${detail}`;
      const retry = shouldRetry({ connectionError: true });
      throw new AttemptFailed({ error: new APIConnectionError(msg, { code: code ?? null, cause: e }), retry, reason: detail });
    }
  };

  for (let attempt = 1; ; attempt++) {
    interrupted(signal);
    if (gate) await raceAbort(gate.wait(signal), signal);
    let failure: Failure;
    try {
      const res = await attemptOnce();
      const requestId = findRequestId(res.headers);
      const ctx = { headers: res.headers, token: opts.token, url: res.url };
      try {
        const body = res.status >= 200 && res.status < 300
          ? parseJsonBody(res.status, res.headers['content-type'], res.text, requestId ?? undefined, ctx)
          : (() => { throw errorFromResponse(res.status, res.headers['content-type'], res.text, requestId, ctx); })();
        gate?.onSuccess?.();
        return { status: res.status, headers: res.headers, requestId, rawText: res.text, body, attempts: attempt, elapsedMs: now() - started };
      } catch (e) {
        if (e instanceof APIError) {
          failure = { error: e, retry: shouldRetry({ status: e.status, headers: res.headers }), status: e.status, headers: res.headers, reason: `HTTP ${e.status ?? res.status}` };
        } else throw e;
      }
    } catch (e) {
      if (!(e instanceof AttemptFailed)) throw e; // InterruptedError, InvalidResponseError of a 2xx
      failure = e.failure;
    }

    if (!failure.retry || attempt >= maxAttempts) {
      if (failure.timeout) {
        throw new APITimeoutError(
          `timed out after ${seconds(opts.timeoutMs)} (${attempt} attempt${attempt === 1 ? '' : 's'})`,
          { cause: failure.error.cause },
        );
      }
      throw failure.error;
    }
    const delayMs = retryDelayMs(attempt - 1, failure.headers, opts.random);
    if (failure.status === 429 && gate) {
      gate.onRateLimited?.();
      gate.pause(delayMs);
    }
    opts.onRetry?.({ attempt: attempt + 1, maxAttempts, delayMs, reason: failure.reason });
    await raceAbort(sleep(delayMs, signal), signal);
  }
}
