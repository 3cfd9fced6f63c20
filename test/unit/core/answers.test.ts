// The answer cache's key and store, what may be cached, and the history's store and queries.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnswerCache, answerKey, digestHash, dropped, imageDigest, knownDigest, preparedKey } from '../../../src/core/answer-cache.ts';
import { PreparedMemo, isCacheable } from '../../../src/core/answers.ts';
import {
  History,
  fold,
  isoTime,
  newId,
  parseLine,
  searchForms,
  matchesFilter,
  needsFold,
  candidateLines,
  anchorOf,
  mayBeInField,
  tokensOf,
  type HistoryRecord,
  type NewRecord,
} from '../../../src/core/history.ts';
import { parseSince } from '../../../src/cli/log.ts';
import { tempDir } from '../../helpers/cli.ts';
import { fixture, noFixtures } from '../../helpers/shared.ts';

const img = 'data:image/png;base64,iVBORw0KGgo=';
const body = (extra: Record<string, unknown> = {}, prompt = 'q', url = img) => ({
  model: 'm',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: prompt },
        { type: 'image_url', image_url: { url, detail: 'low' } },
      ],
    },
  ],
  max_tokens: 100,
  ...extra,
});
const hashes = new Map([[img, imageDigest(img) as string]]);
const key = (b: Record<string, unknown>, endpoint = 'https://relay.example/v1/chat/completions') => answerKey(endpoint, b, hashes);

test('answerKey: the same request in any key order, streamed or not, is one key', () => {
  const a = body();
  const reordered = { max_tokens: 100, messages: a.messages, model: 'm' };
  assert.equal(key(a), key(reordered));
  assert.equal(key(a), key(body({ stream: true })));
  assert.match(key(a), /^[0-9a-f]{64}$/);
});

test('answerKey: anything that decides the answer changes it, the relay too', () => {
  const base = key(body());
  for (const changed of [
    body({ model: 'other' }),
    body({ max_tokens: 101 }),
    body({ temperature: 0.2 }),
    body({ n: 2 }),
    body({ reasoning_effort: 'high' }),
    body({ response_format: { type: 'json_object' } }),
    body({}, 'q2'),
    body({}, 'q', 'data:image/png;base64,iVBORw0KGgp='),
    { ...body(), messages: [{ role: 'system', content: 's' }, ...body().messages] },
    JSON.parse(JSON.stringify(body()).replace('"low"', '"high"')),
  ])
    assert.notEqual(key(changed), base, JSON.stringify(changed).slice(0, 80));
  assert.notEqual(key(body(), 'https://other.example/v1/chat/completions'), base, 'another relay');
});

test('digestHash of imageDigest: the sha256 of the bytes a base64 data: URL carries; other URLs have no digest', () => {
  assert.equal(
    digestHash(imageDigest('data:text/plain;base64,aGk=') as string),
    '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4',
  );
  // not the form a prepared image takes: keyed by its text, as a URL passed as given (never thrown on)
  assert.equal(imageDigest('data:text/plain,hi'), null);
  assert.equal(imageDigest('data:text/plain,%E0%A4%A'), null);
  assert.equal(imageDigest('data:image/png;base64'), null);
  assert.equal(imageDigest('https://example.com/a.png'), null);
});

test('imageDigest: the same bytes give one digest, other bytes or another type another; null for other URLs', () => {
  const png = (b64: string) => `data:image/png;base64,${b64}`;
  assert.equal(
    imageDigest(png('iVBORw0KGgo=')),
    imageDigest(`data:image/png;base64,${Buffer.from('iVBORw0KGgo=', 'base64').toString('base64')}`),
  );
  assert.notEqual(imageDigest(png('iVBORw0KGgo=')), imageDigest(png('iVBORw0KGgk=')));
  // base64 that differs only in its unused last bits spells the same bytes: one digest
  assert.equal(imageDigest(png('iVBORw0KGgo=')), imageDigest(png('iVBORw0KGgp=')));
  assert.notEqual(imageDigest(png('iVBORw0KGgo=')), imageDigest('data:image/jpeg;base64,iVBORw0KGgo='));
  assert.equal(imageDigest(png('AAAA')), `image/png:${createHash('sha256').update(Buffer.from('AAAA', 'base64')).digest('hex')}`);
  assert.equal(imageDigest('https://example.com/a.png'), null);
});

test("knownDigest: the digest of bytes whose sha256 is known is imageDigest's, and digestHash gives the sha256 back", {
  skip: noFixtures,
}, () => {
  const bytes = readFileSync(fixture('jpeg-baseline.jpg'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  assert.equal(knownDigest('image/jpeg', sha256), imageDigest(`data:image/jpeg;base64,${bytes.toString('base64')}`));
  assert.equal(digestHash(knownDigest('image/jpeg', sha256)), sha256);
  assert.equal(digestHash(imageDigest(`data:image/jpeg;base64,${bytes.toString('base64')}`) as string), sha256);
});

test('answerKey: the image is keyed by its digest alone (never by where it came from)', () => {
  const other = 'data:image/png;base64,iVBORw0KGgo=';
  // the same text under another string object (another path read into the same bytes)
  const copy = `data:image/png;base64,${'iVBORw0KGgo='}`;
  assert.equal(
    key(body({}, 'q', copy)),
    answerKey('https://relay.example/v1/chat/completions', body({}, 'q', other), new Map([[other, imageDigest(other) as string]])),
  );
  // an image without a digest is keyed by its URL (a URL passed as given)
  const byUrl = (u: string) => answerKey('e', body({}, 'q', u), new Map());
  assert.notEqual(byUrl('https://a.example/x.png'), byUrl('https://a.example/y.png'));
  assert.equal(byUrl('https://a.example/x.png'), byUrl('https://a.example/x.png'));
});

const answer = (content: string, finishReason: string | null = 'stop', refusal: string | null = null) => ({
  content,
  contents: [content],
  finishReason,
  reasoning: null,
  refusal,
  model: 'm',
  usage: null,
  id: null,
});

test('isCacheable: complete, accepted answers only', () => {
  assert.equal(isCacheable(answer('A cat on a mat.'), false), true);
  assert.equal(isCacheable(answer('Here is a caption: a cat on a mat.'), false), true, 'chatter is removed on each read');
  assert.equal(isCacheable(answer("I'm sorry, I can't help with that."), false), false);
  assert.equal(isCacheable(answer('A cat', 'length'), false), false);
  assert.equal(isCacheable(answer('A cat', 'max_tokens'), false), false);
  assert.equal(isCacheable(answer(''), false), false);
  assert.equal(isCacheable(answer('<think>hmm</think>'), false), false);
  assert.equal(isCacheable(answer('x', 'content_filter'), false), false);
  assert.equal(isCacheable(answer('A cat', 'stop', 'no'), false), false);
  assert.equal(isCacheable({ ...answer('a'), contents: [] }, false), false);
  assert.equal(isCacheable({ ...answer('A cat.'), contents: ['A cat.', ''] }, false), false, 'every -n candidate');
  assert.equal(isCacheable(answer('{"caption":"a cat"}'), true), true);
});

const stored = (pad = 'x') => ({ status: 200, requestId: null, body: { pad }, elapsedMs: 1 });

test('AnswerCache: round trip, latest wins, torn and foreign entries are misses, 0600 in 0700', async () => {
  const cache = new AnswerCache(tempDir(), 500 * 1024 * 1024);
  const k = 'ab'.repeat(32);
  assert.equal(await cache.get(k), undefined);
  await cache.put(k, { status: 200, requestId: 'r', body: { x: 1 }, elapsedMs: 12 }, 1000);
  const got = await cache.get(k, 2000);
  assert.deepEqual(got?.response, { status: 200, requestId: 'r', body: { x: 1 }, elapsedMs: 12 });
  assert.equal(got?.at, 1000);
  const file = cache.fileOf(k);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(cache.dir).mode & 0o777, 0o700);
  await cache.put(k, stored('second'), 3000);
  assert.equal((await cache.get(k, 3000))?.at, 3000, 'the latest entry of a key wins');
  // another process appends, and this one (which has the file indexed) sees it
  const k2 = 'ab'.repeat(31) + 'cd';
  await new AnswerCache(cache.root, cache.maxBytes).put(k2, stored('other run'), 4000);
  assert.equal((await cache.get(k2, 4000))?.response.body && 'ok', 'ok');
  // a torn write (full disk), then an entry glued to it: the torn one is a miss, the glued one is read
  const k3 = 'ab'.repeat(30) + 'ef'.repeat(2);
  const k4 = 'ab'.repeat(30) + '0123';
  appendFileSync(file, `{"key":"${k3}","v":3,"at":5000,"response":{"sta`);
  await new AnswerCache(cache.root, cache.maxBytes).put(k4, stored('glued'), 5000);
  assert.equal(await cache.get(k3, 5000), undefined, 'torn');
  assert.deepEqual((await cache.get(k4, 5000))?.response.body, { pad: 'glued' });
  assert.equal((await cache.get(k, 5000))?.at, 3000, 'the entries before the torn line are intact');
  // an entry whose key is not the one asked for (a hand edit) is a miss
  const k5 = 'ab'.repeat(29) + '4567'.repeat(2);
  appendFileSync(
    file,
    `{"key":"${k5}","v":3,"at":1,"response":{"status":200,"requestId":null,"body":{},"elapsedMs":1},"key":"${'0'.repeat(64)}"}\n`,
  );
  assert.equal(await cache.get(k5, 5000), undefined, 'foreign');
  // the file replaced (another run pruned it): read again from the start
  writeFileSync(file, `${JSON.stringify({ key: k, v: 3, at: 7000, response: stored('rewritten') })}\n`);
  assert.equal((await cache.get(k, 7000))?.at, 7000);
  assert.equal(await cache.get(k2, 7000), undefined);
  // another run prunes (rewrites) the file this one holds open: the next answer goes to the new file
  await new AnswerCache(cache.root, cache.maxBytes).prune();
  const k6 = `ab${'9'.repeat(62)}`;
  await cache.put(k6, stored('after a prune'), 8000);
  assert.deepEqual((await new AnswerCache(cache.root, cache.maxBytes).get(k6, 8000))?.response.body, { pad: 'after a prune' });
  assert.equal((await cache.get(k, 8000))?.at, 7000, 'and what the prune kept is still read');
});

test('AnswerCache: a hit records its use at most once a day; prune drops the least recently used first', async () => {
  const cache = new AnswerCache(tempDir(), 500 * 1024 * 1024);
  const day = 24 * 60 * 60 * 1000;
  const now = Date.now();
  const keys = ['00', '11', '22', '33'].map((p) => p.repeat(32));
  // 00 oldest … 33 newest; then 00 is used (read) again
  for (const [i, k] of keys.entries()) await cache.put(k, stored('x'.repeat(1000)), now - (10 - i) * day);
  const size = (f: string) => statSync(f).size;
  const before = size(cache.fileOf(keys[0] as string));
  assert.ok(await cache.get(keys[0] as string, now));
  assert.ok(size(cache.fileOf(keys[0] as string)) > before, 'an old answer used: its use is recorded');
  const once = size(cache.fileOf(keys[0] as string));
  assert.ok(await new AnswerCache(cache.root, cache.maxBytes).get(keys[0] as string, now + 1000));
  assert.equal(size(cache.fileOf(keys[0] as string)), once, 'used again the same day: nothing written');
  // a file of the first layout (one file per answer) and a killed prune's temp file
  mkdirSync(join(cache.dir, 'ab'));
  writeFileSync(join(cache.dir, 'ab', 'cd.json'), '{}');
  writeFileSync(join(cache.dir, '00.jsonl.1.x.tmp'), 'half');
  const total = (await cache.stats()).bytes;
  assert.equal((await cache.stats()).entries, 4);
  const r = await cache.prune(Math.ceil(total / 2));
  assert.deepEqual([r.removed, r.entries], [2, 2]);
  assert.equal(r.bytes, (await cache.stats()).bytes);
  assert.ok(await cache.get(keys[0] as string, now), 'recently used: kept');
  // (looked at as of the day it was stored: a look now would record a use)
  assert.ok(await cache.get(keys[3] as string, now - 6.5 * day), 'newest: kept');
  assert.equal(await cache.get(keys[1] as string, now), undefined);
  assert.equal(await cache.get(keys[2] as string, now), undefined);
  assert.deepEqual(readdirSync(cache.dir).sort(), ['00.jsonl', '11.jsonl', '22.jsonl', '33.jsonl']);
  assert.ok(r.freed > 0);
  // the use survives the rewrite: a prune now drops 33 first
  assert.equal((await cache.prune(Math.ceil(r.bytes / 2))).removed, 1);
  assert.ok(await cache.get(keys[0] as string, now));
  assert.equal(await cache.get(keys[3] as string, now - 6.5 * day), undefined);
  const left = await cache.stats();
  assert.deepEqual(await cache.clear(), { removed: 1, freed: left.bytes });
  assert.equal((await cache.stats()).entries, 0);
});

test('dropped: least recently used first, until the rest fit; the newest kept when asked', () => {
  // each line 10 bytes with its newline
  const e = (key: string, used: number) => ({ key, start: 0, end: 9, at: 0, used });
  const live = [e('a', 3), e('b', 1), e('c', 2), e('d', 4)];
  const keys = (s: Set<string>) => [...s].sort().join('');
  assert.equal(keys(dropped(live, 40)), '', 'they fit');
  assert.equal(keys(dropped(live, 39)), 'b');
  assert.equal(keys(dropped(live, 20)), 'bc');
  assert.equal(keys(dropped(live, 0)), 'abcd');
  assert.equal(keys(dropped(live, 0, 1)), 'abc', 'the newest kept');
  assert.equal(keys(dropped([], 0, 1)), '');
});

test('AnswerCache: bounded as it is used: a file past its share of the size is trimmed, least recently used first', async () => {
  // 1 MiB: each of the 256 answer files may hold 3,840 bytes; answers of ~1 KB, all in one file
  const max = 1024 * 1024;
  const root = tempDir();
  const day = 24 * 60 * 60 * 1000;
  const now = Date.now();
  const key = (i: number) => `5a${String(i).padStart(62, '0')}`;
  // one run per answer (a shell loop of describes): nothing read or pruned as a whole
  for (let i = 0; i < 3; i++) await new AnswerCache(root, max).put(key(i), stored('x'.repeat(900)), now - (60 - i) * day);
  const cache = new AnswerCache(root, max);
  assert.ok(await cache.get(key(0), now), 'the oldest, used now');
  for (let i = 3; i < 40; i++) {
    await new AnswerCache(root, max).put(key(i), stored('x'.repeat(900)), now - (60 - i) * day);
    assert.ok(statSync(cache.fileOf(key(0))).size <= 3840, `within its share after ${i + 1}`);
  }
  const reader = new AnswerCache(root, max);
  assert.ok(await reader.get(key(39), now), 'the newest kept');
  assert.ok(await reader.get(key(0), now), 'the one used recently kept');
  assert.equal(await reader.get(key(1), now), undefined, 'the least recently used dropped');
  assert.ok((await reader.stats()).bytes <= max);
  // a run holding the file open goes on appending to the file there now
  const held = new AnswerCache(root, max);
  assert.ok(await held.get(key(39), now));
  await new AnswerCache(root, max).put(key(40), stored('x'.repeat(900)), now);
  await held.put(key(41), stored('y'), now);
  assert.deepEqual((await new AnswerCache(root, max).get(key(41), now))?.response.body, { pad: 'y' });
  // an answer bigger than the file's share is kept, alone
  await new AnswerCache(root, max).put(key(42), stored('z'.repeat(5000)), now + 1);
  assert.deepEqual((await new AnswerCache(root, max).get(key(42), now + 1))?.response.body, { pad: 'z'.repeat(5000) });
});

// A folder where files can be made and appended to but not renamed over: `chattr +a` (root is not
// stopped by permissions), or without write permission for anyone else.
function appendOnly(dir: string): (() => void) | string {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o500);
    return () => chmodSync(dir, 0o700);
  }
  const r = spawnSync('chattr', ['+a', dir]);
  if (r.status !== 0) return `skipped: chattr +a is not possible here (${String(r.stderr).trim() || r.error?.message})`;
  return () => spawnSync('chattr', ['-a', dir]);
}

test('AnswerCache: in a folder whose files it cannot rewrite, answers are stored and found, and trimming is tried once', async (t) => {
  const max = 1024 * 1024;
  const cache = new AnswerCache(tempDir(), max);
  const key = (i: number) => `5a${String(i).padStart(62, '0')}`;
  await cache.put(key(0), stored('x'.repeat(900)));
  const release = appendOnly(cache.dir);
  if (typeof release === 'string') return t.skip(release);
  try {
    // 12 answers of ~1 KB in a file whose share is 3,840 bytes: past it from the fourth on
    for (let i = 1; i <= 12; i++) await cache.put(key(i), stored('x'.repeat(900)));
    for (let i = 0; i <= 12; i++) assert.ok(await new AnswerCache(cache.root, max).get(key(i)), `answer ${i}`);
    assert.ok(statSync(cache.fileOf(key(0))).size > 3840, 'not trimmed');
    // a failed trim leaves its temp file (nothing can be removed from the folder): one, not one per answer
    assert.ok(readdirSync(cache.dir).filter((n) => n.endsWith('.tmp')).length <= 1, readdirSync(cache.dir).join(' '));
  } finally {
    release();
  }
});

test('AnswerCache: two runs trimming the same file at once leave it whole, within its share (spawned)', async () => {
  const root = tempDir();
  const max = 1024 * 1024;
  const compiled = import.meta.url.endsWith('.js');
  const filler = fileURLToPath(new URL(`../../helpers/cache-filler.${compiled ? 'js' : 'ts'}`, import.meta.url));
  const run = (tag: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), filler, root, String(max), tag, '150'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cache-filler ${tag}: exit ${code}\n${err}`))));
    });
  await Promise.all([run('a'), run('b')]);
  const cache = new AnswerCache(root, max);
  const file = cache.fileOf(`5a${'0'.repeat(62)}`);
  // whole lines, each an entry this version reads or a use
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  for (const line of lines) assert.ok(JSON.parse(line).key ?? JSON.parse(line).used, line.slice(0, 80));
  // 150 answers of ~1 KB each from both: the file stays within its share (3,840 bytes), plus the answers appended meanwhile
  assert.ok(statSync(file).size < 3840 + 2 * 1100, `${statSync(file).size} bytes`);
  // the newest of either run is there, or lost to the other's rewrite (a miss later, never a wrong answer)
  for (const tag of ['a', 'b']) {
    const got = await cache.get(`5a${tag}${String(149).padStart(61, '0')}`);
    if (got) assert.match(String((got.response.body as { pad: string }).pad), new RegExp(`^${tag}149 `));
  }
  assert.ok(lines.length >= 2, 'answers kept');
});

test('preparedKey: any change to the file as stat sees it, or to a setting, is another key', () => {
  const id = { path: '/p/a.jpg', size: 10, mtimeMs: 1700000000000.5, ctimeMs: 1700000000000.5, ino: 7, dev: 1, settings: '[1568]' };
  const base = preparedKey(id);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(preparedKey({ ...id }), base);
  for (const changed of [{ path: '/p/b.jpg' }, { size: 11 }, { mtimeMs: 1700000000000.6 }, { ino: 8 }, { dev: 2 }, { settings: '[800]' }])
    assert.notEqual(preparedKey({ ...id, ...changed }), base, JSON.stringify(changed));
});

test('AnswerCache: the memo of prepared files is written by flush, one append per file, and read back', async () => {
  const root = tempDir();
  const cache = new AnswerCache(root, 500 * 1024 * 1024);
  const info = (n: number) => ({
    sha256: String(n).repeat(64).slice(0, 64),
    digest: 'd'.repeat(64),
    mime: 'image/jpeg',
    report: { source: 'a.jpg' } as never,
    warnings: n ? ['resized'] : [],
  });
  const keys = [0, 1, 2].map((n) => preparedKey({ path: `/p/${n}.jpg`, size: n, mtimeMs: 1, ctimeMs: 1, ino: n, dev: 1, settings: '' }));
  keys.forEach((k, n) => cache.remember(k, info(n)));
  const other = () => new AnswerCache(root, 500 * 1024 * 1024);
  assert.equal(other().prepared(keys[1] as string), undefined, 'kept until flush');
  cache.flush();
  assert.deepEqual(other().prepared(keys[1] as string), info(1));
  assert.deepEqual(other().prepared(keys[0] as string), info(0));
  assert.equal(other().prepared('ff'.repeat(32)), undefined);
  // counted in the cache's size, pruned with it
  assert.ok((await cache.stats()).bytes > 0);
  // 16 files at most, by the key's first hex digit; a file of the 256-file layout is removed by a prune
  const memoDir = join(root, 'prepared');
  assert.ok(
    readdirSync(memoDir).every((f) => /^[0-9a-f]\.jsonl$/.test(f)),
    readdirSync(memoDir).join(' '),
  );
  writeFileSync(join(memoDir, 'ab.jsonl'), '{}\n');
  await cache.prune();
  assert.ok(!readdirSync(memoDir).includes('ab.jsonl'));
  assert.deepEqual(other().prepared(keys[2] as string), info(2), 'the memo is kept by the prune');
  await cache.clear();
  assert.equal(other().prepared(keys[1] as string), undefined);
});

test('PreparedMemo: a file prepared before is known by a stat (a stand-in, nothing loaded); a changed one is not', () => {
  const dir = tempDir();
  const file = join(dir, 'a.jpg');
  writeFileSync(file, 'jpeg bytes');
  let loads = 0;
  const load = async () => {
    loads++;
    throw new Error('not called by look');
  };
  const root = tempDir();
  // a memo as a run has it (each of its files read once per run)
  const run = () => new PreparedMemo(new AnswerCache(root, 500 * 1024 * 1024), '["settings"]', load, 0);
  const memo = run();
  const item = { image: 'a.jpg', key: file, url: false };
  const first = memo.look(item);
  assert.ok(first && !first.known);
  const url = `data:image/jpeg;base64,${Buffer.from('prepared').toString('base64')}`;
  memo.remember(first.key, 'f'.repeat(64), { url, mime: 'image/jpeg', report: { source: 'a.jpg' } as never, warnings: ['shrunk'] });
  memo.flush();
  const again = run().look(item);
  assert.equal(again?.known?.sha256, 'f'.repeat(64));
  assert.deepEqual(again?.known?.image.warnings, ['shrunk']);
  assert.notEqual(again?.known?.image.url, url, 'a stand-in, not the bytes');
  assert.equal(loads, 0);
  appendFileSync(file, '!');
  assert.equal(run().look(item)?.known, undefined, 'changed: read again');
  assert.equal(run().look({ ...item, url: true }), undefined, 'URLs are not remembered');
  assert.equal(run().look({ ...item, image: '-' }), undefined, 'nor stdin');
  const settled = new PreparedMemo(new AnswerCache(tempDir(), 500 * 1024 * 1024), '[]', load);
  assert.equal(settled.look(item), undefined, 'a file changed moments ago is not remembered');
});

const rec = (over: Partial<HistoryRecord> = {}): HistoryRecord => ({
  id: 'a',
  time: '2026-12-01T10:00:00.000Z',
  command: 'describe',
  image: 'photos/cat.jpg',
  path: '/home/me/photos/cat.jpg',
  sha256: 'ab12cd34'.repeat(8),
  prompt: 'What is it?',
  model: 'claude-sonnet-4-5',
  tokens: null,
  duration_ms: 5,
  ok: true,
  answer: 'A brown Terrier on a beach.',
  ...over,
});

test('matchesFilter: one line per filter', () => {
  const { answer: _none, ...failure } = rec({ ok: false, error: { code: null, status: 500, message: 'Upstream down' } });
  assert.equal(matchesFilter(rec(), { limit: 0 }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, search: 'terrier' }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, search: 'TERRIER ON' }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, search: 'what is' }), true, 'the prompt');
  assert.equal(matchesFilter(rec(), { limit: 0, search: 'cat.jpg' }), true, 'the image');
  assert.equal(matchesFilter(rec(), { limit: 0, search: 'poodle' }), false);
  assert.equal(
    matchesFilter(failure, {
      limit: 0,
      search: 'upstream',
    }),
    true,
  );
  assert.equal(matchesFilter(rec(), { limit: 0, model: 'Sonnet' }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, model: 'gpt' }), false);
  assert.equal(matchesFilter(rec(), { limit: 0, image: 'cat.jpg' }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, image: '/home/me/photos/cat.jpg' }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, image: 'AB12CD34' }), true, 'a sha256 prefix');
  assert.equal(matchesFilter(rec(), { limit: 0, image: 'dog.jpg' }), false);
  assert.equal(matchesFilter(rec(), { limit: 0, since: Date.parse('2026-12-01T09:00:00Z') }), true);
  assert.equal(matchesFilter(rec(), { limit: 0, since: Date.parse('2026-12-01T11:00:00Z') }), false);
  assert.equal(matchesFilter(rec(), { limit: 0, ok: false }), false);
});

test('searchForms: folded forms, as JSON spells them; ASCII in any case, other letters in the forms words are written in', () => {
  assert.deepEqual(searchForms('terrier', true), ['terrier']);
  assert.deepEqual(searchForms('GitHub', true), ['github']);
  assert.deepEqual(searchForms('gItHuB', true), ['github']);
  assert.deepEqual(searchForms('brown dog', true), ['brown dog']);
  assert.deepEqual(searchForms('a "q"', false), ['a \\"q\\"']);
  assert.deepEqual(searchForms('Photo.JPG', false), ['Photo.JPG'], 'an image path as written');
  assert.deepEqual(searchForms('café', true).sort(), [fold('café'), fold('CAFÉ')].sort());
  assert.deepEqual(searchForms('IMG_0000123.jpg', true), ['_0000123.'], 'a run without letters is the same in any case');
  assert.deepEqual(searchForms('error 2026-12-07', true), [' 2026-12-07']);
  assert.deepEqual(searchForms('a  b', true), ['a  b'], 'blanks alone are no run');
});

test('needsFold: only forms with a byte that folding makes of another need the bytes folded', () => {
  const f = (...forms: string[]) => needsFold(forms.map((x) => Buffer.from(fold(x), 'latin1')));
  assert.equal(f('_0000123.'), false, 'digits and punctuation');
  assert.equal(f(' 2026-12-07'), false);
  assert.equal(f('terrier'), true, 'an ASCII letter');
  assert.equal(f('_0042.', 'a'), true, 'any form with one');
  assert.equal(f('Ü'), true, 'a latin1 letter of a UTF-8 byte (0xC3 0x9C folds to 0xE3 0x9C)');
  assert.equal(needsFold([Buffer.from([0xd7, 0xf7, 0xff, 0xdf])]), false, '× ÷ ÿ ß: no other byte folds to them');
  assert.equal(needsFold([]), false);
});

test('candidateLines: each line with a form once, last first; in any case across the 64 KiB pieces a region is read in', () => {
  const lines = [
    '{"a":"x"}',
    `{"a":"${'.'.repeat(65_530)}Zebra crossing"}`,
    '{"a":"none"}',
    `{"a":"zEBRA ${'-'.repeat(70_000)} zebra"}`,
    '{"a":"ZEBRA"}',
  ];
  const region = Buffer.from(lines.join('\n'));
  const spans = (forms: string[], folded: boolean) =>
    candidateLines(
      region,
      forms.map((f) => Buffer.from(f, 'latin1')),
      folded,
    ).map(([a, b]) => region.toString('latin1', a, b));
  assert.deepEqual(
    spans(['zebra'], true),
    [lines[4], lines[3], lines[1]],
    'the second straddles 65,536; the fourth is longer than a piece',
  );
  assert.deepEqual(spans(['zebra'], false), [lines[3]], 'as bytes: only as written');
  assert.deepEqual(spans(['zebra c', 'a"}'], true), [lines[4], lines[3], lines[1]], 'either form; a line found by both once');
  assert.deepEqual(spans(['x"', '.*'], true), [lines[0]], 'a form is text, not a pattern');
  // the same lines as the forms found in a folded copy of the bytes (what it replaces)
  const text = Buffer.from('{"a":"CAFÉ"}\n{"a":"café"}\n{"a":"Café au lait"}\n{"a":"cafe ÀÉ àé"}\n{"a":"GitHub ß µ ÿ"}');
  const copy = Buffer.from(text.toString('latin1').toLowerCase(), 'latin1');
  for (const q of ['café', 'CAFÉ', 'àé', 'ÀÉ', 'github', 'ß', 'µ', 'ÿ', 'É']) {
    const forms = searchForms(q, true).map((f) => Buffer.from(f, 'latin1'));
    assert.deepEqual(candidateLines(text, forms, true), candidateLines(copy, forms, false), q);
  }
});

test('anchorOf: one or two ASCII letters are found by the rarer letter in both cases; anything else by the expression', () => {
  const a = (...forms: string[]) => anchorOf(forms.map((f) => Buffer.from(f, 'latin1')));
  assert.deepEqual(a('q'), { cases: ['q', 'Q'], offset: 0, other: -1 });
  assert.deepEqual(a('e'), { cases: ['e', 'E'], offset: 0, other: -1 }, 'one letter, however common');
  assert.deepEqual(a('ok'), { cases: ['k', 'K'], offset: 1, other: 0x6f }, 'k is rarer than o');
  assert.deepEqual(a('zq'), { cases: ['z', 'Z'], offset: 0, other: 0x71 }, 'z is the rarest');
  assert.deepEqual(a('kk'), { cases: ['k', 'K'], offset: 0, other: 0x6b });
  assert.equal(a('hh'), undefined, 'two common letters');
  assert.equal(a('th'), undefined);
  assert.equal(a('zeb'), undefined, 'three letters: trigrams');
  assert.equal(a('7'), undefined, 'no letter');
  assert.equal(a('a.'), undefined);
  assert.equal(a('\xe3\xa9'), undefined, 'a letter beyond ASCII (é folded)');
  assert.equal(a('q', 'x'), undefined, 'two forms');
  assert.equal(a(''), undefined);
});

test('candidateLines: one or two letters by their rarer letter find the lines the expression finds, across the 64 KiB pieces', () => {
  // `qx` and `Xq` each across the end of a 64 KiB piece (the first letter its last byte)
  const head = ['{"a":"Quay"}'];
  const straddling = (before: string, pair: string, at: number) => `{"a":"${'.'.repeat(at - before.length - 1 - 6)}${pair}"}`;
  const first = straddling(head.join('\n'), 'qx', 65_535);
  const mid = ['{"a":"none here"}', '{"a":"OK then"}', '{"a":"so, oK"}'];
  const before = [...head, first, ...mid].join('\n');
  const lines = [...head, first, ...mid, straddling(before, 'Xq', 2 * 65_536 - 1), '{"a":"book"}', '{"a":"kayak, no o before"}'];
  const region = Buffer.from(lines.join('\n'));
  assert.equal(region.indexOf('qx'), 65_535);
  assert.equal(region.indexOf('Xq'), 2 * 65_536 - 1);
  const found = (form: string, byExpression: boolean) => {
    // the expression's way: a form it does not anchor (the same lines, looked for as `form|form`)
    const forms = byExpression ? [Buffer.from(form, 'latin1'), Buffer.from(form, 'latin1')] : [Buffer.from(form, 'latin1')];
    return candidateLines(region, forms, true).map(([x, y]) => region.toString('latin1', x, y));
  };
  for (const form of ['q', 'x', 'ok', 'qx', 'xq', 'ko', 'k', 'z']) assert.deepEqual(found(form, false), found(form, true), form);
  assert.deepEqual(found('ok', false), [lines[6], lines[4], lines[3]]);
  assert.deepEqual(found('xq', false), [lines[5]]);
  assert.deepEqual(found('qx', false), [lines[1]]);
});

test("mayBeInField: a match in a key, a number, true/false or another field's string is surely not in the text searched", () => {
  const line = JSON.stringify({
    id: '0mxe2vptuj089',
    time: '2026-12-08T02:26:32.706Z',
    command: 'batch',
    image: 'photos/ok.jpg',
    images: ['a.png', 'ok'],
    sha256: 'ab'.repeat(32),
    prompt: 'is it ok?',
    model: 'gpt-4o',
    tokens: { prompt: 1200, completion: 160, total: 1360 },
    duration_ms: 1500,
    ok: true,
    finish_reason: 'stop',
    answer: 'He said "ok": fine, "finish_reason":"x" and {ok}',
    error: { code: 'rate_limited', status: 429, message: 'slow down' },
  });
  const buf = Buffer.from(line);
  const SEARCHED = new Set(['answer', 'prompt', 'image', 'images', 'path', 'message', 'model', 'system']);
  // `text` at its `nth` place in the line (0: the first)
  const at = (text: string, nth = 0) => {
    let p = -1;
    for (let i = 0; i <= nth; i++) p = line.indexOf(text, p + 1);
    assert.ok(p >= 0, `${text} #${nth} is in the line`);
    return mayBeInField(buf, p, SEARCHED);
  };
  assert.equal(at('mxe'), false, 'the id');
  assert.equal(at('26:32'), false, 'the time');
  assert.equal(at('batch'), false, 'the command');
  assert.equal(at('ok.jpg'), true, 'the image');
  assert.equal(at('ok', 1), true, 'a string of an array (images)');
  assert.equal(at('abab'), false, 'the sha256');
  assert.equal(at('ok?'), true, 'the prompt');
  assert.equal(at('prompt', 1), false, 'a key inside tokens');
  assert.equal(at('1200'), false, 'a count');
  assert.equal(at('500'), false, 'a number after its first digit');
  assert.equal(at('ok":t'), false, 'the key ok, and on into its value');
  assert.equal(at('rue'), false, 'true');
  assert.equal(at('finish'), false, 'a key');
  assert.equal(at('stop'), false, 'finish_reason');
  assert.equal(at('He said'), true, 'the answer');
  assert.equal(at('ok\\"'), true, 'after an escaped quote: not sure, so it may');
  assert.equal(at('finish', 1), true, 'the name of a key, in the answer');
  assert.equal(at('{ok}'), true, 'braces in the answer');
  assert.equal(at('rate'), false, 'the error code');
  assert.equal(at('429'), false, 'the error status');
  assert.equal(at('slow'), true, 'the error message');
  assert.equal(mayBeInField(buf, 0, SEARCHED), true, 'the line start: not sure');
  assert.equal(mayBeInField(buf, line.indexOf('gpt'), new Set(['image'])), false, 'the model, when only the image counts');
});

test('candidateLines with fields: a line whose only match is in its keys or numbers is no candidate', () => {
  const lines = [
    '{"id":"1","ok":true,"finish_reason":"stop","duration_ms":1500,"answer":"a finish line"}',
    '{"id":"2","ok":true,"finish_reason":"stop","duration_ms":1500,"answer":"a dog"}',
    '{"id":"3","ok":false,"error":{"code":"x","status":500,"message":"HTTP 1500"}}',
  ];
  const region = Buffer.from(lines.join('\n'));
  const fields = new Set(['answer', 'message']);
  const spans = (form: string, folded: boolean) =>
    candidateLines(region, [Buffer.from(form, 'latin1')], folded, fields).map(([a, b]) => region.toString('latin1', a, b));
  assert.deepEqual(spans('finish', true), [lines[0]]);
  assert.deepEqual(spans('ok', true), []);
  assert.deepEqual(spans('1500', false), [lines[2]]);
  assert.deepEqual(
    candidateLines(region, [Buffer.from('1500')], false).map(([a]) => a),
    [region.lastIndexOf('{"id":"3"'), region.lastIndexOf('{"id":"2"'), 0],
    'without fields: every line with it',
  );
});

test("History.query --search: a word of every record's keys or values (ok, finish, batch, stop, true) finds only the records that say it", async () => {
  const h = new History(tempDir());
  const answers = ['a dog on a boardwalk', 'looks OK to me', 'a finish line at dusk', 'the red car'];
  for (const answer of answers)
    await h.append({
      command: 'batch',
      image: 'p.jpg',
      prompt: 'p',
      model: 'm',
      ok: true,
      finish_reason: 'stop',
      tokens: null,
      duration_ms: 1500,
      answer,
    } as NewRecord);
  const said = async (search: string) => (await h.query({ search, limit: 0 })).map((r) => r.answer);
  assert.deepEqual(await said('ok'), ['looks OK to me']);
  assert.deepEqual(await said('finish'), ['a finish line at dusk']);
  assert.deepEqual(await said('batch'), []);
  assert.deepEqual(await said('stop'), []);
  assert.deepEqual(await said('true'), []);
  assert.deepEqual(await said('1500'), []);
  assert.deepEqual(await said('red'), ['the red car']);
});

test('History.query --search: a form without letters is found in the bytes as they are, in any case of the rest', async () => {
  const h = new History(tempDir());
  const images = ['photos/img_0000123.JPG', 'photos/IMG_0000124.jpg', 'photos/Img_0000123.Jpg', 'IMG_0000123.png'];
  for (const image of images) await h.append({ command: 'batch', image, prompt: 'p', model: 'm', ok: true, answer: 'a' } as NewRecord);
  const found = await h.query({ search: 'IMG_0000123.jpg', limit: 0 });
  assert.deepEqual(
    found.map((r) => r.image),
    ['photos/img_0000123.JPG', 'photos/Img_0000123.Jpg'],
  );
});

test('fold: as many bytes as the UTF-8, ASCII letters lower case', () => {
  assert.equal(fold('GitHub'), 'github');
  assert.equal(Buffer.from(fold('CAFÉ ünd Ö'), 'latin1').length, Buffer.byteLength('CAFÉ ünd Ö'));
});

test('History.query --search: any case for ASCII (GitHub, iPhone), Title and UPPER case beyond it', async () => {
  const h = new History(tempDir());
  const answers = ['A GitHub logo on an iPhone', 'A CAFÉ sign', 'a plain cat'];
  for (const [i, answer] of answers.entries()) {
    await h.append({ command: 'describe', image: `${i}.png`, prompt: 'p', model: 'm', ok: true, answer } as NewRecord);
  }
  const found = async (search: string) => (await h.query({ limit: 20, search })).map((r) => r.answer);
  for (const q of ['github', 'GITHUB', 'gItHuB', 'iphone', 'IPHONE', 'Logo']) assert.deepEqual(await found(q), [answers[0]], q);
  for (const q of ['café', 'Café', 'CAFÉ']) assert.deepEqual(await found(q), [answers[1]], q);
  assert.deepEqual(await found('dog'), []);
});

test('parseSince: durations back from now and dates', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  assert.equal(parseSince('30m', now), now - 30 * 60_000);
  assert.equal(parseSince('2h', now), now - 2 * 3_600_000);
  assert.equal(parseSince('3d', now), now - 3 * 86_400_000);
  assert.equal(parseSince('1w', now), now - 604_800_000);
  assert.equal(parseSince('2026-12-01T09:30:00Z', now), Date.parse('2026-12-01T09:30:00Z'));
  assert.equal(parseSince('2026-12-01', now), new Date(2026, 11, 1).getTime());
  assert.equal(parseSince('yesterday', now), null);
  assert.equal(parseSince('2026-13-45', now), null);
  assert.equal(parseSince('3 fortnights', now), null);
});

test('tokensOf and newId', () => {
  assert.deepEqual(tokensOf({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 }), { prompt: 9, completion: 12, total: 21 });
  assert.deepEqual(tokensOf({ prompt_tokens: 9, completion_tokens: 12 }), { prompt: 9, completion: 12, total: 21 });
  assert.equal(tokensOf(null), null);
  assert.equal(tokensOf({}), null);
  assert.match(newId(), /^[0-9a-z]{13}$/);
  assert.ok(newId(1000) < newId(2000), 'sortable by time');
});

test('isoTime: the text toISOString gives, within a second, across seconds and for every width of the milliseconds', () => {
  const base = Date.UTC(2026, 11, 7, 17, 59, 59);
  for (const t of [base, base + 7, base + 42, base + 999, base + 1000, base + 1005, base + 60_000 + 80, 0, 86_400_000 - 1])
    assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
  assert.equal(isoTime(base + 3), new Date(base + 3).toISOString(), 'the second formatted before, again');
});

test('History.append: each line is the record returned as JSON, id first; a record with its own time keeps it', async () => {
  const h = new History(tempDir());
  const { id: _id, time: _time, ...plain } = rec();
  const a = await h.append(
    { ...plain, path: undefined, answer: 'A cat, sk-secret-0123456789' } as unknown as NewRecord,
    'sk-secret-0123456789',
  );
  const b = await h.append({ ...plain, time: '2026-01-01T00:00:00.000Z' });
  const c = await h.append({ command: 'batch', id: undefined, time: undefined } as unknown as NewRecord);
  const lines = readFileSync(h.file, 'utf8').split('\n');
  assert.equal(lines[0], JSON.stringify({ ...a, answer: 'A cat, [token]' }));
  assert.ok((lines[0] as string).startsWith(`{"id":"${a.id}","time":"${a.time}",`));
  assert.ok(!(lines[0] as string).includes('"path"'), 'a field left undefined is left out');
  assert.equal(lines[1], JSON.stringify(b));
  assert.equal(b.time, '2026-01-01T00:00:00.000Z');
  assert.equal(lines[2], JSON.stringify(c));
  assert.match(c.id, /^[0-9a-z]{13}$/, 'given as undefined: made here');
  assert.equal(typeof c.time, 'string');
  assert.equal(lines[3], '');
});

test('parseLine: a record glued to a torn line is still read; junk is skipped', () => {
  const whole = JSON.stringify(rec());
  assert.equal(parseLine(whole)?.id, 'a');
  assert.equal(parseLine(`{"id":"torn","time":"2026-12-01T10:0${whole}`)?.answer, 'A brown Terrier on a beach.');
  assert.equal(parseLine('not json'), undefined);
  assert.equal(parseLine('{"other":1}'), undefined);
});

test('History: appends, queries newest-last, finds by id prefix, masks the token, survives torn lines', async () => {
  const h = new History(tempDir());
  const token = 'sk-secret-0123456789';
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await h.append(
      {
        ...rec({ answer: i === 7 ? `Terrier number ${i}, ${token}` : `answer ${i}`, model: i % 2 ? 'gpt-4o' : 'claude' }),
        time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      },
      token,
    );
    ids.push(r.id);
    if (i === 20) appendFileSync(h.file, '{"id":"torn","time":"2026'); // a torn write: the next record is glued to it
  }
  assert.equal(statSync(h.file).mode & 0o777, 0o600);
  assert.ok(!readFileSync(h.file, 'utf8').includes(token));
  const latest = await h.query({ limit: 20 });
  assert.equal(latest.length, 20);
  assert.equal(latest.at(-1)?.answer, 'answer 29');
  assert.equal(latest[0]?.answer, 'answer 10');
  assert.ok(
    latest.some((r) => r.answer === 'answer 21'),
    'the record after the torn line',
  );
  assert.deepEqual(
    (await h.query({ limit: 0, search: 'terrier' })).map((r) => r.answer),
    ['Terrier number 7, [token]'],
  );
  assert.equal((await h.query({ limit: 0, model: 'gpt' })).length, 15);
  assert.equal((await h.query({ limit: 3, model: 'gpt' })).at(-1)?.answer, 'answer 29');
  assert.equal((await h.query({ limit: 0, since: Date.UTC(2026, 0, 1, 0, 25) })).length, 5);
  assert.deepEqual(
    (await h.find(ids[3] as string)).map((r) => r.id),
    [ids[3]],
  );
  assert.equal((await h.find('zzzz')).length, 0);
  assert.ok((await h.find((ids[3] as string).slice(0, 4))).length > 1, 'a short prefix matches several');
  const bytes = statSync(h.file).size;
  assert.deepEqual(await h.clear(), { bytes, records: 30 });
  assert.equal((await h.query({ limit: 0 })).length, 0);
});

test('History: lines longer than a read chunk, and a file without a final newline', async () => {
  const h = new History(tempDir());
  const big = 'x'.repeat(9 * 1024 * 1024);
  await h.append(rec({ answer: 'first' }));
  await h.append(rec({ answer: `${big} needle` }));
  await h.append(rec({ answer: 'last' }));
  const all = await h.query({ limit: 0 });
  assert.deepEqual(
    all.map((r) => (r.answer as string).slice(-6)),
    ['first', 'needle', 'last'].map((s) => s.slice(-6)),
  );
  assert.equal((await h.query({ limit: 0, search: 'needle' })).length, 1);
  writeFileSync(h.file, readFileSync(h.file, 'utf8').trimEnd());
  assert.equal((await h.query({ limit: 0 })).length, 3);
});

test('History: read-chunk edges at a line start, on a newline, a byte into a line and inside a line of three chunks: every line whole', async () => {
  const MiB = 1024 * 1024;
  // Line lengths (with the newline), in file order. Read backwards in chunks of 1 MiB from the end,
  // the chunk edges fall: at the start of the last line (MiB), on the newline before the one of
  // MiB - 1, a byte into the one of MiB + 2, twice inside the one of 2 MiB + 7; the last chunk, at
  // the start of the file, ends inside that long line.
  const order = [300, 2 * MiB + 7, MiB + 2, MiB - 1, MiB];
  const h = new History(tempDir());
  const ids: string[] = [];
  const answers: number[] = [];
  const needles: string[] = [];
  const lines = order.map((length, i) => {
    const id = `id${String(i).padStart(11, '0')}`;
    ids.push(id);
    // a needle at the start of some answers, at the end of others: found wherever the chunk edges fall
    const at = i % 3 === 0 ? 'start' : i % 3 === 1 ? 'end' : '';
    if (at) needles.push(id);
    const head = `{"id":"${id}","time":"2026-12-01T10:00:00.000Z","command":"describe","answer":"`;
    const fill = length - 1 - head.length - 2;
    const answer = at === 'start' ? `needle ${'x'.repeat(fill - 7)}` : at === 'end' ? `${'x'.repeat(fill - 7)} needle` : 'x'.repeat(fill);
    answers.push(answer.length);
    return `${head}${answer}"}`;
  });
  writeFileSync(h.file, `${lines.join('\n')}\n`);
  assert.equal(
    statSync(h.file).size,
    order.reduce((a, b) => a + b, 0),
  );
  const all = await h.query({ limit: 0 });
  assert.deepEqual(
    all.map((r) => r.id),
    ids,
  );
  assert.deepEqual(
    all.map((r) => (r.answer as string).length),
    answers,
    'each whole',
  );
  assert.deepEqual(
    (await h.query({ limit: 0, search: 'needle' })).map((r) => r.id),
    needles,
  );
});
