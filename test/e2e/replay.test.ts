// Replay of what real relays send: one-api (songquanpeng/one-api), new-api (QuantumNous/new-api),
// Cloudflare in front of them, and the providers' OpenAI-compatibility layers. Every case copies the
// SHAPE of a real answer (status, headers, body) and names the file or page it comes from.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { startServer, type Handler, type RecordedRequest, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let png: string;
before(async () => {
  server = await startServer();
  png = join(tempDir(), 'marsh.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#496' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

// one-api middleware/request-id.go: X-Oneapi-Request-Id, made by common/helper GenRequestID (time + 8 digits).
const ONE_API_ID = '2025112714000012345678';
function oneApi(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-oneapi-request-id': ONE_API_ID, ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
/** one-api middleware/utils.go abortWithMessage + common/helper MessageWithRequestId: `<message> (request id: <id>)`. */
const oneApiError = (message: string, code?: string) => ({
  error: { message: `${message} (request id: ${ONE_API_ID})`, type: 'one_api_error', ...(code ? { code } : {}) },
});

/** A chat.completion as new-api's Claude adaptor writes it (relay/channel/claude/relay-claude.go ResponseClaude2OpenAI). */
function claudeCompletion(content: string, finish = 'stop', extra: Record<string, unknown> = {}) {
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    object: 'chat.completion',
    created: 1764252000,
    model: 'claude-sonnet-4-5-20250929',
    choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: finish }],
    // new-api dto.Usage: prompt_tokens_details / completion_tokens_details ride along
    usage: {
      prompt_tokens: 1210,
      completion_tokens: 48,
      total_tokens: 1258,
      prompt_tokens_details: { cached_tokens: 0, text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      completion_tokens_details: { text_tokens: 0, audio_tokens: 0, reasoning_tokens: 0 },
    },
  };
}

function replay(handler: Handler) {
  server.requests.length = 0;
  server.handler = handler;
}
const posts = () => server.requests.filter((q: RecordedRequest) => q.method === 'POST');
const env = (extra: Record<string, string | undefined> = {}) =>
  relayEnv(server.url, { IMGDESC_MODEL: 'claude-sonnet-4-5-20250929', ...extra });

describe('replay: one-api / new-api errors', () => {
  test('401 无效的令牌 (one-api middleware/auth.go) → exit 3, the token hint', async () => {
    replay((_q, res) => oneApi(res, 401, oneApiError('无效的令牌')));
    const r = await run([png], { env: env() });
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /HTTP 401: 无效的令牌 \(request id: 2025112714000012345678\)\nhint: the token is invalid or expired: imgdesc config set token/,
    );
    assert.equal(posts().length, 1);
  });

  test('403 insufficient_user_quota (one-api relay/controller/helper.go preConsumeQuota) → exit 3, the quota hint', async () => {
    replay((_q, res) => oneApi(res, 403, oneApiError('user quota is not enough', 'insufficient_user_quota')));
    const r = await run([png], { env: env() });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /out of quota: top it up/);
  });

  test('403 该令牌无权使用模型 (one-api middleware/auth.go, token model list) → exit 3, the model hint', async () => {
    replay((_q, res) => oneApi(res, 403, oneApiError('该令牌无权使用模型：claude-sonnet-4-5-20250929')));
    const r = await run([png], { env: env() });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /this token may not use that model/);
  });

  test('503 无可用渠道 for a model the relay does not list (one-api middleware/distributor.go) → exit 4, closest ids, not retried', async () => {
    replay((q, res) =>
      q.method === 'GET'
        ? oneApi(res, 200, {
            object: 'list',
            data: [
              { id: 'claude-sonnet-4-20250514', object: 'model', created: 1626777600, owned_by: 'anthropic' },
              { id: 'gpt-4o', object: 'model', created: 1626777600, owned_by: 'openai' },
            ],
          })
        : oneApi(res, 503, oneApiError(`当前分组 default 下对于模型 ${String(q.json.model)} 无可用渠道`)),
    );
    const r = await run([png], { env: env() });
    assert.equal(r.code, 4);
    assert.match(
      r.stderr,
      /model 'claude-sonnet-4-5-20250929' is not available at this relay: HTTP 503: 当前分组 default 下对于模型 claude-sonnet-4-5-20250929 无可用渠道.*\nhint: closest the relay lists: claude-sonnet-4-20250514/,
    );
    assert.equal(posts().length, 1);
  });

  test('429 with an empty body and no Retry-After (one-api middleware/rate-limit.go c.Status(429)) → retried, then the answer', async () => {
    let n = 0;
    replay((_q, res) => {
      if (++n === 1) {
        res.writeHead(429);
        res.end();
      } else oneApi(res, 200, claudeCompletion('A boardwalk through a marsh.'));
    });
    const r = await run([png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A boardwalk through a marsh.\n');
    assert.equal(posts().length, 2);
  });

  test('200 with an overloaded group (one-api controller/relay.go: 当前分组上游负载已饱和) → retried', async () => {
    let n = 0;
    replay((_q, res) =>
      ++n === 1
        ? oneApi(res, 200, { error: { message: '当前分组上游负载已饱和，请稍后再试', type: 'new_api_error', code: 'model_not_found' } })
        : oneApi(res, 200, claudeCompletion('Marsh.')),
    );
    const r = await run([png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(posts().length, 2);
  });

  test('the new-api dashboard HTML at 200 (the web app answers unknown paths) → exit 4 naming it', async () => {
    replay((_q, res) => {
      // new-api web/index.html, served for any path the API router does not know
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!doctype html><html lang="zh"><head><meta charset="UTF-8" /><link rel="icon" href="/logo.png" /><title>New API</title></head><body><div id="root"></div></body></html>',
      );
    });
    const r = await run([png], { env: env({ IMGDESC_BASE_URL: `${server.url}/console/chat/completions` }) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /HTTP 200: a web page titled "New API" answered, not the API\nhint: the base URL may be the relay's dashboard/);
    assert.match(r.stderr, /base URL/);
  });
});

describe('replay: timeouts in front of the relay', () => {
  test('Cloudflare 524 (origin took over 100 s) → not retried, says why and points at --stream', async () => {
    replay((_q, res) => {
      // Cloudflare's 5xx error page: <title>relay.example.com | 524: A timeout occurred</title>, header cf-ray
      res.writeHead(524, { 'content-type': 'text/html; charset=UTF-8', 'cf-ray': '8e2c1f0d2a3b4c5d-FRA', server: 'cloudflare' });
      res.end(
        '<!DOCTYPE html><html lang="en-US"><head><title>relay.example.com | 524: A timeout occurred</title></head><body><h1>A timeout occurred</h1><span>Error code 524</span></body></html>',
      );
    });
    const r = await run([png], { env: env() });
    assert.equal(r.code, 4);
    assert.equal(posts().length, 1);
    assert.match(
      r.stderr,
      /HTTP 524: .*A timeout occurred.*8e2c1f0d2a3b4c5d-FRA.*\nhint: not retried: the upstream may already have billed it; --stream keeps long answers alive/,
    );
  });

  test('--stream sends stream: true and assembles the events; --json prints the assembled chat.completion', async () => {
    // one-api relay/adaptor/openai/main.go StreamHandler: data: {chat.completion.chunk}\n\n … data: [DONE]
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-oneapi-1', object: 'chat.completion.chunk', created: 1764252000, model: 'claude-sonnet-4-5-20250929', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
    replay((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-oneapi-request-id': ONE_API_ID });
      res.write(chunk({ role: 'assistant', content: '' }));
      res.write(': keep-alive\n\n');
      res.write(chunk({ reasoning_content: 'Water, reeds.' }));
      res.write(chunk({ content: 'A boardwalk ' }));
      res.write(chunk({ content: 'through a marsh.' }));
      res.end(chunk({}, 'stop', { prompt_tokens: 10, completion_tokens: 6, total_tokens: 16 }) + 'data: [DONE]\n\n');
    });
    let r = await run(['--stream', '--show-reasoning', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A boardwalk through a marsh.\n');
    assert.match(r.stderr, /Water, reeds\./);
    assert.equal(posts()[0]!.json.stream, true);
    assert.equal(posts()[0]!.headers.accept, 'text/event-stream');
    r = await run(['--stream', '--json', png], { env: env() });
    const body = JSON.parse(r.stdout);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0].message.content, 'A boardwalk through a marsh.');
    assert.equal(body.usage.total_tokens, 16);
  });

  test('a profile can make --stream the default', async () => {
    const home = tempDir('imgdesc-cfg-');
    assert.equal((await run(['config', 'set', 'stream', 'true'], { configHome: home })).code, 0);
    replay((_q, res) => oneApi(res, 200, claudeCompletion('Marsh.')));
    const r = await run([png], { env: env(), configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(posts()[0]!.json.stream, true);
  });
});

describe('replay: answers as relays send them', () => {
  test('finish_reason "max_tokens" (new-api relay/channel/claude/relay-claude.go, older versions) is a cut-off: warned', async () => {
    replay((_q, res) => oneApi(res, 200, claudeCompletion('A boardwalk thro', 'max_tokens')));
    const r = await run([png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: the answer was cut off \(finish_reason: max_tokens\); raise --max-tokens/);
  });

  test('batch: a max_tokens cut-off is a flagged, counted record (failed with verdict truncated under the default guards)', async () => {
    replay((_q, res) => oneApi(res, 200, claudeCompletion('A boardwalk thro', 'max_tokens')));
    const dir = tempDir();
    writeFileSync(
      join(dir, 'a.png'),
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    // The answer guards (on by default) fail it with the verdict "truncated"
    let r = await run(['batch', dir], { env: env() });
    assert.equal(r.code, 5, r.stderr);
    let rec = JSON.parse(r.stdout.trim());
    assert.equal(rec.ok, false);
    assert.equal(rec.verdict, 'truncated');
    // without them it is an ok record, flagged and counted
    r = await run(['batch', '--no-guards', dir], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    rec = JSON.parse(r.stdout.trim());
    assert.equal(rec.cut_off, true);
    assert.equal(rec.finish_reason, 'max_tokens');
    assert.match(r.stderr, /1 cut off at the token limit/);
  });

  test('reasoning_content and prompt_tokens_details (new-api dto) are read; --show-reasoning prints the reasoning', async () => {
    replay((_q, res) => oneApi(res, 200, claudeCompletion('A marsh.', 'stop', { reasoning_content: 'Reeds, water, planks.' })));
    const r = await run(['--show-reasoning', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A marsh.\n');
    assert.match(r.stderr, /Reeds, water, planks\./);
  });

  test('an SSE body for a non-stream request (new-api follows the upstream Content-Type) is assembled', async () => {
    replay((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(
        'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"role":"assistant","content":"A marsh"},"finish_reason":null}]}\n\n' +
          'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gemini-2.5-flash","choices":[{"index":0,"delta":{"content":" at dawn."},"finish_reason":"stop"}]}\n\n' +
          'data: [DONE]\n\n',
      );
    });
    const r = await run([png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A marsh at dawn.\n');
    assert.equal(posts().length, 1);
  });

  test('Gemini no candidates: HTTP 200 {"error":{"message":"No candidates returned","code":500}} → exit 4, not retried', async () => {
    replay((_q, res) => oneApi(res, 200, { error: { message: 'No candidates returned', code: 500 } }));
    const r = await run([png], { env: env({ IMGDESC_MODEL: 'gemini-2.5-flash' }) });
    assert.equal(r.code, 4);
    assert.equal(posts().length, 1);
    assert.match(r.stderr, /No candidates returned.*\nhint: .*safety block.*not retried/);
  });

  test('content_filter with no content (OpenAI finish_reason) → exit 4, said, not retried', async () => {
    replay((_q, res) => oneApi(res, 200, { ...claudeCompletion('', 'content_filter'), model: 'gpt-4o' }));
    const r = await run([png], { env: env({ IMGDESC_MODEL: 'gpt-4o' }) });
    assert.equal(r.code, 4);
    assert.equal(posts().length, 1);
    assert.match(r.stderr, /blocked by the provider's safety filter \(finish_reason: content_filter\)/);
  });
});

describe('replay: a Claude channel (relays drop response_format and n)', () => {
  /** one-api relay/adaptor/anthropic/main.go ConvertRequest: no response_format, no n reach Claude; one answer per request. */
  const claudeRelay: Handler = (q, res) => {
    const prompt: string = q.json.messages.at(-1).content.find((p: { type: string }) => p.type === 'text')?.text ?? '';
    const json = prompt.includes('JSON Schema');
    oneApi(res, 200, claudeCompletion(json ? '{"caption":"A marsh.","tags":["marsh","boardwalk"]}' : `Answer ${server.requests.length}.`));
  };

  test('--schema with the default mode: JSON through a relay that drops response_format (| jq .tags works)', async () => {
    replay(claudeRelay);
    const r = await run(['--schema', 'caption, tags string[]', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).tags, ['marsh', 'boardwalk']);
  });

  test('-n 2: two answers from two requests, n never sent', async () => {
    replay(claudeRelay);
    const r = await run(['-n', '2', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Answer 1.\n\nAnswer 2.\n');
    assert.ok(posts().every((q) => q.json.n === undefined));
  });

  test('--reasoning-effort high: max_tokens above the 4096-token thinking budget new-api makes of it, temperature dropped (shown by --dry-run)', async () => {
    replay(claudeRelay);
    const r = await run(['--reasoning-effort', 'high', '--max-tokens', '300', '--temperature', '0.3', '--dry-run', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    assert.equal(body.max_tokens, 4396);
    assert.equal(body.temperature, undefined);
    assert.match(r.stderr, /model family claude: max_tokens 4396: above the 4096-token thinking budget/);
    assert.equal(server.requests.length, 0);
  });

  test('OpenAI reasoning models: max_completion_tokens, no temperature', async () => {
    const r = await run(['-m', 'o3', '--max-tokens', '300', '--temperature', '0.3', '--dry-run', '--json', png], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const { body } = JSON.parse(r.stdout);
    assert.equal(body.max_completion_tokens, 300);
    assert.equal(body.max_tokens, undefined);
    assert.equal(body.temperature, undefined);
  });
});
