// End to end: the built CLI against a recording relay on 127.0.0.1.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, relayEnv, TOKEN, fixture, noFixtures, tempDir, failureLine } from '../helpers/cli.ts';
import { completion, sendJson, startServer, type TestServer, describeOk } from '../helpers/server.ts';
import { validateChatRequest } from '../helpers/openapi.ts';
import sharp from 'sharp';

let server: TestServer;
let pngPath: string;
let pngBytes: Buffer;
const work = tempDir();

before(async () => {
  server = await startServer();
  pngBytes = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a7' } })
    .png()
    .toBuffer();
  pngPath = join(work, 'photo.png');
  writeFileSync(pngPath, pngBytes);
});
after(() => server.close());

function reset(handler = describeOk) {
  server.requests.length = 0;
  server.handler = handler;
}

/** No output of any run may contain the token. */
function assertNoToken(r: { stdout: string; stderr: string }) {
  assert.ok(!r.stdout.includes(TOKEN), 'token leaked on stdout');
  assert.ok(!r.stderr.includes(TOKEN), 'token leaked on stderr');
}

function assertValidBody(body: unknown) {
  const problems = validateChatRequest(body);
  if (problems === null) return; // ../shared absent
  assert.deepEqual(problems, [], 'request body does not match CreateChatCompletionRequest');
}

describe('describe', () => {
  test('prints only the answer, and sends the seed request', async () => {
    reset();
    const r = await run([pngPath], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A boardwalk through a green marsh.\n');
    assert.equal(r.stderr, '');
    assert.equal(server.requests.length, 1);
    const req = server.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/chat/completions');
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(req.headers['content-type'], 'application/json');
    assertValidBody(req.json);
    assert.equal(req.json.model, 'claude-3-5-sonnet-20240620');
    assert.equal(req.json.messages.length, 1, 'no system message unless one is set');
    const [text, image] = req.json.messages[0].content;
    assert.deepEqual(text, { type: 'text', text: 'What is in this picture? Please describe it in detail.' });
    assert.equal(image.type, 'image_url');
    assert.equal(image.image_url.url, `data:image/png;base64,${pngBytes.toString('base64')}`);
    assert.equal(req.json.stream, undefined);
  });

  test('positional prompt, the describe verb, and every request option', async () => {
    reset();
    const r = await run(
      [
        'describe',
        pngPath,
        'what breed is this dog?',
        '-m',
        'gpt-4o',
        '-s',
        'Be brief.',
        '--max-tokens',
        '300',
        '--temperature',
        '0.2',
        '--detail',
        'low',
      ],
      { env: relayEnv(server.url) },
    );
    assert.equal(r.code, 0, r.stderr);
    const body = server.requests[0]!.json;
    assertValidBody(body);
    assert.equal(body.model, 'gpt-4o');
    assert.deepEqual(body.messages[0], { role: 'system', content: 'Be brief.' });
    assert.equal(body.messages[1].content[0].text, 'what breed is this dog?');
    assert.equal(body.messages[1].content[1].image_url.detail, 'low');
    assert.equal(body.max_tokens, 300);
    assert.equal(body.temperature, 0.2);
  });

  test('--json prints the body exactly as received', async () => {
    const raw =
      '{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi  there"},"finish_reason":"stop"}],  "usage":{"total_tokens":7}}';
    reset((_req, res) => sendJson(res, 200, raw));
    const r = await run(['--json', pngPath], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, raw);
  });

  test('answers given as an array of text parts are joined', async () => {
    reset((_req, res) =>
      sendJson(
        res,
        200,
        completion([
          { type: 'text', text: 'Two ' },
          { type: 'text', text: 'parts.' },
        ]),
      ),
    );
    const r = await run([pngPath], { env: relayEnv(server.url) });
    assert.equal(r.stdout, 'Two parts.\n');
  });

  test('stdin (-), data: URL and http URL inputs', async () => {
    reset();
    let r = await run(['-'], { env: relayEnv(server.url), input: pngBytes });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[0]!.json.messages[0].content[1].image_url.url, `data:image/png;base64,${pngBytes.toString('base64')}`);

    const dataUrl = `data:image/png;base64,${pngBytes.toString('base64')}`;
    r = await run([dataUrl], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[1]!.json.messages[0].content[1].image_url.url, dataUrl);

    const url =
      'https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg';
    r = await run([url, '--pass-url'], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[2]!.json.messages[0].content[1].image_url.url, url);

    // By default a URL is fetched here and prepared like a file; the image host gets no credentials.
    const host = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(pngBytes);
    });
    try {
      // The image host is on loopback, refused without the opt-in (test/e2e/ssrf.test.ts).
      r = await run([`${host.url}/photo.png`, '--inline', '--allow-private-urls'], { env: relayEnv(server.url) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(server.requests[3]!.json.messages[0].content[1].image_url.url, `data:image/png;base64,${pngBytes.toString('base64')}`);
      assert.equal(host.requests[0]!.headers.authorization, undefined);
    } finally {
      await host.close();
    }
  });

  test('-v: a fetched URL is reported as what was fetched, only --pass-url as passed through', async () => {
    reset();
    const host = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(pngBytes);
    });
    try {
      const fetched = await run([`${host.url}/photo.png`, '-v', '--allow-private-urls'], { env: relayEnv(server.url) });
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.match(fetched.stderr, new RegExp(`${host.url}/photo.png: png \\d+x\\d+ .*sent unchanged`));
      assert.doesNotMatch(fetched.stderr, /passed through|--pass-url/);
      const passed = await run([`${host.url}/photo.png`, '-v', '--pass-url', '--allow-private-urls'], { env: relayEnv(server.url) });
      assert.equal(passed.code, 0, passed.stderr);
      assert.match(passed.stderr, /photo\.png: URL passed through as given \(--pass-url: the relay fetches it\)/);
    } finally {
      await host.close();
    }
  });

  test('a model known to take no images: one line naming a vision model, sent once, not retried', async () => {
    for (const [model, status, message] of [
      ['dall-e-3', 500, 'bad response status code 500'],
      ['deepseek-chat', 400, 'Failed to deserialize the JSON body into the target type: messages[0]: unknown variant `image_url`'],
    ] as const) {
      reset((req, res) => {
        if (req.method === 'GET') sendJson(res, 200, { object: 'list', data: ['gpt-4o', model].map((id) => ({ id, object: 'model' })) });
        else sendJson(res, status, { error: { message, type: 'upstream_error' } });
      });
      const r = await run([pngPath, '-m', model], { env: relayEnv(server.url) });
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: ${model} takes no images: it is an? [a-z-]+ model`));
      assert.match(r.stderr, /-m gpt-4o/);
      failureLine(r.stderr);
      assert.equal(server.requests.filter((q) => q.method === 'POST').length, 1, `${model}: sent once`);
    }
  });

  test('-i adds more images to the same request, in order', async () => {
    reset();
    const second = join(work, 'second.png');
    writeFileSync(
      second,
      await sharp({ create: { width: 20, height: 20, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    const r = await run([pngPath, 'compare them', '-i', second, '-i', 'https://example.com/c.jpg', '--pass-url'], {
      env: relayEnv(server.url),
    });
    assert.equal(r.code, 0, r.stderr);
    const parts = server.requests[0]!.json.messages[0].content;
    assert.equal(parts.length, 4);
    assert.equal(parts[0].text, 'compare them');
    assert.ok(parts[1].image_url.url.startsWith('data:image/png;base64,'));
    assert.ok(parts[2].image_url.url.startsWith('data:image/png;base64,'));
    assert.equal(parts[3].image_url.url, 'https://example.com/c.jpg');
    assertValidBody(server.requests[0]!.json);
  });

  test('bad inputs exit 2 with one line and send nothing', async () => {
    reset();
    const dir = join(work, 'a-folder');
    mkdirSync(dir, { recursive: true });
    const unreadable = join(work, 'secret.png');
    writeFileSync(unreadable, pngBytes);
    chmodSync(unreadable, 0o000);
    const text = join(work, 'notes.jpg');
    writeFileSync(text, 'hello, this is text\n');
    const empty = join(work, 'empty.jpg');
    writeFileSync(empty, '');
    const cases = [join(work, 'missing.jpg'), dir, text, empty, 'ftp://example.com/x.png', 'data:image/png;base64,not-base64!!'];
    // root reads any file, so only test unreadable files when not root
    if (process.getuid?.() !== 0) cases.push(unreadable);
    for (const input of cases) {
      const r = await run([input], { env: relayEnv(server.url) });
      assert.equal(r.code, 2, `${input}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      failureLine(r.stderr, `one line for ${input}: ${r.stderr}`);
      assert.match(r.stderr, /^error: /);
    }
    assert.equal(server.requests.length, 0);
  });

  test('real fixtures: non-images are refused with the detected type', { skip: noFixtures }, async () => {
    reset();
    for (const [name, what] of [
      ['notimage-pdf.pdf', /PDF/i],
      ['notimage-zip.zip', /zip/i],
      ['notimage-text-renamed.jpg', /not an image/i],
      ['notimage-json-named.webp', /not an image/i],
      ['zero-byte.jpg', /empty/i],
      ['truncated-landscape.jpg', /corrupt|truncated/i],
    ] as const) {
      const r = await run([fixture(name)], { env: relayEnv(server.url) });
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, what, name);
    }
    assert.equal(server.requests.length, 0);
  });

  test('real fixtures: accepted images are sent byte-identical', { skip: noFixtures }, async () => {
    reset();
    for (const [name, mime] of [
      ['jpeg-baseline.jpg', 'image/jpeg'],
      ['png-filetype.png', 'image/png'],
      ['gif-static.gif', 'image/gif'],
      ['webp-lossy.webp', 'image/webp'],
    ] as const) {
      const r = await run([fixture(name)], { env: relayEnv(server.url) });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const url = server.requests.at(-1)!.json.messages[0].content[1].image_url.url as string;
      assert.equal(url, `data:${mime};base64,${readFileSync(fixture(name)).toString('base64')}`, name);
    }
  });

  test('--dry-run prints the request with the token and image data redacted, sends nothing', async () => {
    reset();
    const r = await run(['--dry-run', pngPath, 'hello'], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, 0);
    assertNoToken(r);
    assert.match(r.stdout, new RegExp(`^POST ${server.url}/v1/chat/completions$`, 'm'));
    assert.match(r.stdout, /Authorization: Bearer \[redacted sk-…cdef\]/);
    assert.match(r.stdout, /"url": "data:image\/png;base64,… \(\d+ base64 characters, \d+ bytes\)"/);
    assert.match(r.stderr, /photo\.png: png 64x48/);

    const j = await run(['--dry-run', '--json', pngPath], { env: relayEnv(server.url) });
    const shown = JSON.parse(j.stdout);
    assert.equal(shown.method, 'POST');
    assert.equal(shown.body.model, 'claude-3-5-sonnet-20240620');
    assertNoToken(j);
  });

  test('base URL forms users paste: one rule (endpoint exact, version root as given, else /v1; query kept)', async () => {
    for (const [base, path] of [
      [server.url, '/v1/chat/completions'],
      [`${server.url}/`, '/v1/chat/completions'],
      [`${server.url}/v1`, '/v1/chat/completions'],
      [`${server.url}/v1/`, '/v1/chat/completions'],
      [`${server.url}/v1/chat/completions`, '/v1/chat/completions'],
      [`${server.url}/openai/v1`, '/openai/v1/chat/completions'],
      [`${server.url}/v1beta/openai/`, '/v1beta/openai/chat/completions'],
      [`${server.url}/odd/chat/completions`, '/odd/chat/completions'],
      [`${server.url}/openai?api-version=2024-10-21`, '/openai/chat/completions?api-version=2024-10-21'],
    ] as const) {
      reset();
      const r = await run([pngPath], { env: relayEnv(base) });
      assert.equal(r.code, 0, `${base}: ${r.stderr}`);
      assert.equal(server.requests[0]!.url, path, base);
    }
  });

  test('finish_reason length prints the answer and a warning', async () => {
    reset((_req, res) => sendJson(res, 200, completion('A boardwalk thro', { finish_reason: 'length' })));
    const r = await run([pngPath], { env: relayEnv(server.url) });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'A boardwalk thro\n');
    assert.match(r.stderr, /warning: .*cut off.*max-tokens/);
  });
});

describe('describe failures', () => {
  const cases: [string, (res: import('node:http').ServerResponse) => void, number, RegExp][] = [
    ['401 from a relay', (res) => sendJson(res, 401, { error: { message: '无效的令牌', type: 'new_api_error' } }), 3, /401.*无效的令牌/],
    [
      '403 no quota',
      (res) =>
        sendJson(res, 403, { error: { message: 'insufficient_user_quota', type: 'new_api_error', code: 'insufficient_user_quota' } }),
      3,
      /403.*insufficient_user_quota/,
    ],
    [
      '400 with request id',
      (res) => sendJson(res, 400, { error: { message: 'model not found', code: 'model_not_found' } }, { 'x-request-id': 'req_abc' }),
      4,
      /400.*model not found.*req_abc/,
    ],
    [
      '200 with an error body',
      (res) => sendJson(res, 200, { error: { message: 'upstream overloaded', type: 'upstream_error' } }),
      4,
      /upstream overloaded/,
    ],
    [
      'HTML page',
      (res) => {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><head><title>404 Not Found</title></head><body>nginx</body></html>');
      },
      4,
      /404.*Not Found/,
    ],
    [
      'not JSON',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[{"mess');
      },
      4,
      /JSON|truncated/i,
    ],
    [
      'null content with refusal',
      (res) => sendJson(res, 200, completion(null, { message: { refusal: 'I cannot help with that.' } })),
      4,
      /cannot help/,
    ],
    ['empty content', (res) => sendJson(res, 200, completion('')), 4, /empty/i],
    ['no choices', (res) => sendJson(res, 200, { id: 'x', choices: [] }), 4, /choices/i],
  ];
  for (const [name, answer, code, message] of cases) {
    test(`${name} → exit ${code}, one line`, async () => {
      reset((_req, res) => answer(res));
      const r = await run([pngPath, '--retries', '0'], { env: relayEnv(server.url) });
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      failureLine(r.stderr);
      assert.doesNotMatch(r.stderr, / {4}at /, 'no stack trace');
      assertNoToken(r);
    });
  }

  test('no base URL or token → exit 3 with how to set it, nothing sent', async () => {
    reset();
    let r = await run([pngPath], { env: { IMGDESC_TOKEN: TOKEN } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no base URL configured\nhint: run imgdesc init/);
    r = await run([pngPath], { env: { IMGDESC_BASE_URL: server.url } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no API token configured\nhint: .*config set token/);
    assert.equal(server.requests.length, 0);
  });

  test('-v shows a stack for internal detail only on request, never the token', async () => {
    reset((_req, res) => sendJson(res, 500, { error: { message: `bad header Bearer ${TOKEN}` } }));
    const r = await run([pngPath, '-v', '--retries', '0'], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assertNoToken(r);
  });
});

describe('models', () => {
  test('lists ids, and --json prints the raw body', async () => {
    reset();
    const r = await run(['models'], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'claude-3-5-sonnet-20240620\ngpt-4o\n');
    assert.equal(server.requests[0]!.url, '/v1/models');
    assert.equal(server.requests[0]!.method, 'GET');
    const j = await run(['models', '--json'], { env: relayEnv(server.url) });
    assert.equal(JSON.parse(j.stdout).data.length, 2);
  });

  test('a model list without "data" exits 4 with one line', async () => {
    reset((_req, res) => sendJson(res, 200, { object: 'list' }));
    const r = await run(['models'], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: the model list has no "data" array\n$/);
  });
});
