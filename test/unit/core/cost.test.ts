import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateRequest, imageTokens, textTokens } from '../../../src/core/cost.ts';

test('imageTokens: by the model family formula, one line per case', () => {
  const cases: Array<[model: string, w: number, h: number, detail: string | undefined, tokens: number]> = [
    ['claude-sonnet-4-5', 1092, 1092, undefined, 1590],
    ['claude-3-5-sonnet-20240620', 200, 200, undefined, 54],
    ['anthropic/claude-opus-4', 1568, 1568, undefined, 1599],
    ['claude-sonnet-4-5', 3000, 200, undefined, 220],
    ['gpt-4o', 1024, 1024, undefined, 765],
    ['gpt-4o', 1024, 1024, 'low', 85],
    ['gpt-4o', 4096, 2048, 'high', 1105],
    ['o3', 512, 512, undefined, 255],
    ['gemini-2.5-flash', 384, 384, undefined, 258],
    ['google/gemini-2.5-pro', 1024, 768, undefined, 516],
    ['qwen-vl-max', 750, 100, undefined, 100],
  ];
  for (const [model, w, h, detail, tokens] of cases)
    assert.equal(imageTokens(model, w, h, detail), tokens, `${model} ${w}x${h} ${detail ?? ''}`);
});

test('textTokens: about four characters per token, a CJK character one', () => {
  assert.equal(textTokens(''), 0);
  assert.equal(textTokens('What is in this picture?'), 6);
  assert.equal(textTokens('描述这张图片'), 6);
  assert.equal(textTokens('caption 猫'), 3);
});

test('estimateRequest: images, prompt and the output cap of a planned body', () => {
  const body = (extra: object) => ({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'data:…', detail: 'low' } },
        ],
      },
    ],
    ...extra,
  });
  assert.deepEqual(estimateRequest(body({ max_tokens: 300 }), [{ width: 2000, height: 1000 }]), {
    imageTokens: 85,
    promptTokens: 4 + 3 + 4 + 6,
    outputCap: 300,
  });
  assert.deepEqual(estimateRequest(body({ max_completion_tokens: 200, n: 3 }), []), { imageTokens: 0, promptTokens: 17, outputCap: 600 });
  assert.equal(estimateRequest(body({}), []).outputCap, null);
});
