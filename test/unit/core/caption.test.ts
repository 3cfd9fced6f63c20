import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeCaption, mergeCaption, needsCaption, type CaptionStyle, type ExistingMode } from '../../../src/core/caption.ts';

const compose: Array<[caption: string, style: CaptionStyle, expected: string]> = [
  ['a dog on a beach', {}, 'a dog on a beach'],
  ['  a dog on a beach \n', {}, 'a dog on a beach'],
  ['a dog on a beach', { prefix: 'ohwx' }, 'ohwx, a dog on a beach'],
  ['a dog on a beach.', { suffix: 'ohwx style' }, 'a dog on a beach, ohwx style'],
  ['a dog on a beach.', { prefix: 'ohwx', suffix: 'film grain' }, 'ohwx, a dog on a beach, film grain'],
  ['a dog on a beach.', { prefix: 'ohwx', suffix: 'film grain', join: ' ' }, 'ohwx a dog on a beach. film grain'],
  ['a dog', { prefix: 'ohwx', join: '\n' }, 'ohwx\na dog'],
  ['ohwx, a dog on a beach', { prefix: 'ohwx' }, 'ohwx, a dog on a beach'],
  ['OHWX a dog', { prefix: 'ohwx' }, 'OHWX a dog'],
  ['ohwxyz dog', { prefix: 'ohwx' }, 'ohwx, ohwxyz dog'],
  ['a dog, ohwx style.', { suffix: 'ohwx style' }, 'a dog, ohwx style.'],
  ['一只猫。', { prefix: 'sks', join: '，' }, 'sks，一只猫。'],
  ['一只猫。', { suffix: 'sks', join: '，' }, '一只猫，sks'],
  ['a dog', { prefix: '  ohwx  ' }, 'ohwx, a dog'],
  ['a dog', { prefix: '', suffix: '' }, 'a dog'],
];
for (const [caption, style, expected] of compose) {
  test(`composeCaption ${JSON.stringify(caption)} ${JSON.stringify(style)} → ${JSON.stringify(expected)}`, () => {
    assert.equal(composeCaption(caption, style), expected);
  });
}

const merge: Array<[existing: string | undefined, caption: string, mode: ExistingMode, expected: string | undefined]> = [
  [undefined, 'a dog', 'skip', 'a dog\n'],
  ['', 'a dog', 'skip', 'a dog\n'],
  ['  \n', 'a dog', 'append', 'a dog\n'],
  ['old caption\n', 'a dog', 'skip', undefined],
  ['old caption\n', 'a dog', 'overwrite', 'a dog\n'],
  ['old caption\n', 'a dog', 'append', 'old caption\na dog\n'],
  ['old caption', 'a dog', 'prepend', 'a dog\nold caption\n'],
  ['old caption\na dog\n', 'a dog', 'append', 'old caption\na dog\n'],
  ['a dog\n', 'a dog', 'prepend', 'a dog\n'],
  ['line one\nline two\n\n', 'a dog', 'append', 'line one\nline two\na dog\n'],
];
for (const [existing, caption, mode, expected] of merge) {
  test(`mergeCaption ${JSON.stringify(existing)} + ${JSON.stringify(caption)} (${mode}) → ${JSON.stringify(expected)}`, () => {
    assert.equal(mergeCaption(existing, caption, mode), expected);
  });
}

test('needsCaption: only skip with an existing caption leaves an image out', () => {
  assert.equal(needsCaption(true, 'skip'), false);
  assert.equal(needsCaption(false, 'skip'), true);
  for (const m of ['overwrite', 'append', 'prepend'] as const) assert.equal(needsCaption(true, m), true);
});
