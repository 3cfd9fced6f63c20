// A GET of a URL the user (or a manifest, or a document) named, for its bytes: image downloads,
// and anything else that fetches on a user's behalf (mcp, alt). Through the same transport as relay
// requests (proxy, timeout, size cap, abort), with the address rule of address.ts on every hop:
// - the host as written (a literal address, or a name that is local whatever DNS says) before
//   anything is sent, also when a proxy will carry the request;
// - every address a name resolves to, inside the connection's own look-up, so the address that was
//   checked is the one connected to (no second look-up that could answer differently).
// Through a proxy only the first applies: the proxy resolves the names it forwards.
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { CliError, ExitCode, InterruptedError, UsageError, timeoutSignal } from '../types.ts';
import { addressRange, hostVerdict } from './address.ts';
import { errorCode, pickTransport, readCapped } from './transport.ts';
import { networkWords, statusLabel } from './words.ts';

/** How a refusal names its opt-in (the flag and the profile key share the name). */
export const ALLOW_PRIVATE_FLAG = '--allow-private-urls';

export interface AddressPolicy {
  /** --allow-private-urls: loopback, private, link-local … are fetched too. */
  allowPrivate: boolean;
  /**
   * Test-only: resolves names instead of the system resolver, so an end-to-end test can give a
   * name any answer without a DNS server. Never set by the program.
   */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  /** Test-only: addresses treated as public (a loopback test server standing for a public host). */
  treatAsPublic?: ReadonlySet<string>;
}

export interface FetchOptions {
  policy: AddressPolicy;
  /** Covers connect, headers and body of each hop; 0 = none. */
  timeoutMs: number;
  /** A body larger than this (declared or read) ends the fetch with `tooLarge()`. */
  maxBytes: number;
  tooLarge: () => Error;
  signal?: AbortSignal | undefined;
  /** Default 3. */
  maxRedirects?: number;
  accept?: string;
}

export interface Fetched {
  /** Where the bytes came from, after redirects. */
  url: URL;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
}

/** A URL whose host the address rule refuses: nothing was sent to it. Exit 2 (it is the user's input). */
export class AddressRefusedError extends UsageError {
  readonly url: string;
  /** The address (or local name) refused. */
  readonly address: string;
  /** What it is: `loopback`, `private`, `localhost` … */
  readonly range: string;
  constructor(url: string, address: string, range: string, opts: { redirected: boolean; resolvedFrom?: string | undefined }) {
    const a = /^([aeio]|un(?!i)|IPv4)/i.test(range) ? 'an' : 'a';
    const what = opts.resolvedFrom
      ? `${opts.resolvedFrom} resolves to ${address}, ${a} ${range} address`
      : range === 'localhost'
        ? `${address} is the local machine`
        : /^(an?|the) /.test(range)
          ? `${address} is ${range}`
          : `${address} is ${a} ${range} address`;
    super(`${opts.redirected ? `redirected to ${url}: ` : ''}${what}; fetching from it needs ${ALLOW_PRIVATE_FLAG}`);
    this.name = 'AddressRefusedError';
    this.url = url;
    this.address = address;
    this.range = range;
  }
}

/** A fetch that failed on the way or at the far end (DNS, refused, 5xx, timeout): exit 4. */
export class FetchError extends CliError {
  /** The HTTP status when the server answered with an error. */
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, opts: { status?: number | undefined; code?: string | undefined; cause?: unknown } = {}) {
    super(message, ExitCode.api, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FetchError';
    this.status = opts.status;
    this.code = opts.code;
  }
}

/** Why the connection's look-up refused a name: carried out of node:net / undici to fetchChecked. */
class ResolvedToPrivate extends Error {
  readonly code = 'EIMGDESC_PRIVATE_ADDRESS';
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`${address} is ${range}`);
  }
}

function rangeOf(address: string, policy: AddressPolicy): string | null {
  if (policy.allowPrivate || policy.treatAsPublic?.has(address)) return null;
  return addressRange(address);
}

/** A look-up for net.connect that answers only with addresses the policy allows (all of them, or it fails). */
export function checkedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
    const answer = (err: Error | null, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      // Every answer is checked, not the first: a name that also resolves privately is refused,
      // so which address happy eyeballs picks cannot matter.
      for (const a of addresses) {
        const range = rangeOf(a.address, policy);
        if (range !== null) return callback(new ResolvedToPrivate(a.address, range));
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      callback(null, first.address, first.family);
    };
    if (policy.resolve) {
      policy.resolve(hostname).then(
        (a) => answer(null, a),
        (e: Error) => answer(e, []),
      );
    } else {
      const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
      // node:dns taken when a name is looked up: a describe of a local file never loads it (~0.8 ms)
      process
        .getBuiltinModule('node:dns')
        .lookup(hostname, { family: family as 0 | 4 | 6, all: true }, (err, addresses) => answer(err, addresses ?? []));
    }
  }) as unknown as LookupFunction;
}

const testGuards = new WeakMap<AddressPolicy, { lookup: LookupFunction; lookupKey: string }>();

/** The connection look-up a policy needs (none: the system's), and the name its proxy agent is shared under. */
function guard(policy: AddressPolicy): { lookup?: LookupFunction; lookupKey?: string } {
  if (policy.resolve || policy.treatAsPublic) {
    let g = testGuards.get(policy);
    if (!g) testGuards.set(policy, (g = { lookup: checkedLookup(policy), lookupKey: `test-${Math.random()}` }));
    return g;
  }
  return policy.allowPrivate ? {} : { lookup: checkedLookup(policy), lookupKey: 'public-only' };
}

/**
 * The host rule for one URL as written, before anything is sent to it (AddressRefusedError). A name
 * that is not local passes here; its addresses are checked when it is looked up for the connection.
 */
export function checkUrlHost(url: URL, policy: AddressPolicy, redirected = false): void {
  if (policy.allowPrivate) return;
  const v = hostVerdict(url);
  if (v.kind === 'address' && v.range !== null && !policy.treatAsPublic?.has(v.address)) {
    throw new AddressRefusedError(url.href, v.address, v.range, { redirected });
  }
  if (v.kind === 'local-name') throw new AddressRefusedError(url.href, v.name, v.why, { redirected });
}

function firstHeader(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** The URL as it may be shown: a password in it is replaced by `***`. */
export function shownUrl(url: URL): string {
  if (!url.password) return url.href;
  const u = new URL(url.href);
  u.password = '***';
  return u.href;
}

/**
 * Why a URL is not fetched for its user name or password, or undefined. A fetch here sends no
 * credentials: curl and undici would turn `user:pass@` into Basic auth for the image host, and the
 * URL would be kept in the history and shown in messages.
 */
export function credentialsIn(url: URL): string | undefined {
  return url.username || url.password
    ? 'a URL with a user name or password is not fetched: imgdesc sends no credentials to image hosts'
    : undefined;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * GETs `url` and reads its body under the cap, following at most `maxRedirects` redirects to
 * http(s), with the address rule on each hop. Sends no credentials of any kind (the relay's token
 * never goes to an image host). Throws AddressRefusedError (exit 2), FetchError (exit 4),
 * `tooLarge()`, or InterruptedError when the caller's signal aborts.
 */
export async function fetchChecked(url: URL, opts: FetchOptions): Promise<Fetched> {
  const maxRedirects = opts.maxRedirects ?? 3;
  const transport = await pickTransport(guard(opts.policy));
  const timeout = timeoutSignal(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const fail = (err: unknown, where: URL): Error => {
    if (opts.signal?.aborted) return new InterruptedError();
    const code = errorCode(err);
    for (let cur: unknown = err, depth = 0; cur && depth < 4; depth++) {
      if (cur instanceof ResolvedToPrivate) {
        return new AddressRefusedError(where.href, cur.address, cur.range, { redirected: where !== url, resolvedFrom: where.hostname });
      }
      cur = (cur as { cause?: unknown }).cause;
    }
    if (timeout.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new FetchError(`timed out after ${seconds(opts.timeoutMs)}`, { code: 'timeout', cause: err });
    }
    const why =
      code !== undefined ? networkWords(code, err instanceof Error ? err.message : '') : err instanceof Error ? err.message : String(err);
    return new FetchError(why, { code, cause: err });
  };
  let current = url;
  for (let hop = 0; ; hop++) {
    const credentials = credentialsIn(current);
    if (credentials)
      throw new FetchError(hop > 0 ? `redirected to ${shownUrl(current)}: ${credentials}` : credentials, { code: 'credentials' });
    checkUrlHost(current, opts.policy, hop > 0);
    let res;
    try {
      res = await transport(current, {
        method: 'GET',
        headers: { accept: opts.accept ?? '*/*', 'user-agent': 'imgdesc' },
        body: null,
        signal,
        timeoutMs: opts.timeoutMs,
      });
    } catch (err) {
      throw fail(err, current);
    }
    const { status, headers } = res;
    if (status >= 300 && status < 400 && status !== 304) {
      await res.discard().catch(() => undefined);
      const loc = firstHeader(headers.location);
      if (!loc) throw new FetchError(`HTTP ${status} without a Location`, { status });
      if (hop >= maxRedirects) throw new FetchError(`more than ${maxRedirects} redirects`, { status });
      let next: URL;
      try {
        next = new URL(loc, current);
      } catch (err) {
        throw new FetchError(`bad redirect to ${loc}`, { status, cause: err });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new FetchError(`redirect to ${next.protocol} refused`, { status });
      current = next;
      continue;
    }
    if (status < 200 || status >= 300) {
      await res.discard().catch(() => undefined);
      throw new FetchError(statusLabel(status), { status });
    }
    try {
      const bytes = await readCapped(res.body, headers['content-length'], opts.maxBytes, opts.tooLarge, signal);
      return { url: current, status, headers, bytes };
    } catch (err) {
      if (err instanceof CliError) throw err; // tooLarge()
      throw fail(err, current);
    }
  }
}
