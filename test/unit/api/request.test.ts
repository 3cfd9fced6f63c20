import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildChatBody } from '../../../src/api/request.ts';

const img = 'data:image/png;base64,iVBORw0KGgo=';

describe('buildChatBody', () => {
  it('builds the seed request (system, text, one image URL)', () => {
    assert.deepEqual(
      buildChatBody({
        model: 'claude-3-5-sonnet-20240620',
        system: 'You are a helpful assistant.',
        prompt: 'What is in this picture? Please describe it in detail.',
        images: [{ url: 'https://upload.example/x.jpg' }],
      }),
      {
        model: 'claude-3-5-sonnet-20240620',
        messages: [
          { role: 'system', content: 'You are a helpful assistant.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture? Please describe it in detail.' },
              { type: 'image_url', image_url: { url: 'https://upload.example/x.jpg' } },
            ],
          },
        ],
      },
    );
  });

  it('has no system message unless one is set (undefined or empty)', () => {
    for (const system of [undefined, '']) {
      const body = buildChatBody({ model: 'm', prompt: 'p', system, images: [{ url: img }] });
      assert.deepEqual(
        (body['messages'] as { role: string }[]).map((m) => m.role),
        ['user'],
      );
    }
  });

  it('adds detail, max_tokens, temperature only when given, in a stable key order', () => {
    const body = buildChatBody({
      model: 'm',
      prompt: 'p',
      images: [{ url: img, detail: 'low' }, { url: img }],
      maxTokens: 300,
      temperature: 0,
    });
    assert.deepEqual(Object.keys(body), ['model', 'messages', 'max_tokens', 'temperature']);
    assert.equal(body['max_tokens'], 300);
    assert.equal(body['temperature'], 0);
    const content = (body['messages'] as { content: unknown[] }[])[0]?.content;
    assert.deepEqual(content, [
      { type: 'text', text: 'p' },
      { type: 'image_url', image_url: { url: img, detail: 'low' } },
      { type: 'image_url', image_url: { url: img } },
    ]);
    assert.ok(!JSON.stringify(buildChatBody({ model: 'm', prompt: 'p', images: [], maxTokens: undefined })).includes('max_tokens'));
  });

  it('drops an empty prompt (Anthropic rejects empty text blocks)', () => {
    const body = buildChatBody({ model: 'm', prompt: '', images: [{ url: img }] });
    assert.deepEqual((body['messages'] as { content: unknown[] }[])[0]?.content, [{ type: 'image_url', image_url: { url: img } }]);
  });

  it('merges extra at the top level, dropping undefined and never replacing model/messages', () => {
    const body = buildChatBody({
      model: 'm',
      prompt: 'p',
      images: [],
      extra: { n: 2, reasoning_effort: 'low', response_format: { type: 'json_object' }, seed: undefined, model: 'other', messages: [] },
    });
    assert.equal(body['model'], 'm');
    assert.equal((body['messages'] as unknown[]).length, 1);
    assert.equal(body['n'], 2);
    assert.equal(body['reasoning_effort'], 'low');
    assert.deepEqual(body['response_format'], { type: 'json_object' });
    assert.ok(!('seed' in body));
  });
});
