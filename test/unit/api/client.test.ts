// The undici client against real node:http servers on 127.0.0.1 (random ports), plus one MockAgent case.
// No test asserts on wall-clock time: sleeps are injected and recorded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, MockAgent } from 'undici';
import { createChatCompletion, listModels, type ClientOptions, type RateGate, type RetryEvent } from '../../../src/api/client.ts';
import { APIConnectionError, APIError, APITimeoutError, InvalidResponseError } from '../../../src/api/errors.ts';
import { InterruptedError } from '../../../src/types.ts';

const TOKEN = 'sk-test-0123456789abcdef';
const OK = JSON.stringify({
  id: 'chatcmpl-123',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'A dog.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
});
const BODY = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] };

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse, n: number, body: string) => void;

/** A local server whose behaviour each test sets; it records every request it received. */
class TestServer {
  server: Server;
  seen: Seen[] = [];
  handler: Handler = (_req, res) => res.end(OK);
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        this.handler(req, res, this.seen.length, body);
      });
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  reset(handler: Handler): void {
    this.seen = [];
    this.handler = handler;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error);
    return e;
  }
  assert.fail('expected a rejection');
}

// Every case through both transports: undici (a dispatcher, as batch passes) and node:http (none).
// The two suites run side by side, each with its own servers, dispatcher and records and its cases
// one at a time: their timeouts (0.2 s each) overlap instead of adding up.
describe('client, both transports', { concurrency: true }, () => {
  for (const transport of ['undici', 'node:http'] as const) clientSuite(transport);
});

function clientSuite(transport: 'undici' | 'node:http'): void {
  describe(`client (${transport})`, { concurrency: false }, () => {
    let srv: TestServer;
    let other: TestServer;
    let dispatcher: Agent;
    let sleeps: number[];
    let retries: RetryEvent[];

    const opts = (extra: Partial<ClientOptions> = {}): ClientOptions => {
      sleeps = [];
      retries = [];
      return {
        baseUrl: `${srv.base}/v1`,
        token: TOKEN,
        timeoutMs: 5_000,
        retries: 2,
        ...(transport === 'undici' ? { dispatcher } : {}),
        userAgent: 'imgdesc/0.0.0-test',
        random: () => 0,
        sleep: async (ms) => void sleeps.push(ms),
        onRetry: (e) => void retries.push(e),
        ...extra,
      };
    };

    before(async () => {
      srv = await new TestServer().start();
      other = await new TestServer().start();
      dispatcher = new Agent({ keepAliveTimeout: 1_000 });
    });
    after(async () => {
      await dispatcher.close();
      await srv.stop();
      await other.stop();
    });

    it('POSTs the body with the right headers and keeps the raw text', async () => {
      const raw = `\uFEFF${OK}\n`;
      srv.reset((_req, res) => json(res, 200, raw, { 'x-request-id': 'req_abc' }));
      const r = await createChatCompletion(BODY, opts());
      assert.equal(r.status, 200);
      assert.equal(r.rawText, raw);
      assert.equal(r.requestId, 'req_abc');
      assert.equal(r.attempts, 1);
      assert.equal((r.body as { id: string }).id, 'chatcmpl-123');
      const seen = srv.seen[0];
      assert.ok(seen);
      assert.equal(seen.method, 'POST');
      assert.equal(seen.url, '/v1/chat/completions');
      assert.equal(seen.headers['authorization'], `Bearer ${TOKEN}`);
      assert.equal(seen.headers['content-type'], 'application/json');
      assert.equal(seen.headers['accept'], 'application/json');
      assert.equal(seen.headers['user-agent'], 'imgdesc/0.0.0-test');
      assert.deepEqual(JSON.parse(seen.body), BODY);
      assert.deepEqual(sleeps, []);
    });

    it('listModels GETs {base}/models', async () => {
      srv.reset((_req, res) => json(res, 200, { object: 'list', data: [{ id: 'gpt-4o' }] }));
      const r = await listModels(opts({ baseUrl: `${srv.base}/relay` }));
      assert.deepEqual(r.body, { object: 'list', data: [{ id: 'gpt-4o' }] });
      assert.equal(srv.seen[0]?.method, 'GET');
      assert.equal(srv.seen[0]?.url, '/relay/v1/models');
      assert.equal(srv.seen[0]?.headers['content-type'], undefined);
    });

    it('with a gate, a 429 goes back to the gate at once with its Retry-After, and uses no retry', async () => {
      srv.reset((_req, res, n) =>
        n <= 2 ? json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '2' }) : json(res, 200, OK),
      );
      const calls: string[] = [];
      const gate: RateGate = {
        wait: async () => void calls.push('wait'),
        settle: (o) => void calls.push(o.kind === 'limited' ? `limited ${o.retryAfterMs}` : o.kind),
      };
      const r = await createChatCompletion(BODY, opts({ gate }));
      assert.equal(r.attempts, 3);
      assert.equal(srv.seen.length, 3);
      assert.deepEqual(sleeps, [], 'the gate holds the next attempt, not the request');
      assert.deepEqual(calls, ['wait', 'limited 2000', 'wait', 'limited 2000', 'wait', 'ok']);
      assert.deepEqual(
        retries.map((e) => [e.attempt, e.retry, e.reason]),
        [
          [2, 0, 'HTTP 429'],
          [3, 0, 'HTTP 429'],
        ],
      );
    });

    it('with a gate, 429s and outages (502/503/504) are waited out without retries; a 500 uses one', async () => {
      const statuses = [429, 429, 502, 503, 504, 500];
      srv.reset((_req, res, n) => (n <= statuses.length ? json(res, statuses[n - 1] as number, {}) : json(res, 200, OK)));
      const kinds: string[] = [];
      const gate: RateGate = { wait: async () => {}, settle: (o) => void kinds.push(o.kind) };
      const r = await createChatCompletion(BODY, opts({ gate, retries: 1 }));
      assert.equal(r.attempts, 7);
      assert.deepEqual(
        retries.map((e) => e.retry),
        [0, 0, 0, 0, 0, 1],
      );
      assert.deepEqual(kinds, ['limited', 'limited', 'down', 'down', 'down', 'answered', 'ok']);
    });

    it('with a gate, a relay that stays rate limited past the wait cap fails the request with its 429', async () => {
      srv.reset((_req, res) => json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '20' }));
      let limitedFor = 0;
      const gate: RateGate = {
        wait: async () => {},
        settle: () => {
          limitedFor += 20_000;
        },
        rateLimitedFor: () => limitedFor,
      };
      const e = await rejection(createChatCompletion(BODY, opts({ gate, maxRateLimitWaitMs: 50_000 })));
      assert.ok(e instanceof APIError && e.status === 429);
      assert.equal(srv.seen.length, 3, 'the third 429 came 60 s into the limiting, past 50 s');
    });

    it("with a gate, the timeout is the gate's learned bound; an attempt abandoned there is retried once", async () => {
      srv.reset(() => {}); // never answers
      const gate: RateGate = { wait: async () => {}, settle: () => {}, timeoutMs: () => 100 };
      const e = await rejection(createChatCompletion(BODY, opts({ gate, retries: 5, timeoutMs: 60_000 })));
      assert.ok(e instanceof APITimeoutError, String(e));
      assert.match(e.message, /timed out after 0.1 s \(2 attempts\)/);
      // The second attempt may be abandoned before the server has seen it on a loaded machine.
      assert.ok(srv.seen.length >= 1 && srv.seen.length <= 2, String(srv.seen.length));
    });

    it('without a gate (describe), 429s use retries as before', async () => {
      srv.reset((_req, res) => json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' }));
      // counted by its own model: the previous test's abandoned attempt can reach the server late
      const e = await rejection(createChatCompletion({ ...BODY, model: 'no-gate' }, opts({ retries: 1 })));
      assert.ok(e instanceof APIError && e.status === 429);
      assert.equal(srv.seen.filter((r) => r.body.includes('"model":"no-gate"')).length, 2);
    });

    it('500 every time: retries + 1 attempts with backoff, then APIError exit 4', async () => {
      srv.reset((_req, res) =>
        json(res, 500, { error: { message: 'upstream error', type: 'server_error' } }, { 'x-oneapi-request-id': 'one-1' }),
      );
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.equal(e.status, 500);
      assert.equal(e.exitCode, 4);
      assert.equal(e.message, 'HTTP 500: upstream error (request id one-1)');
      assert.equal(srv.seen.length, 3);
      assert.deepEqual(sleeps, [500, 1000]);
    });

    it('retries: 0 means one attempt', async () => {
      srv.reset((_req, res) => json(res, 503, {}));
      await rejection(createChatCompletion(BODY, opts({ retries: 0 })));
      assert.equal(srv.seen.length, 1);
    });

    it('401: one attempt, exit 3 with a hint', async () => {
      srv.reset((_req, res) => json(res, 401, { error: { message: '无效的令牌', type: 'new_api_error' } }, { 'x-request-id': 'req_123' }));
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.equal(e.message, 'HTTP 401: 无效的令牌 (request id req_123)');
      assert.equal(e.exitCode, 3);
      assert.equal(e.hint, 'the token is invalid or expired: imgdesc config set token');
      assert.equal(srv.seen.length, 1);
    });

    it('a server echoing the Authorization header: the token is redacted', async () => {
      srv.reset((req, res) =>
        json(res, 403, { error: { message: `token ${req.headers['authorization']} is not allowed to use model m` } }),
      );
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.ok(!e.message.includes(TOKEN), e.message);
      assert.ok(!(e.raw ?? '').includes(TOKEN));
      assert.match(e.message, /^HTTP 403: token Bearer \*\*\* is not allowed/);
    });

    it('200 with an Anthropic overloaded error inside is retried like a 529', async () => {
      srv.reset((_req, res, n) =>
        json(res, 200, n === 1 ? { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } : OK),
      );
      const r = await createChatCompletion(BODY, opts());
      assert.equal(r.attempts, 2);
      assert.equal(retries[0]?.reason, 'HTTP 529');
    });

    it('200 with a plain error body is not retried', async () => {
      srv.reset((_req, res) => json(res, 200, { error: { message: 'no channel for model m', code: 'model_not_found' } }));
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.match(e.message, /^HTTP 200 with an error body: no channel for model m \(code: model_not_found\)$/);
      assert.equal(srv.seen.length, 1);
    });

    it('an HTML 502 page is retried, then reported by its title', async () => {
      srv.reset((_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><head><title>Cloudflare: origin down</title></head></html>');
      });
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.equal(e.message, 'HTTP 502: Bad Gateway: Cloudflare: origin down');
      assert.equal(srv.seen.length, 3);
    });

    it('truncated JSON with 200 is an InvalidResponseError, not retried', async () => {
      srv.reset((_req, res) => json(res, 200, OK.slice(0, 60)));
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof InvalidResponseError);
      assert.match(e.message, /^HTTP 200: invalid JSON/);
      assert.equal(srv.seen.length, 1);
    });

    it('a connection reset before any answer is retried, then APIConnectionError exit 4', async () => {
      srv.reset((req) => req.socket.destroy());
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIConnectionError);
      assert.ok(!(e instanceof APITimeoutError));
      assert.equal(e.exitCode, 4);
      assert.match(e.message, new RegExp(`^connection to 127\\.0\\.0\\.1:${srv.port} closed before a response: `));
      assert.equal(srv.seen.length, 3);
      assert.equal(sleeps.length, 2);
    });

    it('a connection reset in the middle of the body is retried', async () => {
      srv.reset((_req, res, n) => {
        if (n === 1) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OK.length) });
          res.write(OK.slice(0, 20));
          setImmediate(() => res.socket?.destroy());
        } else json(res, 200, OK);
      });
      const r = await createChatCompletion(BODY, opts());
      assert.equal(r.attempts, 2);
      assert.match(retries[0]?.reason ?? '', /./);

      srv.reset((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OK.length) });
        res.write(OK.slice(0, 20));
        setImmediate(() => res.socket?.destroy());
      });
      const e = await rejection(createChatCompletion(BODY, opts({ retries: 1 })));
      assert.ok(e instanceof APIConnectionError);
      assert.match(e.message, /failed while reading the response/);
    });

    it('connection refused → "could not connect to 127.0.0.1:<port>: connection refused"', async () => {
      const closed = await new TestServer().start();
      const port = closed.port;
      await closed.stop();
      const e = await rejection(createChatCompletion(BODY, opts({ baseUrl: `http://127.0.0.1:${port}`, retries: 1 })));
      assert.ok(e instanceof APIConnectionError);
      assert.equal(e.message, `could not connect to 127.0.0.1:${port}: connection refused`);
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(sleeps.length, 1);
    });

    it('a server that never answers: each attempt times out, then APITimeoutError', async () => {
      srv.reset(() => {
        /* never answer */
      });
      const e = await rejection(createChatCompletion(BODY, opts({ timeoutMs: 200, retries: 1 })));
      assert.ok(e instanceof APITimeoutError);
      assert.equal(e.exitCode, 4);
      assert.equal(e.message, 'timed out after 0.2 s (2 attempts)');
      // The second attempt may time out before the server has seen it on a loaded machine.
      assert.ok(srv.seen.length >= 1 && srv.seen.length <= 2, String(srv.seen.length));
      assert.equal(retries[0]?.reason, 'timed out after 0.2 s');
    });

    it('the timeout also covers a body that stalls after the headers', async () => {
      srv.reset((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":');
      });
      const e = await rejection(createChatCompletion(BODY, opts({ timeoutMs: 200, retries: 0 })));
      assert.ok(e instanceof APITimeoutError);
      assert.equal(e.message, 'timed out after 0.2 s (1 attempt)');
    });

    it('a body over the cap → InvalidResponseError (chunked, and by content-length)', async () => {
      const big = 'x'.repeat(64 * 1024);
      srv.reset((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 40; i++) res.write(big); // 2.5 MiB, chunked
        res.end();
      });
      const e = await rejection(createChatCompletion(BODY, opts({ maxResponseBytes: 1024 * 1024 })));
      assert.ok(e instanceof InvalidResponseError);
      assert.equal(e.message, 'response larger than 1 MiB');
      assert.equal(srv.seen.length, 1);

      srv.reset((_req, res) => json(res, 200, big));
      const e2 = await rejection(createChatCompletion(BODY, opts({ maxResponseBytes: 1000 })));
      assert.equal(e2.message, 'response larger than 1000 bytes');
    });

    it('a redirect to another origin is refused and the token never goes there', async () => {
      other.reset((_req, res) => json(res, 200, OK));
      srv.reset((_req, res) => {
        res.writeHead(307, { location: `${other.base}/v1/chat/completions` });
        res.end();
      });
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.ok(e instanceof APIError);
      assert.equal(e.message, `HTTP 307: refusing to follow a redirect to ${other.base} with credentials`);
      assert.equal(e.exitCode, 4);
      assert.equal(srv.seen.length, 1);
      assert.equal(other.seen.length, 0);
    });

    it('a same-origin redirect is followed once, with the same method and body', async () => {
      srv.reset((req, res) => {
        if (req.url === '/v1/chat/completions') {
          res.writeHead(308, { location: '/relay/v1/chat/completions' });
          res.end();
        } else json(res, 200, OK);
      });
      const r = await createChatCompletion(BODY, opts());
      assert.equal(r.status, 200);
      assert.deepEqual(
        srv.seen.map((s) => [s.method, s.url]),
        [
          ['POST', '/v1/chat/completions'],
          ['POST', '/relay/v1/chat/completions'],
        ],
      );
      assert.deepEqual(JSON.parse(srv.seen[1]?.body ?? ''), BODY);

      srv.reset((_req, res) => {
        res.writeHead(302, { location: `/loop${Math.random()}` });
        res.end();
      });
      const e = await rejection(createChatCompletion(BODY, opts()));
      assert.match(e.message, /too many redirects/);
      assert.equal(srv.seen.length, 2);
    });

    it('the user signal aborts an in-flight request at once → InterruptedError, no retry', async () => {
      const ac = new AbortController();
      srv.reset(() => ac.abort()); // abort once the request has arrived; never answer
      const e = await rejection(createChatCompletion(BODY, opts({ signal: ac.signal, timeoutMs: 60_000 })));
      assert.ok(e instanceof InterruptedError);
      assert.equal(e.exitCode, 130);
      assert.equal(srv.seen.length, 1);
      assert.deepEqual(sleeps, []);
    });

    it('the user signal interrupts the retry wait, even if the sleep ignores it', async () => {
      const ac = new AbortController();
      srv.reset((_req, res) => json(res, 503, {}));
      const e = await rejection(
        createChatCompletion(BODY, {
          ...opts({ signal: ac.signal }),
          sleep: () => new Promise(() => {}), // never resolves
          onRetry: () => ac.abort(),
        }),
      );
      assert.ok(e instanceof InterruptedError);
      assert.equal(srv.seen.length, 1);
    });

    it('an already-aborted signal sends nothing', async () => {
      srv.reset((_req, res) => json(res, 200, OK));
      const e = await rejection(createChatCompletion(BODY, opts({ signal: AbortSignal.abort() })));
      assert.ok(e instanceof InterruptedError);
      assert.equal(srv.seen.length, 0);
    });

    it('the default sleep is interrupted by the signal too', async () => {
      const ac = new AbortController();
      srv.reset((_req, res) => json(res, 429, {}, { 'retry-after': '30' }));
      const o = opts({ signal: ac.signal, onRetry: () => setImmediate(() => ac.abort()) });
      delete o.sleep;
      const e = await rejection(createChatCompletion(BODY, o));
      assert.ok(e instanceof InterruptedError);
    });

    it('an abort while waiting on the gate → InterruptedError', async () => {
      const ac = new AbortController();
      const gate: RateGate = { wait: () => (ac.abort(), new Promise(() => {})), settle: () => {} };
      srv.reset((_req, res) => json(res, 200, OK));
      const e = await rejection(createChatCompletion(BODY, opts({ signal: ac.signal, gate })));
      assert.ok(e instanceof InterruptedError);
      assert.equal(srv.seen.length, 0);
    });
  });
}

describe('client with a mocked dispatcher (MockAgent)', () => {
  it('x-should-retry: false stops retries of a 503; true retries a 400', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const pool = mock.get('https://relay.invalid');
    pool
      .intercept({ path: '/v1/chat/completions', method: 'POST' })
      .reply(503, { error: { message: 'maintenance' } }, { headers: { 'x-should-retry': 'false' } });
    const sleeps: number[] = [];
    const base = {
      baseUrl: 'https://relay.invalid',
      token: TOKEN,
      timeoutMs: 1000,
      retries: 3,
      dispatcher: mock,
      sleep: async (ms: number) => void sleeps.push(ms),
    };
    const e = await rejection(createChatCompletion(BODY, base));
    assert.ok(e instanceof APIError);
    assert.equal(e.message, 'HTTP 503: maintenance');
    assert.deepEqual(sleeps, []);

    pool
      .intercept({ path: '/v1/chat/completions', method: 'POST' })
      .reply(400, { error: { message: 'try again' } }, { headers: { 'x-should-retry': 'true', 'retry-after-ms': '10' } });
    pool
      .intercept({ path: '/v1/chat/completions', method: 'POST' })
      .reply(200, OK, { headers: { 'content-type': 'application/json', 'request-id': 'req_anthropic' } });
    const r = await createChatCompletion(BODY, base);
    assert.equal(r.attempts, 2);
    assert.equal(r.requestId, 'req_anthropic');
    assert.deepEqual(sleeps, [10]);
    mock.assertNoPendingInterceptors();
    await mock.close();
  });
});
