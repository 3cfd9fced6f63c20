import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleStream, isEventStream } from '../../../src/api/sse.ts';
import { isBlocked, isCutOff, mergeCompletions, readAnswer } from '../../../src/api/response.ts';

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra })}\n\n`;

describe('isEventStream', () => {
  const table: [string | undefined, string, boolean][] = [
    ['text/event-stream', '', true],
    ['text/event-stream; charset=utf-8', 'data: {}', true],
    ['application/json', 'data: {"id":1}\n\n', true],
    [undefined, ': keep-alive\n\ndata: {}', true],
    ['application/json', '{"data": 1}', false],
    ['text/html', '<html>', false],
  ];
  for (const [ct, text, want] of table)
    it(`${ct} ${JSON.stringify(text.slice(0, 12))} → ${want}`, () => assert.equal(isEventStream(ct, text), want));
});

describe('assembleStream', () => {
  it('deltas, reasoning, finish_reason and the last usage; comments, CRLF and [DONE] skipped', () => {
    const text =
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]) +
      ': PING\r\n\r\n' +
      chunk([{ index: 0, delta: { reasoning_content: 'think ' }, finish_reason: null }]).replace(/\n\n$/, '\r\n\r\n') +
      chunk([{ index: 0, delta: { content: 'Hello' }, finish_reason: null }]) +
      chunk([{ index: 0, delta: { content: ' world' }, finish_reason: 'stop' }]) +
      chunk([], { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) +
      'data: [DONE]\n\n';
    const body = assembleStream(text);
    assert.deepEqual(body, {
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello world', reasoning_content: 'think ' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    assert.equal(readAnswer(body).content, 'Hello world');
  });
  it('several choices by index', () => {
    const body = assembleStream(
      chunk([
        { index: 1, delta: { content: 'B' } },
        { index: 0, delta: { content: 'A' } },
      ]) + chunk([{ index: 1, delta: { content: '2' }, finish_reason: 'length' }]),
    );
    assert.deepEqual(readAnswer(body).contents, ['A', 'B2']);
  });
  it('an error event mid-stream is returned as the body', () => {
    const err = { error: { message: 'upstream overloaded', type: 'overloaded_error' } };
    assert.deepEqual(assembleStream(chunk([{ index: 0, delta: { content: 'x' } }]) + `data: ${JSON.stringify(err)}\n\n`), err);
  });
  it('no chunks → {} (read as "no choices")', () => assert.deepEqual(assembleStream('data: [DONE]\n\n'), {}));
});

describe('finish reasons', () => {
  const table: [string | null, boolean, boolean][] = [
    ['stop', false, false],
    ['length', true, false],
    ['max_tokens', true, false],
    ['MODEL_LENGTH', true, false],
    ['content_filter', false, true],
    ['SAFETY', false, true],
    ['PROHIBITED_CONTENT', false, true],
    [null, false, false],
  ];
  for (const [fr, cut, blocked] of table)
    it(`${fr} → cut off ${cut}, blocked ${blocked}`, () => assert.deepEqual([isCutOff(fr), isBlocked(fr)], [cut, blocked]));
});

describe('mergeCompletions', () => {
  it('choices in order, re-indexed and cut to the count; usage summed; the first body otherwise', () => {
    const a = { id: 'a', model: 'm', choices: [{ index: 0, message: { content: '1' } }], usage: { total_tokens: 5, prompt_tokens: 3 } };
    const b = {
      id: 'b',
      model: 'm',
      choices: [
        { index: 0, message: { content: '2' } },
        { index: 1, message: { content: '3' } },
      ],
      usage: { total_tokens: 7, prompt_tokens: 3 },
    };
    assert.deepEqual(mergeCompletions([a, b], 2), {
      id: 'a',
      model: 'm',
      choices: [
        { index: 0, message: { content: '1' } },
        { index: 1, message: { content: '2' } },
      ],
      usage: { total_tokens: 12, prompt_tokens: 6 },
    });
  });
});
