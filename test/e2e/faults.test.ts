// End to end: the built CLI against a relay that fails in every way relays do.
// For each fault: the exit code, how many attempts the server saw, exactly one `error: …` line on
// stderr (no stack), and the token nowhere in the output. docs/troubleshooting.md lists the same faults.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { BIN, ROOT, TOKEN, cliEnv, relayEnv, run, runCli, tempDir, type RunResult } from '../helpers/cli.ts';
import { startProxy } from '../helpers/proxy.ts';
import { completion, describeOk, sendJson, startServer, type Handler, type TestServer, serverPool } from '../helpers/server.ts';

let server: TestServer;
let pngPath: string;
const work = tempDir('imgdesc-faults-');

before(async () => {
  server = await startServer();
  const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#3a7' } })
    .png()
    .toBuffer();
  pngPath = join(work, 'photo.png');
  writeFileSync(pngPath, png);
});
after(() => server.close());

/** A relay of its own for one test, closed with the file. */
const fresh = serverPool();

function reset(handler: Handler = describeOk) {
  server.requests.length = 0;
  server.handler = handler;
}

const ANSWER = 'A boardwalk through a green marsh.';
const ok: Handler = (_req, res) => sendJson(res, 200, completion(ANSWER));
/** Short retry waits the client honours, so the suite stays fast. */
const FAST = { 'retry-after-ms': '50' };

/** Not the whole token, nor a piece of it (8 characters) that a shortened message could leave behind. */
function assertNoToken(r: { stdout: string; stderr: string }) {
  for (const [name, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    assert.ok(!text.includes(TOKEN), `token leaked on ${name}: ${text}`);
    for (let i = 0; i + 8 <= TOKEN.length; i++) {
      assert.ok(!text.includes(TOKEN.slice(i, i + 8)), `part of the token leaked on ${name}: ${text}`);
    }
  }
}

/** One line, `error: …`, at most a `hint: …` line after it, and no stack trace. Returns the line(s), without the last newline. */
function assertOneErrorLine(r: RunResult): string {
  const lines = r.stderr.split('\n');
  assert.equal(lines.pop(), '', `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  assert.ok(
    lines.length === 1 || (lines.length === 2 && lines[1]!.startsWith('hint: ')),
    `one error line and at most a hint: ${JSON.stringify(r.stderr)}`,
  );
  assert.match(lines[0]!, /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error: |\bat .*:\d+:\d+/, 'no stack trace');
  return lines.join('\n');
}

interface Fault {
  name: string;
  handler: Handler;
  args?: string[];
  code: number;
  attempts: number;
  /** What the single stderr line must say; absent for a success. */
  message?: RegExp;
  /** For a success: stdout, and an optional warning line. */
  stdout?: string;
  warning?: RegExp;
}

/** The HTML page nginx sends when the upstream is down. */
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

const FAULTS: Fault[] = [
  {
    name: '429 with retry-after-ms, then success',
    handler: (_req, res, n) =>
      n === 1 ? sendJson(res, 429, { error: { message: 'rate limited', type: 'rate_limit_error' } }, FAST) : ok(_req, res, n),
    code: 0,
    attempts: 2,
    stdout: `${ANSWER}\n`,
  },
  {
    name: '500, then success',
    handler: (_req, res, n) => (n === 1 ? sendJson(res, 500, { error: { message: 'upstream error' } }, FAST) : ok(_req, res, n)),
    code: 0,
    attempts: 2,
    stdout: `${ANSWER}\n`,
  },
  {
    name: '503 every time',
    handler: (_req, res) => sendJson(res, 503, { error: { message: 'upstream is restarting', type: 'new_api_error' } }, FAST),
    code: 4,
    attempts: 3,
    message: /^error: HTTP 503: upstream is restarting \(request id req_test_1\)$/,
  },
  {
    name: '400 invalid request',
    handler: (_req, res) =>
      sendJson(res, 400, { error: { message: 'Could not process image', type: 'invalid_request_error', code: 'invalid_image' } }),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 400: Could not process image \(code: invalid_image, request id req_test_1\)$/,
  },
  {
    // The relay echoes the Authorization header back in its message: it must come out redacted.
    name: '401 that echoes the Authorization header',
    handler: (req, res) =>
      sendJson(res, 401, { error: { message: `invalid token: ${String(req.headers.authorization)}`, type: 'authentication_error' } }),
    code: 3,
    attempts: 1,
    message:
      /^error: HTTP 401: invalid token: Bearer \*\*\* \(request id req_test_1\)\nhint: the token is invalid or expired: imgdesc config set token$/,
  },
  {
    name: '403 model not allowed',
    handler: (_req, res) =>
      sendJson(res, 403, { error: { message: 'this token may not use model claude-3-5-sonnet-20240620', type: 'permission_error' } }),
    code: 3,
    attempts: 1,
    message:
      /^error: HTTP 403: this token may not use model .* \(request id req_test_1\)\nhint: this token may not use that model: pick one it allows \(imgdesc models\), or allow the model in the token's settings on the relay$/,
  },
  {
    name: '529 overloaded every time',
    handler: (_req, res) => sendJson(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, FAST),
    code: 4,
    attempts: 3,
    message: /^error: HTTP 529: Overloaded \(request id req_test_1\)$/,
  },
  {
    name: 'HTML 502 page every time',
    handler: (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html', ...FAST });
      res.end(NGINX_502);
    },
    code: 4,
    attempts: 3,
    message: /^error: HTTP 502: Bad Gateway$/,
  },
  {
    name: 'connection reset before answering',
    handler: (_req, res) => void res.socket?.destroy(),
    code: 4,
    attempts: 3,
    message: /^error: connection to 127\.0\.0\.1:\d+ closed before a response: the server closed the connection$/,
  },
  {
    name: 'connection reset mid-body',
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"A board');
      setTimeout(() => res.socket?.destroy(), 20);
    },
    code: 4,
    attempts: 3,
    message: /^error: connection to 127\.0\.0\.1:\d+ failed while reading the response: the server closed the connection$/,
  },
  {
    name: 'truncated JSON (200)',
    handler: (_req, res) => sendJson(res, 200, '{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"A board'),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 200: invalid JSON \(.*\): \{"id":"chatcmpl-1".*$/,
  },
  {
    // The token straddles the 80-character cut of the excerpt: no piece of it may survive.
    name: 'invalid JSON (200) that echoes the token',
    handler: (req, res) => sendJson(res, 200, `{"id": 'x', "note": "${'x'.repeat(30)}", "auth": "${String(req.headers.authorization)}"}`),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 200: invalid JSON \(Unexpected token '''\): \{"id": 'x', "note": "x+", "auth": "Bearer \*\*\*"\}$/,
  },
  {
    // V8's own message quotes the text around the error, here the bare token.
    name: 'invalid JSON (200) failing at the token',
    handler: (req, res) => sendJson(res, 200, `{"id": "x", "auth": ${String(req.headers.authorization).replace('Bearer ', '')}}`),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 200: invalid JSON \(Unexpected token 's'\): \{"id": "x", "auth": \*\*\*\}$/,
  },
  {
    // A long HTML title is shortened; the token in it must not be cut into a visible piece.
    name: 'HTML 504 page whose long title echoes the token',
    handler: (req, res) => {
      res.writeHead(504, { 'content-type': 'text/html', 'x-should-retry': 'false' });
      const title = `Gateway Timeout ${'z'.repeat(115)} ${String(req.headers.authorization)} ${'more '.repeat(10)}`;
      res.end(`<html><head><title>${title}</title></head></html>`);
    },
    code: 4,
    attempts: 1,
    message:
      /^error: HTTP 504: Gateway Timeout: Gateway Timeout z+ Bearer \*\*\* (more )+m…\nhint: not retried: the upstream may already have billed it; --stream keeps long answers alive$/,
  },
  {
    name: '200 with {"error":…}',
    // Not an overload or a rate limit: not retried.
    handler: (_req, res) =>
      sendJson(res, 200, { error: { message: '请求上游地址失败', type: 'new_api_error', code: 'do_request_failed' } }),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 200 with an error body: 请求上游地址失败 \(code: do_request_failed, request id req_test_1\)$/,
  },
  {
    // A relay passing Anthropic's error through with HTTP 200: overloaded means 529, which is retried.
    name: '200 with Anthropic overloaded_error',
    handler: (_req, res) => sendJson(res, 200, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, FAST),
    code: 4,
    attempts: 3,
    message: /^error: HTTP 529: Overloaded \(request id req_test_1\)$/,
  },
  {
    name: 'empty choices',
    handler: (_req, res) => sendJson(res, 200, { id: 'chatcmpl-1', object: 'chat.completion', choices: [] }),
    code: 4,
    attempts: 1,
    message: /^error: the response has no choices \(empty "choices"\) \(request id req_test_1\)$/,
  },
  {
    name: 'null content with a refusal',
    handler: (_req, res) => sendJson(res, 200, completion(null, { message: { refusal: "I can't help with identifying people." } })),
    code: 4,
    attempts: 1,
    message: /^error: the model refused: I can't help with identifying people\. \(request id req_test_1\)$/,
  },
  {
    name: 'finish_reason length',
    handler: (_req, res) => sendJson(res, 200, completion('A boardwalk through a gr', { finish_reason: 'length' })),
    code: 0,
    attempts: 1,
    stdout: 'A boardwalk through a gr\n',
    warning: /^warning: the answer was cut off \(finish_reason: length\); raise --max-tokens for a complete one$/,
  },
  {
    name: 'huge body (over 32 MiB, streamed)',
    handler: hugeBody,
    code: 4,
    attempts: 1,
    message: /^error: response larger than 32 MiB$/,
  },
  {
    name: 'huge body (content-length over 32 MiB)',
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(40 * 1024 * 1024) });
      res.write('{"id":"x","choices":[');
    },
    code: 4,
    attempts: 1,
    message: /^error: response larger than 32 MiB$/,
  },
  {
    name: 'never answers (--timeout 1 --retries 1)',
    handler: () => {}, // keeps the request open
    args: ['--timeout', '1', '--retries', '1'],
    code: 4,
    attempts: 2,
    message: /^error: timed out after 1 s \(2 attempts\)\nhint: raise --timeout, or try a smaller image or a faster model$/,
  },
  {
    name: '500 with x-should-retry: false',
    handler: (_req, res) => sendJson(res, 500, { error: { message: 'do not retry this' } }, { 'x-should-retry': 'false', ...FAST }),
    code: 4,
    attempts: 1,
    message: /^error: HTTP 500: do not retry this \(request id req_test_1\)$/,
  },
];

/** Streams 40 MiB of JSON-looking text without holding it in memory, until the client hangs up. */
function hugeBody(_req: unknown, res: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const total = 40 * 1024 * 1024;
  res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length to refuse early
  res.write('{"id":"x","pad":"');
  let sent = 0;
  return new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('"}');
      resolve();
    };
    res.on('close', resolve);
    pump();
  });
}

// Each case has a relay of its own, so the cases run side by side: most of their time is waiting
// (retry back-offs, --timeout 1, retry-after: 1).
describe('faults: one line, the right exit code and attempt count, never the token', { concurrency: true }, () => {
  for (const f of FAULTS) {
    test(f.name, async () => {
      const server = await fresh(f.handler);
      const r = await run([pngPath, ...(f.args ?? [])], { env: relayEnv(server.url) });
      assertNoToken(r);
      assert.equal(r.code, f.code, r.stderr);
      assert.equal(server.requests.length, f.attempts, 'attempts the server saw');
      for (const req of server.requests) assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
      if (f.message) {
        assert.equal(r.stdout, '', 'nothing on stdout after a failure');
        assert.match(assertOneErrorLine(r), f.message);
      } else {
        assert.equal(r.stdout, f.stdout);
        if (f.warning) {
          const lines = r.stderr.split('\n').filter(Boolean);
          assert.equal(lines.length, 1, r.stderr);
          assert.match(lines[0]!, f.warning);
        } else assert.equal(r.stderr, '', 'a retry that succeeds is silent without -v');
      }
    });
  }

  test('-v on a failure: retries are reported, the token still is not', async () => {
    const server = await fresh((req, res) => sendJson(res, 401, { error: { message: `bad token ${String(req.headers.authorization)}` } }));
    const r = await run([pngPath, '-v'], { env: relayEnv(server.url) });
    assert.equal(r.code, 3);
    assertNoToken(r);
    assert.match(r.stderr, /^error: HTTP 401: bad token Bearer \*\*\*/m);
  });

  test('a cross-origin redirect is refused: the second server never sees a request or the token', async () => {
    const other = await startServer(ok);
    try {
      const server = await fresh((_req, res) => {
        res.writeHead(307, { location: `${other.origin}/v1/chat/completions` });
        res.end();
      });
      const r = await run([pngPath], { env: relayEnv(server.url) });
      assertNoToken(r);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(server.requests.length, 1);
      assert.equal(other.requests.length, 0, 'the other origin saw nothing');
      const line = assertOneErrorLine(r);
      assert.equal(
        line,
        `error: HTTP 307: refusing to follow a redirect to ${other.origin} with credentials\nhint: if you trust ${other.origin}, use it as the base URL`,
      );
    } finally {
      await other.close();
    }
  });

  test('a same-origin redirect is followed, once', async () => {
    const server = await fresh((req, res) => {
      if (req.url === '/v1/chat/completions') {
        res.writeHead(307, { location: '/moved/v1/chat/completions' });
        res.end();
      } else ok(req, res, 0);
    });
    const r = await run([pngPath], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ANSWER}\n`);
    assert.deepEqual(
      server.requests.map((q) => q.url),
      ['/v1/chat/completions', '/moved/v1/chat/completions'],
    );
    assert.equal(server.requests[1]!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('retry-after: 1 is honoured (the second attempt waits about a second)', async () => {
    const server = await fresh((_req, res, n) =>
      n === 1 ? sendJson(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' }) : ok(_req, res, n),
    );
    const r = await run([pngPath], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, 2);
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    // Generous: the point is that the header is honoured, not the scheduler's precision.
    assert.ok(gap >= 900 && gap < 10_000, `second attempt ${gap} ms after the first`);
  });
});

describe('interruptions and pipes', () => {
  test('Ctrl-C while waiting for the relay exits 130 at once, quietly', async () => {
    reset(() => {}); // never answers
    let sentAt = 0;
    const r = await runCli([pngPath], {
      env: relayEnv(server.url),
      timeoutMs: 20_000,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.requests.length > 0) {
            clearInterval(poll);
            sentAt = Date.now();
            child.kill('SIGINT');
          }
        }, 10);
        child.on('exit', () => clearInterval(poll));
      },
    });
    const took = Date.now() - sentAt;
    assert.ok(sentAt > 0, 'the request reached the server');
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /\n\s+at |Error|error:/, 'no stack trace, no error line');
    assertNoToken(r);
    assert.equal(server.requests.length, 1, 'no retry after Ctrl-C');
    assert.ok(took < 5_000, `exited ${took} ms after SIGINT`);
  });

  /**
   * `imgdesc <args> | head -c 3` in bash: what head printed, bash's exit code, and imgdesc's own
   * exit code and stderr.
   */
  async function throughHead(args: string[], env: Record<string, string>, name: string) {
    const errFile = join(work, `${name}.err`);
    const codeFile = join(work, `${name}.code`);
    const quoted = args.map((a) => `"${a}"`).join(' ');
    const script = `"${process.execPath}" "${BIN}" ${quoted} 2>"${errFile}" | head -c 3; echo "\${PIPESTATUS[0]}" >"${codeFile}"`;
    const r = await new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ stdout: out, code }));
    });
    return { ...r, stderr: readFileSync(errFile, 'utf8'), exit: readFileSync(codeFile, 'utf8').trim() };
  }

  test('EPIPE: a reader that closes early (| head -c 3) ends the run quietly', async () => {
    const big = 'word '.repeat(200_000).trim(); // 1 MB of answer
    reset((_req, res) => sendJson(res, 200, completion(big)));
    const r = await throughHead([pngPath], cliEnv(relayEnv(server.url)), 'epipe');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'wor');
    assert.equal(r.stderr, '', 'no error text');
    assert.equal(r.exit, '0', 'imgdesc itself exits 0');
  });

  test('EPIPE: `imgdesc log -n 0 | head -c 3` over a history of many 64 KiB writes ends quietly, exit 0', async () => {
    const home = tempDir('imgdesc-cfg-');
    const state = join(home, '.local', 'state', 'imgdesc');
    mkdirSync(state, { recursive: true });
    const record = (i: number) =>
      JSON.stringify({
        id: `0mx${String(i).padStart(10, '0')}`,
        time: new Date(1_780_000_000_000 + i * 1000).toISOString(),
        command: 'batch',
        image: `p${i}.jpg`,
        sha256: null,
        prompt: 'p',
        model: 'm',
        tokens: null,
        duration_ms: 1,
        ok: true,
        answer: 'word '.repeat(200),
      });
    writeFileSync(join(state, 'history.jsonl'), `${Array.from({ length: 3000 }, (_, i) => record(i)).join('\n')}\n`);
    const r = await throughHead(['log', '-n', '0'], cliEnv({}, home), 'log-epipe');
    assert.equal(r.stdout, '0mx');
    assert.equal(r.stderr, '', 'no error text');
    assert.equal(r.exit, '0', 'imgdesc itself exits 0');
  });

  test('EPIPE: stdout destroyed by the reader right away', async () => {
    const big = 'word '.repeat(200_000).trim();
    reset((_req, res) => sendJson(res, 200, completion(big)));
    const r = await runCli([pngPath], {
      env: relayEnv(server.url),
      onSpawn: (child) => child.stdout!.destroy(),
    });
    assert.equal(r.stderr, '', 'no error text');
    assert.ok(r.code === 0, `exit ${r.code} ${r.signal}`);
  });
});

describe('proxy and plain http', () => {
  test('HTTP_PROXY is used; NO_PROXY=127.0.0.1 goes direct', async () => {
    const proxy = await startProxy();
    try {
      const host = new URL(server.url).host;
      reset(ok);
      let r = await runCli([pngPath], { env: relayEnv(server.url, { HTTP_PROXY: proxy.url }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${ANSWER}\n`);
      assert.equal(server.requests.length, 1);
      assert.equal(proxy.seen.length, 1, 'the request went through the proxy');
      // CONNECT host:port (undici tunnels), or an absolute URL (a plain forward).
      assert.ok(
        (proxy.seen[0]!.method === 'CONNECT' && proxy.seen[0]!.target === host) ||
          proxy.seen[0]!.target === `${server.url}/v1/chat/completions`,
        JSON.stringify(proxy.seen),
      );

      proxy.seen.length = 0;
      reset(ok);
      r = await runCli([pngPath], { env: relayEnv(server.url, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(proxy.seen, [], 'NO_PROXY: direct');
    } finally {
      await proxy.close();
    }
  });

  // The line names the relay, not the proxy (undici reports the refused proxy connection as the request's).
  test('a proxy that is down: exit 4, one line, nothing reaches the relay', async () => {
    // A port nothing listens on: bind and close one.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    reset(ok);
    const r = await runCli([pngPath, '--retries', '0'], { env: relayEnv(server.url, { HTTP_PROXY: `http://127.0.0.1:${deadPort}` }) });
    assertNoToken(r);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(server.requests.length, 0);
    assert.match(
      assertOneErrorLine(r),
      /^error: could not connect to 127\.0\.0\.1:\d+: connection refused\nhint: check the host and port of the base URL, and the network or proxy$/,
    );
  });

  test('plain http to a remote host warns about clear text; loopback does not', async () => {
    let r = await run([pngPath, '--dry-run', '--base-url', 'http://example.invalid'], { env: { IMGDESC_TOKEN: TOKEN } });
    assert.equal(r.code, 0, r.stderr);
    assertNoToken(r);
    assert.match(r.stderr, /^warning: http:\/\/example\.invalid is plain http: the token travels in clear text$/m);

    r = await run([pngPath, '--dry-run', '--base-url', 'https://example.invalid'], { env: { IMGDESC_TOKEN: TOKEN } });
    assert.doesNotMatch(r.stderr, /plain http/);
    r = await run([pngPath, '--dry-run', '--base-url', server.url], { env: { IMGDESC_TOKEN: TOKEN } });
    assert.doesNotMatch(r.stderr, /plain http/);
  });
});
