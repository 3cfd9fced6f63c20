import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonBody, readAnswer, readModelIds, errorFromResponse } from '../../../src/api/response.ts';
import { APIError, InvalidResponseError } from '../../../src/api/errors.ts';

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-123',
  object: 'chat.completion',
  model: 'claude-3-5-sonnet-20240620',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
  ...extra,
});

function throwsWith<T extends Error>(fn: () => unknown, cls: new (...a: never[]) => T, re: RegExp): T {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => ((caught = e), true));
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  assert.match((caught as Error).message, re);
  return caught as T;
}

describe('readAnswer', () => {
  it('string content (the seed response)', () => {
    const a = readAnswer(completion({ content: '\n\nHello there, how may I assist you today?' }));
    assert.equal(a.content, '\n\nHello there, how may I assist you today?');
    assert.deepEqual(a.contents, [a.content]);
    assert.equal(a.finishReason, 'stop');
    assert.equal(a.model, 'claude-3-5-sonnet-20240620');
    assert.equal(a.id, 'chatcmpl-123');
    assert.deepEqual(a.usage, { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    assert.equal(a.reasoning, null);
    assert.equal(a.refusal, null);
  });

  it('an array of text parts is joined; other parts are ignored', () => {
    const a = readAnswer(
      completion({
        content: [
          { type: 'text', text: 'A dog ' },
          { type: 'image_url', image_url: { url: 'x' } },
          { type: 'text', text: 'on a boardwalk.' },
        ],
      }),
    );
    assert.equal(a.content, 'A dog on a boardwalk.');
  });

  it('null content with a refusal → InvalidResponseError quoting it', () => {
    const e = throwsWith(
      () => readAnswer(completion({ content: null, refusal: "I can't help with that." })),
      InvalidResponseError,
      /refused: I can't help with that\./,
    );
    assert.equal(e.exitCode, 4);
  });

  it('null content without a refusal → InvalidResponseError naming finish_reason', () => {
    throwsWith(() => readAnswer(completion({ content: null })), InvalidResponseError, /empty.*finish_reason: stop/);
  });

  it('empty content cut by the token limit → hint to raise --max-tokens', () => {
    const body = completion({ content: '', reasoning_content: 'thinking…' });
    (body.choices[0] as Record<string, unknown>)['finish_reason'] = 'length';
    const e = throwsWith(() => readAnswer(body), InvalidResponseError, /finish_reason: length/);
    assert.match(e.hint ?? '', /--max-tokens/);
  });

  it('empty or missing choices → InvalidResponseError', () => {
    throwsWith(() => readAnswer({ id: 'x', choices: [] }), InvalidResponseError, /no choices/);
    throwsWith(() => readAnswer({ id: 'x' }), InvalidResponseError, /no "choices"/);
    throwsWith(() => readAnswer('hello'), InvalidResponseError, /not a JSON object/);
    throwsWith(() => readAnswer(null), InvalidResponseError, /not a JSON object/);
  });

  it('reasoning from reasoning_content or reasoning', () => {
    assert.equal(readAnswer(completion({ content: 'ok', reasoning_content: 'because' })).reasoning, 'because');
    assert.equal(readAnswer(completion({ content: 'ok', reasoning: 'since' })).reasoning, 'since');
  });

  it('finish_reason is an open string (length kept for the caller to warn)', () => {
    const body = completion({ content: 'A dog on a' });
    (body.choices[0] as Record<string, unknown>)['finish_reason'] = 'length';
    assert.equal(readAnswer(body).finishReason, 'length');
    (body.choices[0] as Record<string, unknown>)['finish_reason'] = 'end_turn';
    assert.equal(readAnswer(body).finishReason, 'end_turn');
    delete (body.choices[0] as Record<string, unknown>)['finish_reason'];
    assert.equal(readAnswer(body).finishReason, null);
  });

  it('several choices (-n) in index order', () => {
    const a = readAnswer({
      choices: [
        { index: 1, message: { content: 'second' }, finish_reason: 'stop' },
        { index: 0, message: { content: [{ type: 'text', text: 'first' }] }, finish_reason: 'length' },
        { index: 2, message: { content: null } },
      ],
    });
    assert.equal(a.content, 'first');
    assert.equal(a.finishReason, 'length');
    assert.deepEqual(a.contents, ['first', 'second', '']);
    assert.equal(a.model, null);
    assert.equal(a.usage, null);
  });
});

describe('parseJsonBody', () => {
  it('returns the parsed JSON (a BOM is tolerated)', () => {
    assert.deepEqual(parseJsonBody(200, 'application/json', '\uFEFF{"a":1}'), { a: 1 });
    assert.deepEqual(parseJsonBody(200, 'text/plain', '{"a":1}'), { a: 1 });
  });

  it('an HTML error page → "HTTP 502 Bad Gateway: <title>"', () => {
    const html = '<html><head><title>openresty: upstream down</title></head><body><h1>502</h1></body></html>';
    const e = throwsWith(
      () => parseJsonBody(502, 'text/html', html, 'req_1'),
      APIError,
      /^HTTP 502: Bad Gateway: openresty: upstream down \(request id req_1\)$/,
    );
    assert.equal(e.status, 502);
    assert.equal(e.exitCode, 4);
  });

  it('nginx "502 Bad Gateway" title is not said twice', () => {
    const html =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>';
    throwsWith(() => parseJsonBody(502, 'text/html', html), APIError, /^HTTP 502: Bad Gateway$/);
  });

  it('HTML with HTTP 200 → InvalidResponseError', () => {
    const e = throwsWith(
      () => parseJsonBody(200, 'text/html; charset=utf-8', '<!DOCTYPE html><html><head><title>Login &amp; Sign-in</title></head></html>'),
      InvalidResponseError,
      /^HTTP 200: a web page titled "Login & Sign-in" answered, not the API$/,
    );
    assert.equal(e.exitCode, 4);
    assert.equal(e.status, 200);
  });

  it('truncated JSON → status and a short snippet', () => {
    const text =
      '{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"A dog standing on a wooden boardwalk in a marsh';
    const e = throwsWith(
      () => parseJsonBody(200, 'application/json', text),
      InvalidResponseError,
      /^HTTP 200: invalid JSON \(.+\): \{"id":"chatcmpl-1".{0,80}…$/,
    );
    assert.ok(e.message.length < 200);
  });

  it('empty 200 body → InvalidResponseError', () => {
    throwsWith(() => parseJsonBody(200, 'application/json', ''), InvalidResponseError, /an empty body/);
  });

  it('{"error":{...}} with HTTP 200 is a failure', () => {
    const body = JSON.stringify({
      error: { message: '当前分组上游负载已饱和，请稍后再试', type: 'new_api_error', code: 'model_not_found' },
    });
    const e = throwsWith(
      () => parseJsonBody(200, 'application/json', body, 'r1'),
      APIError,
      /^HTTP 200 with an error body: 当前分组上游负载已饱和，请稍后再试 \(code: model_not_found, request id r1\)$/,
    );
    assert.equal(e.code, 'model_not_found');
    assert.equal(e.type, 'new_api_error');
    assert.equal(e.exitCode, 4);
  });

  it('an embedded status is used (200 with a 401 inside → exit 3)', () => {
    const e = throwsWith(
      () => parseJsonBody(200, 'application/json', JSON.stringify({ error: { message: 'bad token', status: 401 } })),
      APIError,
      /^HTTP 401: bad token$/,
    );
    assert.equal(e.status, 401);
    assert.equal(e.exitCode, 3);
  });

  it('Anthropic-shaped error → APIError with the status its type implies', () => {
    const body = JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const e = throwsWith(
      () => parseJsonBody(200, 'application/json', body),
      APIError,
      /^HTTP 529: Overloaded \(code: |^HTTP 529: Overloaded$/,
    );
    assert.equal(e.status, 529);
    assert.equal(e.type, 'overloaded_error');
    const auth = throwsWith(
      () =>
        parseJsonBody(
          401,
          'application/json',
          JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }),
        ),
      APIError,
      /^HTTP 401: invalid x-api-key$/,
    );
    assert.equal(auth.exitCode, 3);
    assert.match(auth.hint ?? '', /imgdesc config set token/);
  });

  it('non-2xx JSON error: the server message, code and request id, on one line', () => {
    const body = JSON.stringify({ error: { message: '无效的令牌\n(please check)', type: 'new_api_error', code: 'invalid_api_key' } });
    const e = throwsWith(
      () => parseJsonBody(401, 'application/json', body, 'req_123'),
      APIError,
      /^HTTP 401: 无效的令牌 \(please check\) \(code: invalid_api_key, request id req_123\)$/,
    );
    assert.equal(e.requestId, 'req_123');
  });

  it('other error shapes: {"error":"text"}, {"message"}, {"detail"}, Gemini array', () => {
    throwsWith(() => parseJsonBody(400, undefined, '{"error":"model is required"}'), APIError, /^HTTP 400: model is required$/);
    throwsWith(() => parseJsonBody(404, undefined, '{"message":"no route"}'), APIError, /^HTTP 404: no route$/);
    throwsWith(() => parseJsonBody(422, undefined, '{"detail":"bad body"}'), APIError, /^HTTP 422: bad body$/);
    throwsWith(
      () => parseJsonBody(400, undefined, '[{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}]'),
      APIError,
      /^HTTP 400: API key not valid \(code: 400\)$/,
    );
    throwsWith(() => parseJsonBody(500, undefined, '{"weird":true}'), APIError, /^HTTP 500: Internal Server Error: \{"weird":true\}$/);
    throwsWith(() => parseJsonBody(503, undefined, ''), APIError, /^HTTP 503: Service Unavailable: an empty body$/);
  });

  it('redacts the token when the server echoes it', () => {
    const body = JSON.stringify({ error: { message: 'invalid token: Bearer sk-live-abcdef123456', code: 'sk-live-abcdef123456' } });
    const e = throwsWith(
      () => parseJsonBody(401, undefined, body, undefined, { token: 'sk-live-abcdef123456' }),
      APIError,
      /Bearer \*\*\*/,
    );
    assert.ok(!e.message.includes('sk-live'));
    assert.ok(!String(e.code).includes('sk-live'));
    assert.ok(!(e.raw ?? '').includes('sk-live'));
  });

  it('404 hint names the URL that was requested', () => {
    const e = errorFromResponse(404, 'text/plain', 'Not Found', null, { url: 'https://h/v1/chat/completions' });
    assert.match(e.hint ?? '', /https:\/\/h\/v1\/chat\/completions/);
  });
});

describe('readModelIds', () => {
  it('sorted ids from {"data":[...]}', () =>
    assert.deepEqual(readModelIds({ object: 'list', data: [{ id: 'b' }, { id: 'a' }, {}] }), ['a', 'b']));
  it('no data → InvalidResponseError', () => assert.throws(() => readModelIds({}), InvalidResponseError));
});
