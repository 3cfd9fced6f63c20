// Base-URL handling (DESIGN.md §1 "Base URL forms"). Pure: no I/O, no undici.
import { UsageError } from '../types.ts';

export interface Endpoints {
  /** The versioned API root, like an OpenAI SDK `baseURL`: `https://h/v1`, `https://h/openai/v1`. */
  base: string;
  /** `{base}/chat/completions` */
  chat: string;
  /** `{base}/models` */
  models: string;
  /** `https://h[:port]`; credentials are never sent to any other origin. */
  origin: string;
}

// A last path segment that already names an API version (`v1`, `v4` for Zhipu, `v1beta`).
const VERSION_SEGMENT = /^v\d+(?:(?:alpha|beta)\d*)?$/;
// Endpoint suffixes users paste along with the base; dropped before looking for the version.
const ENDPOINT_SUFFIXES = ['/chat/completions', '/completions', '/models'];

function invalid(raw: string, why: string): UsageError {
  return new UsageError(`invalid base URL '${raw}': ${why}`, {
    hint: 'expected something like https://api.example.com or https://api.example.com/v1',
  });
}

/**
 * Turns any of the forms users paste (`https://h`, `https://h/`, `https://h/v1`,
 * `https://h/v1/chat/completions`, `https://h/openai/v1`, `https://h/openai`) into the endpoints.
 * Query strings and fragments are dropped: no relay of the OpenAI kind needs them, and keeping them
 * would put them in the middle of the path we append.
 */
export function resolveEndpoints(baseUrl: string): Endpoints {
  const raw = baseUrl.trim();
  if (raw === '') throw invalid(raw, 'it is empty');
  // `localhost:8080` parses as a URL with the scheme `localhost:`; say what is missing instead.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    const hint = /^[\w.-]+(:\d+)?(\/|$)/.test(raw) ? ' (add https:// in front)' : '';
    throw invalid(raw, `not an http(s) URL${hint}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(raw, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(raw, `only http and https are supported, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.hostname === '') throw invalid(raw, 'it has no host');
  if (url.username !== '' || url.password !== '') {
    // Do not echo it back: the user part may be a secret.
    throw new UsageError('invalid base URL: user name or password in the URL are not supported', {
      hint: 'store the token with: imgdesc config set token',
    });
  }

  let path = url.pathname.replace(/\/+$/, '');
  for (const suffix of ENDPOINT_SUFFIXES) {
    if (path.endsWith(suffix)) {
      path = path.slice(0, -suffix.length).replace(/\/+$/, '');
      break;
    }
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!VERSION_SEGMENT.test(last)) path += '/v1';

  const base = url.origin + path;
  return { base, chat: `${base}/chat/completions`, models: `${base}/models`, origin: url.origin };
}

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]', '0.0.0.0']);

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (LOOPBACK_NAMES.has(h) || h.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  // IPv4-mapped IPv6 loopback as the URL parser writes it: [::ffff:7f00:1]
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(h);
}

/** True for plain http:// to a host that is not this machine: the token would cross the network in clear text. */
export function isInsecureRemote(baseUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    return false;
  }
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
}
