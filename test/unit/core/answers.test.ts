// The answer cache's key and store, what may be cached, and the history's store and queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnswerCache, answerKey, dataUrlHash } from '../../../src/core/answer-cache.ts';
import { isCacheable } from '../../../src/core/answers.ts';
import { History, newId, parseLine, searchForms, matchesFilter, tokensOf, type HistoryRecord } from '../../../src/core/history.ts';
import { parseSince } from '../../../src/cli/log.ts';
import { tempDir } from '../../helpers/cli.ts';

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
const hashes = new Map([[img, dataUrlHash(img) as string]]);
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

test('dataUrlHash: the bytes of a data: URL; null for other URLs', () => {
  assert.equal(dataUrlHash('data:text/plain;base64,aGk='), '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4');
  assert.equal(dataUrlHash('data:text/plain,hi'), '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4');
  assert.equal(dataUrlHash('https://example.com/a.png'), null);
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

test('AnswerCache: round trip, torn and foreign entries are misses, files 0600', async () => {
  const cache = new AnswerCache(tempDir(), 500 * 1024 * 1024);
  const k = 'ab'.repeat(32);
  assert.equal(await cache.get(k), undefined);
  await cache.put(k, { status: 200, requestId: 'r', body: { x: 1 }, elapsedMs: 12 }, 1000);
  const got = await cache.get(k);
  assert.deepEqual(got?.response, { status: 200, requestId: 'r', body: { x: 1 }, elapsedMs: 12 });
  assert.equal(got?.at, 1000);
  const file = join(cache.dir, 'ab', `${k.slice(2)}.json`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, 20));
  assert.equal(await cache.get(k), undefined, 'torn');
  writeFileSync(file, text.replace(k, 'cd'.repeat(32)));
  assert.equal(await cache.get(k), undefined, 'an entry for another key');
  await cache.pruning;
});

test('AnswerCache: prune removes the least recently used first, and temp files of killed runs', async () => {
  const cache = new AnswerCache(tempDir(), 500 * 1024 * 1024);
  const keys = ['00', '11', '22', '33'].map((p) => p.repeat(32));
  for (const k of keys) await cache.put(k, { status: 200, requestId: null, body: { pad: 'x'.repeat(1000) }, elapsedMs: 1 });
  await cache.pruning;
  // ages: 00 oldest … 33 newest; then 00 is read (used) again
  keys.forEach((k, i) => {
    const t = new Date(Date.now() - (10 - i) * 60_000);
    utimesSync(join(cache.dir, k.slice(0, 2), `${k.slice(2)}.json`), t, t);
  });
  assert.ok(await cache.get(keys[0] as string));
  const stale = join(cache.dir, '11', 'x.json.1.tmp');
  writeFileSync(stale, 'half');
  utimesSync(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
  const size = (await cache.stats()).bytes / 4;
  const r = await cache.prune(Math.ceil(size * 2));
  assert.deepEqual([r.removed, r.entries], [2, 2]);
  assert.ok(await cache.get(keys[0] as string), 'recently used: kept');
  assert.ok(await cache.get(keys[3] as string), 'newest: kept');
  assert.equal(await cache.get(keys[1] as string), undefined);
  assert.equal(await cache.get(keys[2] as string), undefined);
  assert.deepEqual(readdirSync(join(cache.dir, '11')), [], 'the temp file is gone');
  assert.deepEqual(await cache.clear(), { removed: 2, freed: Math.round(size * 2) });
  assert.equal((await cache.stats()).entries, 0);
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

test('searchForms: the forms words are written in, as JSON spells them', () => {
  assert.deepEqual(searchForms('terrier', true).sort(), ['TERRIER', 'errier'].sort());
  assert.deepEqual(searchForms('brown dog', true).sort(), ['BROWN DOG', 'Brown Dog', 'rown dog'].sort());
  assert.deepEqual(searchForms('GitHub', true).sort(), ['GITHUB', 'GitHub', 'ithub'].sort());
  assert.deepEqual(searchForms('a "q"', false), ['a \\"q\\"']);
  assert.deepEqual(searchForms('ab', true).sort(), ['AB', 'Ab', 'ab'].sort());
  assert.deepEqual(searchForms('IMG_0000123.jpg', true), ['_0000123.'], 'a run without letters is the same in any case');
  assert.deepEqual(searchForms('error 2026-12-07', true), [' 2026-12-07']);
  assert.deepEqual(searchForms('a  b', true).sort(), ['A  B', '  b'].sort(), 'blanks alone are no run');
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
