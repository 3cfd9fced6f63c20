// What a failure looks like: for each common one, one short line saying what happened and at most
// one hint line, with no parentheses inside parentheses. The first line may be long only by the
// relay's own words it quotes. Through main(argv, io) against real servers on 127.0.0.1; the
// name-lookup cases run spawned in a network namespace (no DNS there), as the ssrf tests do.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { FIXTURES, TOKEN, fixture, noNetNamespace, relayEnv, run, runCli, type RunResult } from '../helpers/cli.ts';
import { relayPool } from '../helpers/relays.ts';
import { completion, sendJson, serverPool } from '../helpers/server.ts';

const IMAGE = fixture('png-rgb.png'); // sent unchanged: no time spent preparing it
const noImage = existsSync(IMAGE) ? false : `skipped: ${FIXTURES} is absent`;
const relay = relayPool();
const server = serverPool();

/** A port nobody listens on: taken from the kernel, then let go. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The deepest nesting of parentheses in a line: 1 is `(a)`, 2 is `(a (b))`. */
export function parenDepth(line: string): number {
  let depth = 0;
  let deepest = 0;
  for (const ch of line) {
    if (ch === '(') deepest = Math.max(deepest, ++depth);
    else if (ch === ')') depth = Math.max(0, depth - 1);
  }
  return deepest;
}

const MAX_OWN = 120;

/**
 * stderr is `error: …` and at most `hint: …`; the first line is at most MAX_OWN characters besides
 * `quoted` (what the relay or image host said, which the line must show), and no line nests parentheses.
 */
function assertTwoLines(r: RunResult, quoted = ''): void {
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  assert.ok(lines.length <= 2, `at most two lines: ${JSON.stringify(r.stderr)}`);
  const [first = '', hint] = lines;
  assert.match(first, /^error: \S/);
  if (hint !== undefined) assert.match(hint, /^hint: \S/);
  if (quoted) assert.ok(first.includes(quoted), `the line quotes ${JSON.stringify(quoted)}: ${first}`);
  assert.ok(first.length - quoted.length <= MAX_OWN, `short: ${first.length - quoted.length} characters of its own: ${first}`);
  for (const line of lines) assert.ok(parenDepth(line) <= 1, `no nested parentheses: ${line}`);
  assert.ok(!r.stderr.includes(TOKEN), 'no token');
}

describe('parenDepth', () => {
  const cases: [string, number][] = [
    ['no parentheses', 0],
    ['one (level)', 1],
    ['two (a) (b) side by side', 1],
    ['nested (a (b))', 2],
    ['unbalanced ) then (a)', 1],
  ];
  for (const [line, depth] of cases) it(`${line} → ${depth}`, () => assert.equal(parenDepth(line), depth));
});

describe('every common failure: a line, at most a hint, nothing nested', { skip: noImage }, () => {
  const describeWith = (url: string, extra: string[] = [], env: Record<string, string | undefined> = {}) =>
    run([IMAGE, '--retries', '0', ...extra], { env: relayEnv(url, env) });

  it('401 a bad token: exit 3, the relay message, a hint', async () => {
    const s = await relay({ kind: 'one-api' });
    const r = await describeWith(s.url, [], { IMGDESC_TOKEN: 'sk-not-the-token' });
    assert.equal(r.code, 3, r.stderr);
    assertTwoLines(r, '无效的令牌 (request id: 20251127150000123456789)');
    assert.match(r.stderr, /^hint: the token is invalid or expired/m);
  });

  it('404 no such model: exit 4, the model and what the relay said; the list in the hint', async () => {
    const said = 'The model `gpt-5-vision` does not exist or you do not have access to it.';
    const s = await server((req, res) => {
      if (req.url.endsWith('/models')) return sendJson(res, 200, { object: 'list', data: [{ id: 'gpt-4o' }, { id: 'gpt-4.1' }] });
      sendJson(res, 404, { error: { message: said, type: 'invalid_request_error', code: 'model_not_found' } });
    });
    const r = await describeWith(s.url, ['-m', 'gpt-5-vision']);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, said);
    assert.match(r.stderr, /^error: model 'gpt-5-vision' is not available at this relay/);
    assert.match(r.stderr, /^hint: closest the relay lists: gpt-4o/m);
  });

  it('429 after its retries: exit 4, one line, a hint', async () => {
    const said = 'Rate limit reached for requests per min. Please try again later.';
    const s = await server((_req, res) => sendJson(res, 429, { error: { message: said, type: 'requests' } }, { 'retry-after-ms': '10' }));
    const r = await run([IMAGE, '--retries', '2'], { env: relayEnv(s.url) });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(s.requests.length, 3);
    assertTwoLines(r, said);
  });

  it("502 from nginx: exit 4, the status in words, the page's title said once", async () => {
    const s = await server((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>');
    });
    const r = await describeWith(s.url);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, /^error: HTTP 502: Bad Gateway$/m);
  });

  it('500 with a JSON error: exit 4, the relay message', async () => {
    const said = 'upstream error: do request failed: Post "https://api.anthropic.com/v1/messages": EOF';
    const s = await server((_req, res) => sendJson(res, 500, { error: { message: said, type: 'new_api_error' } }));
    const r = await describeWith(s.url);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, said);
  });

  it('a timeout: exit 4, how long it waited, a hint', async () => {
    const s = await server(() => {}); // never answers: any --timeout is reached (0.3 s: no second waited for nothing)
    const r = await describeWith(s.url, ['--timeout', '0.3']);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, /^error: timed out after 0\.3 s\b/m);
    assert.match(r.stderr, /^hint: raise --timeout/m);
  });

  it('connection refused: exit 4, in words, a hint', async () => {
    const port = await closedPort();
    const r = await describeWith(`http://127.0.0.1:${port}`);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, new RegExp(`^error: could not connect to 127\\.0\\.0\\.1:${port}: connection refused$`, 'm'));
    assert.match(r.stderr, /^hint: check the host and port of the base URL/m);
  });

  it('TLS to a server that speaks plain http: exit 4, in words, a hint', async () => {
    const s = await server((_req, res) => sendJson(res, 200, completion('never')));
    const r = await describeWith(s.url.replace(/^http:/, 'https:'));
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, /^error: TLS error connecting to 127\.0\.0\.1:\d+: it does not speak TLS here/m);
  });

  it('an answer that is not valid JSON: exit 4, a piece of it', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"chatcmpl-1","choices":[{"message":{"content":"A marsh');
    });
    const r = await describeWith(s.url);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, '{"id":"chatcmpl-1","choices":[{"message":{"content":"A marsh');
  });

  it("the dashboard's web page instead of the API: exit 4, its title, a hint about the base URL", async () => {
    const s = await relay({ kind: 'new-api' });
    const r = await describeWith(`${s.url}/console/chat/completions`);
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, /^error: HTTP 200: a web page titled "New API" answered, not the API$/m);
    assert.match(r.stderr, /^hint: the base URL may be the relay's dashboard/m);
  });

  it('a download the image host answers 404: exit 4, the host and the status in words', async () => {
    const s = await server((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such picture');
    });
    const url = `${s.url}/pictures/dog.jpg`;
    const r = await run([url, '--allow-private-urls'], { env: relayEnv('http://127.0.0.1:9') });
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, url);
    assert.equal(r.stderr, `error: ${url}: download from ${new URL(s.url).host} failed: HTTP 404 Not Found\n`);
  });

  it('a download refused: exit 4, the host and "connection refused"', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/dog.jpg`;
    const r = await run([url, '--allow-private-urls'], { env: relayEnv('http://127.0.0.1:9') });
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, url);
    assert.equal(r.stderr, `error: ${url}: download from 127.0.0.1:${port} failed: connection refused\n`);
  });
});

// No name resolves in a network namespace with no interface up: the look-up itself fails.
const inNamespace = (args: string[], baseUrl: string) => runCli(args, { env: relayEnv(baseUrl), prefix: ['unshare', '-n'] });

// The two processes run side by side: each is its own, with nothing shared.
describe('a name that does not resolve, in a network namespace', { skip: noNetNamespace || noImage, concurrency: true }, () => {
  it('the relay: exit 4, "name lookup failed" with the host, a hint', async () => {
    const r = await inNamespace([IMAGE, '--retries', '0'], 'https://relay.example.com');
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r);
    assert.match(r.stderr, /^error: could not connect to relay\.example\.com:443: name lookup failed, DNS may be down$/m);
  });

  it('an image host: exit 4, the host and "name lookup failed"', async () => {
    const url = 'https://images.example.com/dog.jpg';
    const r = await inNamespace([url], 'https://relay.example.com');
    assert.equal(r.code, 4, r.stderr);
    assertTwoLines(r, url);
    assert.equal(r.stderr, `error: ${url}: download from images.example.com failed: name lookup failed, DNS may be down\n`);
  });
});
