// Base-URL handling (docs/config.md, "Base URLs follow one rule"). Pure: no I/O, no undici.
import { UsageError } from '../types.ts';

export interface Endpoints {
  /** The API root, like an OpenAI SDK `baseURL` (no query): `https://h/v1`, `https://h/v1beta/openai`. */
  base: string;
  /** Where chat requests go: `{base}/chat/completions`, or the pasted endpoint exactly; query kept. */
  chat: string;
  /** The model list: `{base}/models`, the chat endpoint's sibling; query kept. */
  models: string;
  /** `https://h[:port]`; credentials are never sent to any other origin. */
  origin: string;
  /** The form to store in a profile: resolves to the same endpoints again. */
  stored: string;
}

// A last path segment that names an API version (`v1`, `v3` for Ark, `v4` for Zhipu, `v1beta` for Gemini).
const VERSION_SEGMENT = /^v\d+(?:(?:alpha|beta)\d*)?$/;
const CHAT = '/chat/completions';

function invalid(raw: string, why: string): UsageError {
  return new UsageError(`invalid base URL '${raw}': ${why}`, {
    hint: 'expected something like https://api.example.com or https://api.example.com/v1',
  });
}

/**
 * One rule for every form users paste:
 * - a path ending in `/chat/completions` is the endpoint itself, used exactly (models: its sibling
 *   `/models`): the escape hatch for any relay with an odd layout;
 * - a path ending in a version segment (`v1`, `v3`, `v4`, `v1beta`…) or in `/openai` is the API root
 *   as given (Gemini `…/v1beta/openai/`, DashScope `…/compatible-mode/v1`, Zhipu `…/api/paas/v4`);
 * - anything else (a bare host, a relay under a path prefix) gets `/v1` appended.
 * A pasted `…/models` is the model list's URL: its folder is the root. The query string
 * (`?api-version=…`) is kept on every request; a fragment is dropped.
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

  const query = url.search; // '' or '?…'
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(CHAT)) {
    const base = url.origin + path.slice(0, -CHAT.length);
    const chat = url.origin + path + query;
    return { base, chat, models: `${base}/models${query}`, origin: url.origin, stored: chat };
  }
  if (path.endsWith('/models')) path = path.slice(0, -'/models'.length).replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!VERSION_SEGMENT.test(last) && last !== 'openai') path += '/v1';
  const base = url.origin + path;
  return { base, chat: `${base}${CHAT}${query}`, models: `${base}/models${query}`, origin: url.origin, stored: base + query };
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
