// How a failure is worded: pure pieces, one line per case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quotedPromptCommand, shellWord } from '../../../src/cli/error-report.ts';
import { errorLines } from '../../../src/ui/term.ts';

describe('errorLines: a line, then a hint line when there is one', () => {
  it('no hint', () => assert.deepEqual(errorLines('broken'), ['error: broken']));
  it('a hint', () => assert.deepEqual(errorLines('broken', 'fix it'), ['error: broken', 'hint: fix it']));
  it('an empty hint is none', () => assert.deepEqual(errorLines('broken', ''), ['error: broken']));
});

describe('shellWord', () => {
  const cases: [string, string][] = [
    ['photo.jpg', 'photo.jpg'],
    ['-m', '-m'],
    ['what breed is this dog', '"what breed is this dog"'],
    ["what's this", '"what\'s this"'],
    ['say "hi"', `'say "hi"'`],
    ['costs $5', `'costs $5'`],
    [`it's "x"`, `'it'\\''s "x"'`],
    ['', '""'],
  ];
  for (const [word, quoted] of cases) it(`${JSON.stringify(word)} → ${quoted}`, () => assert.equal(shellWord(word), quoted));
});

describe('quotedPromptCommand', () => {
  const cases: [string[], string[], string][] = [
    [
      ['photo.jpg', 'what', 'breed', 'is', 'this', 'dog'],
      ['photo.jpg', 'what', 'breed', 'is', 'this', 'dog'],
      'imgdesc photo.jpg "what breed is this dog"',
    ],
    [
      ['-m', 'gpt-4o', 'photo.jpg', 'what', 'breed', '--json'],
      ['photo.jpg', 'what', 'breed'],
      'imgdesc -m gpt-4o photo.jpg "what breed" --json',
    ],
    [['describe', 'my photo.jpg', 'a', 'b'], ['my photo.jpg', 'a', 'b'], 'imgdesc describe "my photo.jpg" "a b"'],
    // the words are not one run in argv (an option between them): the image and the prompt alone
    [['photo.jpg', 'what', '-m', 'x', 'breed'], ['photo.jpg', 'what', 'breed'], 'imgdesc photo.jpg "what breed"'],
  ];
  for (const [argv, operands, line] of cases)
    it(`${argv.join(' ')} → ${line}`, () => assert.equal(quotedPromptCommand(argv, operands), line));
});
