// undici, loaded once and only when something is sent or fetched through it (never for --help,
// --version or a single describe). Shared by the api layer and the image layer's downloads.
//
// Only what is used is loaded: the proxy-aware agent and the request API. undici's index loads all
// of undici (fetch, WebSocket, EventSource, mocks, cache stores, cookies), and its cookies read
// globalThis.Headers, which loads Node's own copy of undici as well: about 40 ms of every batch's
// start, for nothing a batch uses. undici has no `exports` map, so these are its files; should a
// later undici lay them out otherwise, its index is loaded instead (slower, never wrong).
import type { Dispatcher, EnvHttpProxyAgent } from 'undici';

export interface Undici {
  EnvHttpProxyAgent: typeof EnvHttpProxyAgent;
  /** undici's `request(url, { dispatcher, … })`. */
  request(
    url: URL,
    opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher },
  ): Promise<Dispatcher.ResponseData>;
}

type ApiRequest = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/** Loads a module (import() by default; a test passes its own). */
export type Importer = (specifier: string) => Promise<{ default: unknown }>;

/** The parts of undici used here, from its files, else from its index. */
export async function undiciParts(importer: Importer): Promise<Undici> {
  try {
    const [agent, dispatcher, api] = await Promise.all([
      importer('undici/lib/dispatcher/env-http-proxy-agent.js'),
      importer('undici/lib/dispatcher/dispatcher.js'),
      importer('undici/lib/api/index.js'),
    ]);
    const apiFns = api.default as { request: ApiRequest };
    // What undici's index does first: request, connect … on every dispatcher (a proxy agent
    // connects to the proxy through its own client's connect).
    Object.assign((dispatcher.default as { prototype: object }).prototype, apiFns);
    return {
      EnvHttpProxyAgent: agent.default as typeof EnvHttpProxyAgent,
      // what undici's request(url, opts) does with a URL: origin and path from it
      request: (url, { dispatcher: through, ...opts }) =>
        apiFns.request.call(through, { ...opts, origin: url.origin, path: `${url.pathname}${url.search}` }),
    };
  } catch {
    const u = (await importer('undici')).default as typeof import('undici');
    return { EnvHttpProxyAgent: u.EnvHttpProxyAgent, request: (url, opts) => u.request(url, opts) };
  }
}

let undici: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  undici ??= import('node:v8').then(({ setFlagsFromString }) => {
    // undici parses HTTP with a WebAssembly build of llhttp, which V8 compiles twice, the second
    // time with its optimising tier (≈60 ms of CPU on 2 cores) for code a run uses for a few
    // kilobytes; the baseline compiler alone is plenty. Set before undici compiles it.
    setFlagsFromString('--liftoff-only');
    // each specifier written out, so that the bundler finds them; .default: a CommonJS module
    // exposes only its default export to import()
    return undiciParts((specifier) => {
      switch (specifier) {
        case 'undici/lib/dispatcher/env-http-proxy-agent.js':
          return import('undici/lib/dispatcher/env-http-proxy-agent.js');
        case 'undici/lib/dispatcher/dispatcher.js':
          return import('undici/lib/dispatcher/dispatcher.js');
        case 'undici/lib/api/index.js':
          return import('undici/lib/api/index.js');
        default:
          return import('undici');
      }
    });
  });
  return undici;
}
