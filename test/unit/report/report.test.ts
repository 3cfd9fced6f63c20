import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEntries, countEntries, entryOf, tokensOf } from '../../../src/report/model.ts';
import { renderReport } from '../../../src/report/html.ts';
import { linkTo, makeThumbs } from '../../../src/report/thumbs.ts';
import { FIXTURES, fixture, needs } from '../../helpers/shared.ts';

const line = (o: object) => JSON.stringify(o);

test('tokensOf: total_tokens, else prompt + completion (or input + output), else null', () => {
  assert.equal(tokensOf({ total_tokens: 30, prompt_tokens: 1 }), 30);
  assert.equal(tokensOf({ prompt_tokens: 10, completion_tokens: 5 }), 15);
  assert.equal(tokensOf({ input_tokens: 7, output_tokens: 3 }), 10);
  assert.equal(tokensOf({ completion_tokens: 4 }), 4);
  assert.equal(tokensOf(null), null);
  assert.equal(tokensOf({}), null);
});

test('entryOf: batch records only; paths resolved against the base; URLs kept', () => {
  assert.equal(entryOf('not json', '/b', 'r'), undefined);
  assert.equal(entryOf(line({ image: 'a.jpg' }), '/b', 'r'), undefined, 'no ok');
  assert.equal(entryOf(line({ image: 'a.jpg', mime: 'image/jpeg', estimated_tokens: 9 }), '/b', 'r'), undefined, 'a --dry-run --json line');
  assert.equal(entryOf(line({ image: 'a.jpg', ok: true, content: 'x' }), '/b', 'r')?.location, '/b/a.jpg');
  assert.equal(entryOf(line({ image: '/abs/a.jpg', ok: true }), '/b', 'r')?.location, '/abs/a.jpg');
  const url = entryOf(line({ image: 'https://h/a.jpg', ok: true }), '/b', 'r');
  assert.deepEqual([url?.remote, url?.location], [true, 'https://h/a.jpg']);
  assert.deepEqual(entryOf(line({ image: 'a.jpg', ok: true, content: ['one', 'two', 3] }), '/b', 'r')?.captions, ['one', 'two']);
  const fb = entryOf(
    line({ image: 'a.jpg', ok: true, content: 'x', fallback: { model: 'm1', verdict: 'refused', error: 'the model refused: no' } }),
    '/b',
    'r',
  );
  assert.equal(fb?.fallback, 'm1: the model refused: no');
  const failed = entryOf(line({ image: 'a.jpg', ok: false, verdict: 'empty', error: { message: 'the answer is empty' } }), '/b', 'r');
  assert.deepEqual([failed?.ok, failed?.verdict, failed?.error, failed?.captions], [false, 'empty', 'the answer is empty', []]);
});

test('collectEntries: the later record of an image wins, in the place of the first; other lines counted', () => {
  const a = [
    line({ image: 'x.jpg', ok: false, error: { message: 'boom' } }),
    line({ image: 'y.jpg', ok: true, content: 'y' }),
    'torn {',
    '',
  ].join('\n');
  const b = line({ image: './x.jpg', ok: true, content: 'x again' });
  const { entries, ignored } = collectEntries([
    { text: a, base: '/d', source: 'a' },
    { text: b, base: '/d', source: 'b' },
  ]);
  assert.deepEqual(
    entries.map((e) => [e.image, e.ok, e.source]),
    [
      ['./x.jpg', true, 'b'],
      ['y.jpg', true, 'a'],
    ],
  );
  assert.equal(ignored, 1);
});

test('countEntries: ok, failed, verdicts, tokens, models', () => {
  const { entries } = collectEntries([
    {
      text: [
        line({ image: 'a', ok: true, model: 'm1', usage: { total_tokens: 10 }, verdict: 'chatter' }),
        line({ image: 'b', ok: false, model: 'm2', usage: { total_tokens: 5 }, verdict: 'refused' }),
        line({ image: 'c', ok: false, error: { message: 'x' } }),
      ].join('\n'),
      base: '/',
      source: 's',
    },
  ]);
  assert.deepEqual(countEntries(entries), {
    total: 3,
    ok: 1,
    failed: 2,
    verdicts: { chatter: 1, refused: 1 },
    tokens: 15,
    models: ['m1', 'm2'],
  });
});

test('renderReport escapes every text it shows and forbids network fetches', () => {
  const { entries } = collectEntries([
    {
      text: line({ image: '<img src=x onerror=alert(1)>.jpg', ok: true, content: '</script><script>alert(1)</script>"\'&', model: '<m>' }),
      base: '/',
      source: 's',
    },
  ]);
  const html = renderReport(entries, [{ none: 'image not found' }], countEntries(entries), {
    title: 'T<>',
    generated: 'now',
    linked: false,
  });
  assert.doesNotMatch(html, /<img src=x/);
  assert.doesNotMatch(html, /<script>alert/);
  assert.match(html, /&lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&#39;&amp;/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:;/);
  assert.equal(html.match(/<script>/g)?.length, 1, 'only the page script');
});

test('linkTo: relative, each segment URL-encoded', () => {
  assert.equal(linkTo('/d/photos/a b#1.jpg', '/d/out'), '../photos/a%20b%231.jpg');
  assert.equal(linkTo('/d/x.jpg', '/d'), 'x.jpg');
});

test('makeThumbs: a missing image, one over the size cap (refused before it is read), a folder, and one that makes a JPEG', {
  skip: needs(fixture('exif-Landscape_1.jpg')),
}, async () => {
  const img = fixture('exif-Landscape_1.jpg');
  const at = (location: string) => entryOf(line({ image: location, ok: true, content: 'x' }), '/', 'r')!;
  const entries = [at('/no/such/image.jpg'), at(img), at(FIXTURES)];
  const small = await makeThumbs(entries, { link: false, pageDir: '/', maxInputBytes: 100 });
  assert.deepEqual(small, [
    { none: 'image not found' },
    { none: 'image too large for a preview' },
    { none: 'cannot read the image (directory)' },
  ]);
  const [thumb] = await makeThumbs([at(img)], { link: false, pageDir: '/', maxInputBytes: 50 * 1024 * 1024 });
  assert.match((thumb as { src: string }).src, /^data:image\/jpeg;base64,\/9j\//);
});
