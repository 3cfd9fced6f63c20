// One HTTP exchange, carried by undici or by node:http. Everything else about a request (timeouts,
// redirects, retries, size caps, error wording) lives once, in client.ts, above this.
//
// Why two: loading undici costs a single call more than the rest of the run together (≈60 ms of
// its own and of the node built-ins it pulls in: http2, tls, worker_threads, Node's internal
// fetch). A describe makes one request, so it goes through node:http, already part of node. A
// batch (its keep-alive pool, connections per origin), a test's dispatcher, and any proxy
// (EnvHttpProxyAgent: HTTP(S)_PROXY, NO_PROXY) go through undici. The client's tests run every case
// against both, so they stay the same in what a user sees.
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

/** node:http(s), one connection per request (as undici's pool would open for a single call). */
export const nodeHttpTransport: Transport = async (url, req) => {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== null) headers['content-length'] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const r = request(url, { method: req.method, headers, signal: req.signal, agent: false }, (res) => {
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

/** The variables EnvHttpProxyAgent reads: with none set, it connects directly, as node:http does. */
export function proxyConfigured(env: Record<string, string | undefined>): boolean {
  return ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'].some((k) => !!env[k]);
}
