import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanAnswer, jsonSafe, visible, visibleBlock, visibleStyled } from '../../src/safe-text.ts';
import { answerToAlt } from '../../src/core/alt/text.ts';
import { entryOf } from '../../src/report/model.ts';

const ESC = '\x1b';
const BEL = '\x07';

test('visible escapes C0 (not tab), DEL, C1 and bidi controls', () => {
  assert.equal(visible('plain text, ünïcode 猫'), 'plain text, ünïcode 猫');
  assert.equal(visible('a\tb'), 'a\tb');
  assert.equal(visible('a\nb'), 'a\\nb');
  assert.equal(visible('a\rb'), 'a\\rb');
  assert.equal(visible(`${ESC}]52;c;aGk=${BEL}`), '\\x1b]52;c;aGk=\\x07');
  assert.equal(visible(`${ESC}[2J`), '\\x1b[2J');
  assert.equal(visible('\x00\x7f'), '\\x00\\x7f');
  assert.equal(visible('\x9b31m'), '\\x9b31m');
  assert.equal(visible('\u202eevil\u202c'), '\\u202eevil\\u202c');
  assert.equal(visible('\u2066x\u2069'), '\\u2066x\\u2069');
  assert.equal(visible('\u200e'), '\u200e');
});

test('visibleBlock keeps newlines, escapes the rest', () => {
  assert.equal(visibleBlock('one\ntwo'), 'one\ntwo');
  assert.equal(visibleBlock(`one${ESC}]0;t${BEL}\r\n`), 'one\\x1b]0;t\\x07\\r\n');
});

test('visibleStyled keeps colour codes, escapes every other control', () => {
  assert.equal(visibleStyled(`${ESC}[31merror:${ESC}[39m x`), `${ESC}[31merror:${ESC}[39m x`);
  assert.equal(visibleStyled(`${ESC}[2m${ESC}]0;t${BEL}${ESC}[22m`), `${ESC}[2m\\x1b]0;t\\x07${ESC}[22m`);
  assert.equal(visibleStyled(`${ESC}[2J`), '\\x1b[2J');
  assert.equal(visibleStyled('a\nb'), 'a\\nb');
});

test('cleanAnswer removes whole escape sequences and stray controls', () => {
  assert.equal(cleanAnswer('A cat.\n\tOn a mat.'), 'A cat.\n\tOn a mat.');
  assert.equal(cleanAnswer(`a${ESC}]52;c;aGk=${BEL}b`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}]0;title${ESC}\\b`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}[2Jb`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}[1;31mred${ESC}[0mb`), 'aredb');
  assert.equal(cleanAnswer(`a${ESC}[?1049hb`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}P+q544e${ESC}\\b`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}_apc${ESC}\\b`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}cb`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}(Bb`), 'ab');
  assert.equal(cleanAnswer(`a${ESC}]8;;http://x${ESC}\\link${ESC}]8;;${ESC}\\b`), 'alinkb');
  assert.equal(cleanAnswer(`a${ESC}]52;c;unterminated`), 'a');
  assert.equal(cleanAnswer(`a${ESC}`), 'a');
  assert.equal(cleanAnswer('a\x9b2Jb'), 'ab');
  assert.equal(cleanAnswer('a\x9d0;t\x07b'), 'ab');
  assert.equal(cleanAnswer('a\x9d0;t\x9cb'), 'ab');
  assert.equal(cleanAnswer('a\rb\x08c\x00d\x7fe\x85f'), 'abcdef');
  assert.equal(cleanAnswer('مرحبا \u202bx\u202c'), 'مرحبا \u202bx\u202c');
});

test('jsonSafe escapes C1, DEL and bidi inside JSON strings, keeping the value', () => {
  const value = { t: `a\x9b2J\u202eb\x7f${ESC}` };
  const safe = jsonSafe(JSON.stringify(value));
  assert.equal(safe, '{"t":"a\\u009b2J\\u202eb\\u007f\\u001b"}');
  assert.deepEqual(JSON.parse(safe), value);
  assert.equal(jsonSafe('{\n  "a": 1\r\n}'), '{\n  "a": 1\r\n}');
  assert.equal(jsonSafe('"\t"'), '"\t"');
});

test('alt text written into a document loses escape sequences too', () => {
  assert.deepEqual(answerToAlt(`A cat${ESC}]52;c;aGk=${BEL} on a mat.${ESC}[2J`, 125), { ok: true, alt: 'A cat on a mat.' });
});

test('report: a results line nested too deep is not an entry', () => {
  const deep = `{"image":"a.png","ok":true,"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  assert.equal(entryOf(deep, '/w', 'r.jsonl'), undefined);
  assert.equal(entryOf('{"image":"a.png","ok":true,"content":"x"}', '/w', 'r.jsonl')?.image, 'a.png');
});
