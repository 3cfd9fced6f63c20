import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adaptRequest, modelFamily, takesNoImages, type GenericRequest } from '../../../src/api/families.ts';

describe('modelFamily', () => {
  const table: [string, string][] = [
    ['claude-sonnet-4-5-20250929', 'claude'],
    ['anthropic/claude-sonnet-4.5', 'claude'],
    ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'claude'],
    ['o3', 'openai-reasoning'],
    ['o4-mini-2025-04-16', 'openai-reasoning'],
    ['gpt-5', 'openai-reasoning'],
    ['openai/gpt-5-mini', 'openai-reasoning'],
    ['gpt-5-chat-latest', 'openai'],
    ['gpt-4o', 'openai'],
    ['chatgpt-4o-latest', 'openai'],
    ['gemini-2.5-flash', 'gemini'],
    ['google/gemini-2.5-pro', 'gemini'],
    ['qwen-vl-max', 'other'],
    ['omni-moderation-latest', 'other'],
  ];
  for (const [id, name] of table) it(`${id} → ${name}`, () => assert.equal(modelFamily(id).name, name));
});

describe('takesNoImages: one line per id', () => {
  const table: [string, string | undefined][] = [
    ['deepseek-chat', 'a text-only model'],
    ['deepseek-reasoner', 'a text-only model'],
    ['deepseek-vl2', undefined],
    ['dall-e-3', 'an image-generation model'],
    ['gpt-image-1', 'an image-generation model'],
    ['text-embedding-3-small', 'an embedding model'],
    ['gemini-embedding-001', 'an embedding model'],
    ['tts-1', 'a speech model'],
    ['whisper-1', 'a speech model'],
    ['gpt-3.5-turbo', 'a text-only model'],
    ['o3-mini', 'a text-only model'],
    ['o4-mini', undefined],
    ['glm-4-plus', 'a text-only model'],
    ['glm-4v-plus', undefined],
    ['moonshot-v1-8k', 'a text-only model'],
    ['moonshot-v1-8k-vision-preview', undefined],
    ['qwen-max', 'a text-only model'],
    ['qwen-vl-max', undefined],
    ['gpt-4o', undefined],
    ['gpt-4o-mini', undefined],
    ['claude-sonnet-4-5-20250929', undefined],
    ['claude-2.1', 'a text-only model'],
    ['openrouter/deepseek/deepseek-chat', 'a text-only model'],
    ['my-relay-model', undefined],
  ];
  for (const [id, what] of table) it(`${id} → ${what ?? 'not known'}`, () => assert.equal(takesNoImages(id), what));
});

describe('adaptRequest: one line per family', () => {
  // [model, generic request, body fields, requests' answers each, notes matching]
  const table: [string, GenericRequest, Record<string, unknown>, number, RegExp[]][] = [
    ['gpt-4o', { maxTokens: 300, temperature: 0.2, n: 2 }, { max_tokens: 300, temperature: 0.2, n: 2 }, 2, []],
    ['o3', { maxTokens: 300, temperature: 0.2 }, { max_completion_tokens: 300 }, 1, [/temperature 0.2 not sent/, /max_completion_tokens/]],
    ['gpt-5', { reasoningEffort: 'low', n: 3 }, { reasoning_effort: 'low', n: 3 }, 3, []],
    ['claude-sonnet-4-5-20250929', { maxTokens: 300, temperature: 0.2 }, { max_tokens: 300, temperature: 0.2 }, 1, []],
    ['claude-sonnet-4-5-20250929', { n: 2 }, {}, 1, [/n not sent.*2 requests/]],
    [
      'claude-sonnet-4-5-20250929',
      { reasoningEffort: 'high' },
      { max_tokens: 4096 + 1024, reasoning_effort: 'high' },
      1,
      [/above the 4096-token thinking budget/],
    ],
    [
      'claude-sonnet-4-5-20250929',
      { reasoningEffort: 'low', maxTokens: 300, temperature: 0.5 },
      { max_tokens: 1580, reasoning_effort: 'low' },
      1,
      [/max_tokens 1580/, /temperature 0.5 not sent/],
    ],
    [
      'claude-sonnet-4-5-20250929',
      { reasoningEffort: 'medium', maxTokens: 8000, temperature: 1 },
      { max_tokens: 8000, temperature: 1, reasoning_effort: 'medium' },
      1,
      [],
    ],
    ['gemini-2.5-flash', { maxTokens: 100, n: 2, reasoningEffort: 'low' }, { max_tokens: 100, reasoning_effort: 'low', n: 2 }, 2, []],
    ['qwen-vl-max', { temperature: 1.5 }, { temperature: 1.5 }, 1, []],
  ];
  for (const [model, req, fields, perRequest, notes] of table) {
    it(`${model} ${JSON.stringify(req)} → ${JSON.stringify(fields)}`, () => {
      const plan = adaptRequest(model, req);
      assert.deepEqual(plan.fields, fields);
      assert.equal(plan.perRequest, perRequest);
      assert.equal(plan.answers, req.n ?? 1);
      assert.equal(plan.notes.length, notes.length, plan.notes.join('; '));
      notes.forEach((re, i) => assert.match(plan.notes[i] ?? '', re));
    });
  }
});
