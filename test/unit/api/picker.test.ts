import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closestModels, isVisionModel, pickModel } from '../../../src/api/picker.ts';

describe('isVisionModel', () => {
  const table: [string, boolean][] = [
    ['claude-sonnet-4-5-20250929', true],
    ['claude-3-5-sonnet-20240620', true],
    ['claude-3-7-sonnet-20250219-thinking', false],
    ['claude-opus-4-1-20250805', true],
    ['claude-3-haiku-20240307', true],
    ['gpt-4o', true],
    ['gpt-4o-2024-08-06', true],
    ['chatgpt-4o-latest', true],
    ['gpt-4o-audio-preview', false],
    ['gpt-4o-mini-tts', false],
    ['gpt-4.1-mini', true],
    ['gpt-5', true],
    ['o3', true],
    ['o3-mini', false],
    ['o1-mini', false],
    ['gemini-2.5-flash', true],
    ['gemini-2.5-flash-preview-05-20', true],
    ['gemini-2.0-flash-exp-image-generation', false],
    ['gemini-2.5-flash-preview-tts', false],
    ['text-embedding-3-small', false],
    ['gpt-3.5-turbo', false],
    ['dall-e-3', false],
    ['qwen-vl-max', true],
    ['glm-4v-plus', true],
    ['openrouter/anthropic/claude-sonnet-4.5', true],
  ];
  for (const [id, v] of table) it(`${id} → ${v}`, () => assert.equal(isVisionModel(id), v));
});

describe('pickModel', () => {
  const table: [string[], string | undefined][] = [
    // the newest Claude Sonnet wins over everything
    [['gpt-4o', 'claude-3-5-sonnet-20240620', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-20250514'], 'claude-sonnet-4-5-20250929'],
    [['claude-3-5-sonnet-20240620', 'claude-3-5-sonnet-20241022', 'claude-3-7-sonnet-20250219'], 'claude-3-7-sonnet-20250219'],
    // same version: the newest dated id, then the undated alias
    [['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929'], 'claude-sonnet-4-5-20250929'],
    [['claude-3-5-sonnet-latest', 'claude-3-5-sonnet-20241022', 'claude-3-5-sonnet-20240620'], 'claude-3-5-sonnet-20241022'],
    // a thinking variant is not a Sonnet pick
    [['claude-3-7-sonnet-20250219-thinking', 'gpt-4o'], 'gpt-4o'],
    // no Sonnet: the table's order
    [['gpt-4o', 'gpt-4.1', 'gemini-2.5-pro'], 'gpt-4.1'],
    [['gpt-4o-2024-05-13', 'gpt-4o-2024-11-20', 'gpt-4o'], 'gpt-4o-2024-11-20'],
    [['gemini-2.5-flash-preview-05-20', 'gemini-2.5-flash', 'gemini-2.0-flash'], 'gemini-2.5-flash'],
    [['gemini-1.5-pro', 'gemini-2.5-flash'], 'gemini-2.5-flash'],
    [['claude-opus-4-1-20250805', 'gpt-5', 'claude-3-haiku-20240307'], 'claude-opus-4-1-20250805'],
    [['o3-mini', 'gpt-3.5-turbo', 'qwen-vl-max'], 'qwen-vl-max'],
    [['anthropic/claude-sonnet-4.5', 'openai/gpt-4o'], 'anthropic/claude-sonnet-4.5'],
    // nothing known to see images
    [['gpt-3.5-turbo', 'text-embedding-3-small'], undefined],
    [[], undefined],
  ];
  for (const [ids, want] of table) it(`${ids.join(', ') || '(none)'} → ${want}`, () => assert.equal(pickModel(ids), want));
});

describe('closestModels', () => {
  it('the retired default → the Sonnets the relay lists', () => {
    const ids = ['gpt-4o', 'claude-3-7-sonnet-20250219', 'claude-sonnet-4-5-20250929', 'gemini-2.5-flash', 'claude-3-5-haiku-20241022'];
    assert.deepEqual(closestModels('claude-3-5-sonnet-20240620', ids, 2), ['claude-3-7-sonnet-20250219', 'claude-3-5-haiku-20241022']);
  });
  it('a typo → the real id', () => assert.deepEqual(closestModels('gpt4o', ['gpt-4o', 'o3', 'gpt-4.1'], 1), ['gpt-4o']));
  it('no ids → none', () => assert.deepEqual(closestModels('x', []), []));
  it('never a model that takes no images, vision-capable ids first', () =>
    assert.deepEqual(closestModels('gpt4o', ['dall-e-3', 'gpt-4', 'deepseek-chat', 'gpt-4o-mini', 'claude-sonnet-4-5']), [
      'gpt-4o-mini',
      'claude-sonnet-4-5',
      'gpt-4',
    ]));
});
