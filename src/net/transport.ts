// The one HTTP client's lower half, shared by relay requests (api/client.ts) and image downloads
// (net/fetch.ts): how an exchange is carried (undici or node:http), which proxy it goes through,
// how a body is read under a cap, and what an error's code is. Timeouts and aborts ride on the
// request's signal. Everything about what a request means (retries, redirect rules, wording) lives
// in the caller. This folder imports no other layer: api and image both import it.
//
// Why two carriers: loading undici costs a single call more than the rest of the run together (≈60
// ms of its own and of the node built-ins it pulls in: http2, tls, worker_threads, Node's internal
// fetch). A describe makes one request, so it goes through node:http, already part of node. A
// batch (its keep-alive pool, connections per origin), a test's dispatcher, and any proxy
// (EnvHttpProxyAgent: HTTP(S)_PROXY, NO_PROXY) go through undici. The client's tests run every case
// against both, so they stay the same in what a user sees.
import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import { loadUndici } from '../undici.ts';

export interface ExchangeRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  /** Aborts connect, headers and body; the client classifies why. */
  signal: AbortSignal;
  timeoutMs: number;
}

export interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer> & { destroy(): void };
  /** Throws the rest of the body away (a redirect's). */
  discard(): Promise<void>;
}

export type Transport = (url: URL, req: ExchangeRequest) => Promise<Exchange>;

export function undiciTransport(dispatcher: Dispatcher): Transport {
  return async (url, req) => {
    const { request } = await loadUndici();
    const res = await request(url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher,
      signal: req.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body as Exchange['body'],
      discard: () => res.body.dump().then(() => undefined),
    };
  };
}

/**
 * node:http(s), one connection per request (as undici's pool would open for a single call).
 * `lookup` replaces the system resolver for the connection (the download's address check).
 */
export function nodeHttpTransport(lookup?: LookupFunction): Transport {
  return async (url, req) => {
    // Not `await import('node:http')`: on Node 22 and later an import of node:http evaluates every
    // export, and its WebSocket loads Node's own undici (about 20 ms of a plain describe's start).
    const { request } = url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== null) headers['content-length'] = Buffer.byteLength(req.body);
    return new Promise((resolve, reject) => {
      const r = request(url, { method: req.method, headers, signal: req.signal, agent: false, ...(lookup ? { lookup } : {}) }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: res,
          discard: async () => void res.destroy(),
        });
      });
      r.on('error', reject);
      r.end(req.body ?? undefined);
    });
  };
}

/** The variables EnvHttpProxyAgent reads: with none set, it connects directly, as node:http does. */
export function proxyConfigured(env: Record<string, string | undefined>): boolean {
  return ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'].some((k) => !!env[k]);
}

const shared = new Map<string, Promise<Dispatcher>>();
const PROXY_VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];

/**
 * One keep-alive EnvHttpProxyAgent per process, pool size and resolver (honours HTTPS_PROXY /
 * HTTP_PROXY / NO_PROXY), so a batch reuses its connections. `connections` is the most per origin.
 * `lookup` (with `lookupKey` naming it for reuse) resolves the names of hosts it connects to
 * directly; a proxy resolves the names of what it forwards, and is itself connected to as usual.
 */
export function getDispatcher(opts?: { connections?: number; lookup?: LookupFunction; lookupKey?: string }): Promise<Dispatcher> {
  const connections = opts?.connections;
  // The proxy variables are part of the key: the agent reads them once, when it is made.
  const proxyEnv = PROXY_VARS.map((k) => process.env[k] ?? '').join('|');
  const key = `${connections ?? ''}/${opts?.lookup ? (opts.lookupKey ?? 'lookup') : ''}/${proxyEnv}`;
  let d = shared.get(key);
  if (!d) {
    d = loadUndici().then(
      ({ EnvHttpProxyAgent }) =>
        new EnvHttpProxyAgent({
          ...(connections !== undefined ? { connections } : {}),
          ...(opts?.lookup ? { connect: { lookup: opts.lookup } } : {}),
        }),
    );
    shared.set(key, d);
  }
  return d;
}

/**
 * How a request goes: through the caller's dispatcher, else undici's proxy agent when a proxy is set
 * (process.env: undici reads it there), else node:http. `lookup` applies to direct connections.
 */
export async function pickTransport(opts: {
  dispatcher?: Dispatcher | undefined;
  lookup?: LookupFunction;
  lookupKey?: string;
}): Promise<Transport> {
  if (opts.dispatcher) return undiciTransport(opts.dispatcher);
  if (proxyConfigured(process.env)) {
    return undiciTransport(await getDispatcher(opts.lookup ? { lookup: opts.lookup, lookupKey: opts.lookupKey ?? 'lookup' } : {}));
  }
  return nodeHttpTransport(opts.lookup);
}

/**
 * Reads a body whole, stopping as soon as it passes `max` bytes (or says it will, by its
 * Content-Length): then `tooLarge()` is thrown and the connection dropped.
 */
export async function readCapped(
  body: Exchange['body'],
  contentLength: string | string[] | undefined,
  max: number,
  tooLarge: () => Error,
  signal?: AbortSignal,
): Promise<Buffer> {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (contentLength !== undefined && Number.isFinite(declared) && declared > max) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (signal?.aborted) break;
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  // A body stopped by the signal: the caller's abort/timeout handling says why.
  signal?.throwIfAborted();
  return Buffer.concat(chunks, size);
}

/** The code of a network error (ECONNREFUSED, UND_ERR_…), looking through causes and AggregateErrors. */
export function errorCode(e: unknown): string | undefined {
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
