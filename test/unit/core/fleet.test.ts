// Manifests, merge and --max-rps: the pure parts of running as one task of many.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { expandInputs, globRoot } from '../../../src/core/batch-inputs.ts';
import { indexFromText } from '../../../src/core/batch-resume.ts';
import { imageColumn, manifestFormat, manifestPlace, parseJsonRow, readManifest, rowItem } from '../../../src/core/manifest.ts';
import { countByShard, Merged, recordLines, replaces } from '../../../src/core/merge.ts';
import { shardOf } from '../../../src/core/shard.ts';
import { UsageError } from '../../../src/types.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'imgdesc-fleet-unit-'));
const noStdin = Readable.from([]);

// ---- shard keys of listed inputs ------------------------------------------------------------------

test('globRoot: the fixed folders before the first wildcard', () => {
  assert.equal(globRoot('photos/2024/**/*.jpg'), 'photos/2024');
  assert.equal(globRoot('*.jpg'), '.');
  assert.equal(globRoot('photos/*/a.jpg'), 'photos');
  assert.equal(globRoot('/data/set/*.png'), '/data/set');
});

test('shard keys are relative to the input root, so the same files get the same key from any cwd', async () => {
  const dir = tmp();
  for (const f of ['a.jpg', 'sub/b.jpg']) {
    const p = join(dir, 'photos', f);
    await import('node:fs/promises').then((fs) => fs.mkdir(resolve(p, '..'), { recursive: true }));
    writeFileSync(p, 'x');
  }
  const fromDir = await expandInputs(['photos'], { cwd: dir, recursive: true });
  const fromAbove = await expandInputs([join(dir, 'photos') + '/'], { cwd: '/', recursive: true });
  const fromGlob = await expandInputs(['photos/**/*.jpg'], { cwd: dir, recursive: false });
  const named = await expandInputs(['photos/a.jpg', 'https://h.example/x.png'], { cwd: dir, recursive: false });
  assert.deepEqual(
    fromDir.map((i) => i.shardKey),
    ['a.jpg', 'sub/b.jpg'],
  );
  assert.deepEqual(
    fromAbove.map((i) => i.shardKey),
    ['a.jpg', 'sub/b.jpg'],
  );
  assert.deepEqual(
    fromGlob.map((i) => i.shardKey),
    ['a.jpg', 'sub/b.jpg'],
  );
  assert.deepEqual(
    named.map((i) => i.shardKey),
    ['photos/a.jpg', 'https://h.example/x.png'],
  );
});

// ---- manifests ------------------------------------------------------------------------------------

test('manifestFormat: by extension, else by the first character', () => {
  assert.equal(manifestFormat('rows.jsonl', undefined), 'jsonl');
  assert.equal(manifestFormat('rows.ndjson', 'u'), 'jsonl');
  assert.equal(manifestFormat('rows.csv', '{'), 'csv');
  assert.equal(manifestFormat('rows.tsv', 'u'), 'tsv');
  assert.equal(manifestFormat('', '{'), 'jsonl');
  assert.equal(manifestFormat('', 'u'), 'csv');
});

test('imageColumn: the named one, else the first known name, else a usage error listing the columns', () => {
  assert.equal(imageColumn(['key', 'url', 'caption'], {}, 'm.csv'), 'url');
  assert.equal(imageColumn(['image', 'url'], {}, 'm.csv'), 'image');
  assert.equal(imageColumn(['key', 'pic'], { imageCol: 'pic' }, 'm.csv'), 'pic');
  assert.throws(() => imageColumn(['key', 'pic'], {}, 'm.csv'), /m\.csv: which column holds the image\? \(columns: key, pic\)/);
  assert.throws(() => imageColumn(['key'], { imageCol: 'pic' }, 'm.csv'), /m\.csv: no column "pic" \(columns: key\)/);
});

test('parseJsonRow: objects, bare strings as the image, problems otherwise', () => {
  assert.deepEqual(parseJsonRow('{"url":"a.jpg","k":1}', undefined), { row: { url: 'a.jpg', k: 1 } });
  assert.deepEqual(parseJsonRow('"a.jpg"', 'pic'), { row: { pic: 'a.jpg' } });
  assert.deepEqual(parseJsonRow('[1]', undefined), { problem: 'not a JSON object' });
  assert.match((parseJsonRow('{oops', undefined) as { problem: string }).problem, /^not JSON/);
});

test('rowItem: relative path, URL, data: URL, id, kept columns, and rows that name no image', () => {
  const place = manifestPlace('data/rows.csv', '/w');
  const item = (row: Record<string, unknown>, spec = {}) => {
    const r = rowItem(row, 2, spec, 'url', place);
    return 'item' in r ? r.item : r.problem;
  };
  assert.deepEqual(item({ url: 'imgs/a.jpg', caption: 'x', w: 3 }), {
    image: 'data/imgs/a.jpg',
    key: '/w/data/imgs/a.jpg',
    explicit: true,
    url: false,
    shardKey: 'imgs/a.jpg',
    row: { caption: 'x', w: 3 },
    confine: { root: '/w/data', row: 'data/rows.csv:2' },
  });
  assert.deepEqual(item({ url: '/abs/a.jpg' }), {
    image: '/abs/a.jpg',
    key: '/abs/a.jpg',
    explicit: true,
    url: false,
    shardKey: '/abs/a.jpg',
    row: {},
    confine: { root: '/w/data', row: 'data/rows.csv:2' },
  });
  // --image-root: paths start there and stay in it; --allow-outside-root: no confinement
  assert.deepEqual(item({ url: 'a.jpg' }, { imageRoot: 'pics' }), {
    image: 'pics/a.jpg',
    key: '/w/pics/a.jpg',
    explicit: true,
    url: false,
    shardKey: 'a.jpg',
    row: {},
    confine: { root: '/w/pics', row: 'data/rows.csv:2' },
  });
  assert.equal((item({ url: '/abs/a.jpg' }, { allowOutside: true }) as { confine?: unknown }).confine, undefined);
  assert.deepEqual(item({ url: 'https://h.example/a.jpg', key: 'k1', caption: 'x' }, { idCol: 'key', keepCols: [] }), {
    image: 'https://h.example/a.jpg',
    key: 'https://h.example/a.jpg',
    explicit: true,
    url: true,
    shardKey: 'k1',
    row: {},
    id: 'k1',
  });
  const data = item({ url: 'data:image/png;base64,iVBOR', caption: 'x' }, { keepCols: ['caption'] });
  assert.deepEqual(data, {
    image: 'data/rows.csv:2',
    key: '/w/data/rows.csv:2',
    source: 'data:image/png;base64,iVBOR',
    explicit: true,
    url: true,
    shardKey: 'data/rows.csv:2',
    row: { caption: 'x' },
  });
  assert.equal(item({ url: '' }), 'data/rows.csv:2: no image in column "url"');
  assert.equal(item({ caption: 'x' }), 'data/rows.csv:2: no image in column "url"');
  assert.equal(item({ url: 'a.jpg', key: '' }, { idCol: 'key' }), 'data/rows.csv:2: no id in column "key"');
  assert.equal(item({ url: 's3://bucket/a.jpg' }), 'data/rows.csv:2: s3:// URLs are not supported (http, https, data: or a path)');
});

test('readManifest: CSV with quotes and a BOM, TSV, JSON lines, stdin; duplicates dropped', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'm.csv'), '\uFEFFkey,url,caption\r\n1,a.jpg,"a, quoted\nline"\r\n2,b.jpg,plain\r\n1,a.jpg,again\r\n');
  const csv = await readManifest('m.csv', { idCol: 'key' }, dir, noStdin);
  assert.deepEqual(
    csv.items.map((i) => [i.image, i.id, i.row]),
    [
      ['a.jpg', '1', { caption: 'a, quoted\nline' }],
      ['b.jpg', '2', { caption: 'plain' }],
    ],
  );
  assert.equal(csv.duplicates, 1);
  assert.equal(csv.rows, 3);
  writeFileSync(join(dir, 'm.tsv'), 'path\tw\nx.png\t3\n');
  writeFileSync(join(dir, 'm.csv.gz'), gzipSync('url\nz.png\n'));
  assert.deepEqual(
    (await readManifest('m.csv.gz', {}, dir, noStdin)).items.map((i) => i.image),
    ['z.png'],
  );
  assert.deepEqual(
    (await readManifest('m.tsv', {}, dir, noStdin)).items.map((i) => [i.image, i.row]),
    [['x.png', { w: '3' }]],
  );
  const jsonl = await readManifest(
    '-',
    { imageCol: 'pic' },
    dir,
    Readable.from(['{"pic":"https://h.example/1.jpg","n":1}\n\n', '{"pic":"c.jpg"}\n']),
  );
  assert.deepEqual(
    jsonl.items.map((i) => [i.image, i.url, i.row]),
    [
      ['https://h.example/1.jpg', true, { n: 1 }],
      ['c.jpg', false, {}],
    ],
  );
});

test('readManifest: missing file, missing column, bad table and bad rows are usage errors', async () => {
  const dir = tmp();
  const bad = async (name: string, text: string | undefined, spec: object, re: RegExp) => {
    if (text !== undefined) writeFileSync(join(dir, name), text);
    await assert.rejects(readManifest(name, spec, dir, noStdin), (e: unknown) => e instanceof UsageError && re.test(e.message));
  };
  await bad('none.csv', undefined, {}, /--manifest none\.csv: cannot read \(ENOENT\)/);
  await bad('a.csv', 'key,pic\n1,a.jpg\n', {}, /a\.csv: which column holds the image\?/);
  await bad('b.csv', 'url,key\na.jpg,1\n', { keepCols: ['caption'] }, /b\.csv: --keep-cols caption: no such column \(columns: url, key\)/);
  await bad('c.csv', 'url,key\na.jpg,1,extra\n', {}, /c\.csv: not a valid CSV table/);
  await bad('d.jsonl', '{"url":"a.jpg"}\n{oops\n', {}, /d\.jsonl:2: not JSON/);
  await bad('f.csv.gz', 'url\na.png\n', {}, /--manifest f\.csv\.gz: cannot read \(incorrect header check\)/);
  await bad('e.jsonl', '{"url":"a.jpg"}\n{"url":""}\n', {}, /e\.jsonl:2: no image in column "url"/);
});

// ---- resume by id -----------------------------------------------------------------------------------

test('resume: records with an id are matched by id, others by path', () => {
  const idx = indexFromText('{"image":"a.jpg","id":"k1","ok":true,"sha256":null}\n{"image":"b.jpg","ok":true,"sha256":"h"}\n', '/w');
  assert.equal(idx.isDone('id\0k1', null), true);
  assert.equal(idx.isDone('/w/a.jpg', null), false);
  assert.equal(idx.isDone('/w/b.jpg', 'h'), true);
});

// ---- merge -----------------------------------------------------------------------------------------

test('replaces: an ok wins over failures, the newest ok over older ones, a failure never over an ok', () => {
  assert.equal(replaces({ ok: true }, { ok: false }), true);
  assert.equal(replaces({ ok: true }, { ok: true }), true);
  assert.equal(replaces({ ok: false }, { ok: false }), true);
  assert.equal(replaces({ ok: false }, { ok: true }), false);
});

test('Merged: one record per image in first-seen order, ids as identity, torn lines counted', () => {
  const m = new Merged('/w');
  for (const line of [
    '{"image":"a.jpg","ok":false,"error":{}}',
    '{"image":"b.jpg","ok":true,"content":"b1"}',
    '{"image":"/w/a.jpg","ok":true,"content":"a1"}',
    '{"image":"b.jpg","ok":false,"error":{}}',
    '{"image":"a.jpg","ok":true,"content":"a2"}',
    '{"image":"x.jpg","id":"1","ok":true,"content":"one"}',
    '{"image":"x.jpg","id":"2","ok":false}',
    '{"image":"c.j',
    '',
  ])
    m.addLine(line);
  assert.deepEqual(
    [...m.records.values()].map((r) => [r.image, r.content ?? 'failed']),
    [
      ['a.jpg', 'a2'],
      ['b.jpg', 'b1'],
      ['x.jpg', 'one'],
      ['x.jpg', 'failed'],
    ],
  );
  assert.equal(m.read, 7);
  assert.equal(m.torn, 1);
  assert.equal(m.ok, 3);
  assert.equal([...recordLines(m.records.values())].join(''), [...m.records.values()].map((r) => JSON.stringify(r) + '\n').join(''));
});

test('Merged.missing: images no part has, with their shard; silent shards', () => {
  const m = new Merged('/w');
  m.addLine('{"image":"p/a.jpg","shard":1,"ok":true}');
  const items = ['a.jpg', 'b.jpg', 'c.jpg'].map((f) => ({ image: `p/${f}`, key: `/w/p/${f}`, explicit: false, url: false, shardKey: f }));
  const missing = m.missing(items, 4);
  assert.deepEqual(
    missing.map((x) => [x.item.image, x.shard]),
    [
      ['p/b.jpg', shardOf('b.jpg', 4)],
      ['p/c.jpg', shardOf('c.jpg', 4)],
    ],
  );
  assert.deepEqual(
    m.missing(items, undefined).map((x) => x.shard),
    [undefined, undefined],
  );
  assert.deepEqual(countByShard([{ shard: 2 }, { shard: 0 }, { shard: 2 }, { shard: undefined }]), [
    [0, 1],
    [2, 2],
  ]);
  assert.deepEqual(m.silentShards(3), [0, 2]);
});
