import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  InvalidResponseError,
  authHint,
  findRequestId,
  isModelNotFound,
  isNoChannel,
  redact,
} from '../../../src/api/errors.ts';
import { CliError } from '../../../src/types.ts';

describe('APIError', () => {
  const table: [number | undefined, number, RegExp | undefined][] = [
    [400, 4, undefined],
    [401, 3, /imgdesc config set token/],
    [403, 3, /imgdesc config set token/],
    [404, 4, /base URL/],
    [413, 4, /--max-bytes/],
    [429, 4, /--concurrency/],
    [500, 4, undefined],
    [529, 4, undefined],
    [undefined, 4, undefined],
  ];
  for (const [status, exit, hint] of table) {
    it(`status ${status} → exit ${exit}`, () => {
      const e = new APIError({ status, message: 'x' });
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, exit);
      if (hint) assert.match(e.hint ?? '', hint);
      else assert.equal(e.hint, undefined);
    });
  }

  it('one line: status, message, code, request id', () => {
    const e = new APIError({ status: 401, message: '无效的令牌', code: 'invalid_key', headers: { 'x-request-id': 'req_123' } });
    assert.equal(e.message, 'HTTP 401: 无效的令牌 (code: invalid_key, request id req_123)');
    assert.equal(e.requestId, 'req_123');
    assert.equal(e.serverMessage, '无效的令牌');
  });

  it('does not repeat a request id or code the message already has (new-api appends it)', () => {
    const e = new APIError({ status: 503, message: 'no channel (request id: 20250101abc)', requestId: '20250101abc', code: 'no channel' });
    assert.equal(e.message, 'HTTP 503: no channel (request id: 20250101abc)');
  });

  it('an empty message falls back to the reason phrase', () => {
    assert.equal(new APIError({ status: 503, message: '' }).message, 'HTTP 503: Service Unavailable');
  });

  it('long and multi-line messages are cut to one line', () => {
    const e = new APIError({ status: 500, message: `line one\nline two ${'x'.repeat(1000)}` });
    assert.ok(!e.message.includes('\n'));
    assert.ok(e.message.length < 330);
  });

  it('redacts the token everywhere it keeps text', () => {
    const token = 'sk-abcdef123456';
    const e = new APIError({ status: 401, message: `bad ${token}`, code: token, type: token, raw: `{"auth":"Bearer ${token}"}`, token });
    for (const s of [e.message, e.code, e.type, e.raw, e.serverMessage]) assert.ok(!String(s).includes(token), String(s));
  });
});

describe('errors', () => {
  it('connection, timeout and invalid-response errors exit 4', () => {
    assert.equal(new APIConnectionError('could not connect to 127.0.0.1:9: ECONNREFUSED', { code: 'ECONNREFUSED' }).exitCode, 4);
    const t = new APITimeoutError('timed out after 300 s (3 attempts)');
    assert.ok(t instanceof APIConnectionError);
    assert.equal(t.exitCode, 4);
    assert.match(t.hint ?? '', /--timeout/);
    assert.equal(new InvalidResponseError('x').exitCode, 4);
  });

  it('findRequestId prefers x-request-id, knows relay and Cloudflare headers', () => {
    assert.equal(findRequestId({ 'cf-ray': 'ray', 'x-request-id': 'a' }), 'a');
    assert.equal(findRequestId({ 'request-id': 'req_ant' }), 'req_ant');
    assert.equal(findRequestId({ 'x-oneapi-request-id': 'one' }), 'one');
    assert.equal(findRequestId({ 'cf-ray': '8a1b-SJC' }), '8a1b-SJC');
    assert.equal(findRequestId({}), null);
    assert.equal(findRequestId(undefined), null);
  });

  it('redact leaves very short secrets alone', () => {
    assert.equal(redact('a b a', 'a'), 'a b a');
    assert.equal(redact('x sk-1234 y sk-1234', 'sk-1234'), 'x *** y ***');
    assert.equal(redact('text', undefined), 'text');
  });
});

describe('authHint: 401/403 by cause', () => {
  // [status, code, message (shapes from one-api middleware/auth.go, relay/controller/helper.go; new-api types/error.go), hint]
  const table: [number, string | null, string, RegExp][] = [
    [401, null, '无效的令牌 (request id: 20251127)', /invalid or expired/],
    [401, null, '该令牌已过期', /invalid or expired/],
    [401, 'invalid_api_key', 'Incorrect API key provided', /invalid or expired/],
    [403, 'insufficient_user_quota', 'user quota is not enough', /out of quota/],
    [403, 'pre_consume_token_quota_failed', '令牌额度不足', /out of quota/],
    [403, null, '用户额度不足', /out of quota/],
    [401, null, '令牌 test（#3）额度已用尽', /out of quota/],
    [403, null, '该令牌无权使用模型：claude-sonnet-4-5-20250929', /may not use that model/],
    [403, null, '该令牌无权访问模型 gpt-4o', /may not use that model/],
    [403, null, '用户已被封禁', /relay refused this token/],
  ];
  for (const [status, code, message, re] of table)
    it(`${status} ${code ?? ''} ${message} → ${re}`, () => assert.match(authHint(status, code, message), re));
});

describe('isModelNotFound', () => {
  const e = (status: number | undefined, code: string | null, type: string | null, serverMessage: string) => ({
    status,
    code,
    type,
    serverMessage,
  });
  const table: [ReturnType<typeof e>, boolean][] = [
    [e(404, 'model_not_found', 'invalid_request_error', "The model 'gpt-9' does not exist or you do not have access to it."), true],
    [e(404, null, 'not_found_error', 'model: claude-3-5-sonnet-20240620'), true],
    [e(503, null, 'one_api_error', '当前分组 default 下对于模型 gpt-9 无可用渠道 (request id: 2025)'), true],
    [e(503, 'model_not_found', 'new_api_error', 'No available channel for model gpt-9 under group default'), true],
    [e(400, null, 'invalid_request_error', 'Unknown model: gemini-9'), true],
    [e(404, null, null, 'Invalid URL (POST /v1/chat/completions)'), false],
    [e(503, null, null, 'upstream is restarting'), false],
    [e(400, 'invalid_image', 'invalid_request_error', 'Could not process image'), false],
  ];
  for (const [err, want] of table) it(`${err.status} ${err.serverMessage} → ${want}`, () => assert.equal(isModelNotFound(err), want));
});

describe('isNoChannel', () => {
  const cases: [string, boolean][] = [
    ['当前分组 default 下对于模型 gpt-4o 无可用渠道 (request id: 1)', true],
    ['No available channel for model gpt-4o under group default', true],
    ['The model `gpt-9` does not exist', false],
  ];
  for (const [m, want] of cases) it(`${m.slice(0, 30)} → ${want}`, () => assert.equal(isNoChannel(m), want));
});
