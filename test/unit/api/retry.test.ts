import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APIError } from '../../../src/api/errors.ts';
import {
  classifyNetworkError,
  classifyRedirect,
  decideRetry,
  retryAfterMs,
  retryDelayMs,
  shouldRetry,
  type Failure,
  type NetworkFacts,
  type RetryPolicy,
  type RetryState,
} from '../../../src/api/retry.ts';

describe('shouldRetry', () => {
  const statuses: [number, boolean][] = [
    [400, false],
    [401, false],
    [402, false],
    [403, false],
    [404, false],
    [405, false],
    [408, true],
    [409, true],
    [413, false],
    [422, false],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, false],
    [520, true],
    [524, false],
    [529, true],
    [599, true],
    [200, false],
    [301, false],
  ];
  for (const [status, expected] of statuses) {
    it(`HTTP ${status} → ${expected}`, () => assert.equal(shouldRetry({ status }), expected));
  }
  it('connection errors → true', () => assert.equal(shouldRetry({ connectionError: true }), true));
  it('timeouts → true', () => assert.equal(shouldRetry({ timeout: true }), true));
  it('nothing known → false', () => assert.equal(shouldRetry({}), false));
  it('a model that takes no images: its 500 is final', () => assert.equal(shouldRetry({ status: 500, noImages: true }), false));
  it('a model that takes no images: a 429 is still waited out', () => assert.equal(shouldRetry({ status: 429, noImages: true }), true));
  it('a model that takes no images: a reset connection is still retried', () =>
    assert.equal(shouldRetry({ connectionError: true, noImages: true }), true));
  it('x-should-retry: true overrides a 400', () => assert.equal(shouldRetry({ status: 400, headers: { 'x-should-retry': 'true' } }), true));
  it('x-should-retry: false overrides a 503', () =>
    assert.equal(shouldRetry({ status: 503, headers: { 'x-should-retry': 'false' } }), false));
  // 200 with an error body: retried only when it says overload or rate limit
  const bodies: [string, number, { type: string | null; code: string | null; serverMessage: string }, boolean][] = [
    // Gemini prompt block through a relay: {"error":{"message":"No candidates returned","code":500}}
    ['Gemini no candidates', 500, { type: null, code: '500', serverMessage: 'No candidates returned' }, false],
    ['Anthropic overloaded_error', 529, { type: 'overloaded_error', code: null, serverMessage: 'Overloaded' }, true],
    ['rate_limit_error', 429, { type: 'rate_limit_error', code: null, serverMessage: 'Rate limited' }, true],
    ['one-api saturated', 200, { type: 'one_api_error', code: null, serverMessage: '当前分组上游负载已饱和，请稍后再试' }, true],
    ['content filter', 400, { type: 'invalid_request_error', code: 'content_filter', serverMessage: 'blocked' }, false],
  ];
  for (const [name, status, bodyError, expected] of bodies) {
    it(`200 with an error body: ${name} → ${expected}`, () => assert.equal(shouldRetry({ status, bodyError }), expected));
  }
  it('x-should-retry: other values are ignored', () =>
    assert.equal(shouldRetry({ status: 503, headers: { 'x-should-retry': 'maybe' } }), true));
});

describe('retryDelayMs', () => {
  const noJitter = () => 0;
  const fullJitter = () => 1;
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('backs off 0.5 s · 2^n, capped at 8 s', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 10].map((n) => retryDelayMs(n, undefined, noJitter)),
      [500, 1000, 2000, 4000, 8000, 8000, 8000],
    );
  });
  it('jitter takes off at most 25 %', () => {
    assert.equal(retryDelayMs(0, {}, fullJitter), 375);
    assert.equal(retryDelayMs(4, {}, fullJitter), 6000);
    assert.equal(
      retryDelayMs(1, {}, () => 0.5),
      875,
    );
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(2, undefined);
      assert.ok(d >= 1500 && d <= 2000, String(d));
    }
  });
  it('a random() outside [0,1] is clamped', () => {
    assert.equal(
      retryDelayMs(0, {}, () => 7),
      375,
    );
    assert.equal(
      retryDelayMs(0, {}, () => -1),
      500,
    );
  });

  const headerCases: [string, Record<string, string>, number][] = [
    ['retry-after-ms', { 'retry-after-ms': '1234' }, 1234],
    ['retry-after-ms wins over retry-after', { 'retry-after-ms': '200', 'retry-after': '30' }, 200],
    ['retry-after seconds', { 'retry-after': '3' }, 3000],
    ['retry-after fractional seconds', { 'retry-after': '1.5' }, 1500],
    ['retry-after 0', { 'retry-after': '0' }, 0],
    ['retry-after HTTP date', { 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }, 7000],
    ['retry-after capped at 60 s', { 'retry-after': '3600' }, 60_000],
    ['retry-after-ms capped at 60 s', { 'retry-after-ms': '600000' }, 60_000],
    ['date capped at 60 s', { 'retry-after': 'Wed, 01 Jan 2025 01:00:00 GMT' }, 60_000],
  ];
  for (const [name, headers, expected] of headerCases) {
    it(`${name} → ${expected} ms (no jitter)`, () => assert.equal(retryDelayMs(3, headers, fullJitter, now), expected));
  }

  const ignored: [string, Record<string, string>][] = [
    ['garbage retry-after', { 'retry-after': 'soon' }],
    ['negative retry-after-ms', { 'retry-after-ms': '-5' }],
    ['empty retry-after-ms', { 'retry-after-ms': '' }],
    ['a date in the past', { 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }],
  ];
  for (const [name, headers] of ignored) {
    it(`${name} → own backoff`, () => {
      assert.equal(retryAfterMs(headers, now), undefined);
      assert.equal(retryDelayMs(1, headers, noJitter, now), 1000);
    });
  }
});

describe('classifyNetworkError', () => {
  const base = { code: undefined, message: 'fetch failed', timedOut: false, responded: false, where: 'h:443', timeoutMs: 300_000 };
  const cases: Array<[string, Partial<NetworkFacts>, { message: string; retry: boolean; timeout?: boolean }]> = [
    ['our timer fired', { timedOut: true }, { message: 'timed out after 300 s', retry: true, timeout: true }],
    ["undici's headers timeout", { code: 'UND_ERR_HEADERS_TIMEOUT' }, { message: 'timed out after 300 s', retry: true, timeout: true }],
    ['refused', { code: 'ECONNREFUSED' }, { message: 'could not connect to h:443: connection refused', retry: true }],
    ['DNS', { code: 'ENOTFOUND' }, { message: 'could not connect to h:443: host not found', retry: true }],
    ['no code at all', {}, { message: 'could not connect to h:443: fetch failed', retry: true }],
    [
      'reset before a response',
      { code: 'ECONNRESET' },
      { message: 'connection to h:443 closed before a response: the server closed the connection', retry: true },
    ],
    [
      'closed while reading',
      { code: 'UND_ERR_SOCKET', responded: true },
      { message: 'connection to h:443 failed while reading the response: the server closed the connection', retry: true },
    ],
    [
      'a certificate problem is not retried',
      { code: 'CERT_HAS_EXPIRED' },
      { message: 'TLS error connecting to h:443: its TLS certificate has expired, CERT_HAS_EXPIRED', retry: false },
    ],
    [
      'EPROTO is not retried',
      { code: 'EPROTO' },
      { message: 'TLS error connecting to h:443: the TLS handshake failed, EPROTO', retry: false },
    ],
  ];
  for (const [name, f, want] of cases) {
    it(name, () => {
      const got = classifyNetworkError({ ...base, ...f });
      assert.deepEqual({ message: got.error.message, retry: got.retry, ...(got.timeout ? { timeout: true } : {}) }, want);
    });
  }
});

describe('classifyRedirect', () => {
  const from = new URL('https://h/v1/chat/completions');
  it('same origin, first hop: followed', () => assert.equal(classifyRedirect(307, {}, from, new URL('https://h/moved'), 0), undefined));
  it('another origin: refused', () =>
    assert.match(
      classifyRedirect(302, {}, from, new URL('https://evil/x'), 0)!.error.message,
      /refusing to follow a redirect to https:\/\/evil with credentials/,
    ));
  it('a second hop: refused', () =>
    assert.match(classifyRedirect(302, {}, from, new URL('https://h/again'), 1)!.error.message, /too many redirects \(last to \/again\)/));
});

describe('decideRetry: one line per case', () => {
  const err = new APIError({ status: 503, message: 'x' });
  const f = (over: Partial<Failure> = {}): Failure => ({ error: err, retry: true, status: 503, reason: 'HTTP 503', ...over });
  const r429 = (after = '2') => f({ status: 429, reason: 'HTTP 429', headers: { 'retry-after': after } });
  const st = (over: Partial<RetryState> = {}): RetryState => ({
    attempts: 1,
    retriesUsed: 0,
    rateLimitWaits: 0,
    rateLimitWaitedMs: 0,
    ...over,
  });
  const solo: RetryPolicy = { retries: 2, freeRateLimitWaits: false, maxRateLimitWaitMs: 60_000, rateLimitedForMs: 0 };
  const batch: RetryPolicy = { ...solo, freeRateLimitWaits: true };
  const noJitter = () => 0;
  const cases: Array<[string, Failure, RetryState, RetryPolicy, string]> = [
    ['not retryable: fail', f({ retry: false }), st(), solo, 'fail'],
    ['a 503 with retries left: retry after backoff, using one', f(), st(), solo, 'retry 500 uses'],
    ['the second retry backs off longer', f(), st({ attempts: 2, retriesUsed: 1 }), solo, 'retry 1000 uses'],
    ['retries used up: fail', f(), st({ attempts: 3, retriesUsed: 2 }), solo, 'fail'],
    ['describe: a 429 uses a retry', r429(), st(), solo, 'retry 2000 uses rate'],
    ['describe: a 429 with none left fails', r429(), st({ retriesUsed: 2 }), solo, 'fail'],
    ['batch: a 429 waits without using a retry', r429(), st({ retriesUsed: 2 }), batch, 'retry 2000 free rate'],
    [
      'batch: a 429 without Retry-After backs off by its own count',
      f({ status: 429, reason: 'HTTP 429' }),
      st({ rateLimitWaits: 3 }),
      batch,
      'retry 4000 free rate',
    ],
    ['batch: a 429 whose wait would pass the cap fails', r429('30'), st({ rateLimitWaitedMs: 40_000 }), batch, 'fail'],
    [
      'batch: a relay rate limited for longer than the cap fails it at once',
      r429('1'),
      st(),
      { ...batch, rateLimitedForMs: 61_000 },
      'fail',
    ],
    ['batch: a 5xx still uses retries', f(), st({ retriesUsed: 2 }), batch, 'fail'],
  ];
  for (const [name, failure, state, policy, want] of cases) {
    it(name, () => {
      const d = decideRetry(failure, state, policy, noJitter, 0);
      const got = d.do === 'fail' ? 'fail' : `retry ${d.delayMs} ${d.usesRetry ? 'uses' : 'free'}${d.rateLimited ? ' rate' : ''}`;
      assert.equal(got, want);
    });
  }
  it('a timeout that gives up says how many attempts were made', () => {
    const t = classifyNetworkError({ code: undefined, message: '', timedOut: true, responded: false, where: 'h:1', timeoutMs: 1000 });
    const d = decideRetry(t, st({ attempts: 2, retriesUsed: 1 }), { ...solo, retries: 1 });
    assert.equal(d.do === 'fail' && d.error.message, 'timed out after 1 s (2 attempts)');
  });
});
