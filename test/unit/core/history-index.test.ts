// The history's trigram index: which blocks may hold a text, kept in step with the file, and a
// query through it finding exactly what reading the whole file finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_BYTES, HistoryIndex, INDEX_FROM_BYTES, addTrigrams, textBits } from '../../../src/core/history-index.ts';
import { History, matchesFilter, parseLine, type HistoryFilter, type HistoryRecord } from '../../../src/core/history.ts';
import { tempDir } from '../../helpers/cli.ts';

const holds = (text: string, what: string) => {
  const set = new Uint8Array(16 * 1024);
  addTrigrams(Buffer.from(text), set);
  const bits = textBits(what);
  return bits === null || bits.every((b) => ((set[b >>> 3] as number) & (1 << (b & 7))) !== 0);
};

test('textBits and addTrigrams: any case of the text is held; what is not there is not', () => {
  assert.equal(holds('A Brown TERRIER on a beach', 'terrier'), true);
  assert.equal(holds('A Brown TERRIER on a beach', 'Brown Terrier'), true);
  assert.equal(holds('a brown terrier', 'TERRIER'), true);
  assert.equal(holds('a brown terrier', 'zebra'), false);
  assert.equal(holds('say \\"hi\\"', 'say "hi"'), true, 'as JSON spells it');
  assert.equal(textBits('ab'), null, 'too short to filter');
  assert.equal(textBits('été'), null, 'no trigram of plain ASCII: no filter');
  assert.deepEqual(textBits('Zebra'), textBits('zEBRA'));
});

/** A history-like file: records of about 1 KB, the word `needle` in the ones listed. */
function writeRecords(file: string, from: number, to: number, needles: Set<number>, stepMs = 1000): void {
  const lines: string[] = [];
  for (let i = from; i < to; i++)
    lines.push(
      JSON.stringify({
        id: `id${String(i).padStart(11, '0')}`,
        time: new Date(Date.UTC(2026, 0, 1) + i * stepMs).toISOString(),
        command: 'batch',
        image: `photos/IMG_${i}.jpg`,
        sha256: null,
        prompt: 'Describe it.',
        model: i % 2 ? 'claude-sonnet' : 'gpt-4o',
        tokens: null,
        duration_ms: 1,
        // a failure now and then, and one answer that quotes what a failure's record says
        ok: i % 1500 !== 7,
        answer: `${needles.has(i) ? 'A Needle in the hay. ' : ''}${i === 4321 ? 'it said "ok":false. ' : ''}${'grass and hay and straw '.repeat(40)}${i}`,
      }),
    );
  appendFileSync(file, lines.join('\n') + '\n');
}

test('HistoryIndex: blocks end with a record, only blocks with the text are named, kept in step with the file', () => {
  const dir = tempDir();
  const file = join(dir, 'history.jsonl');
  const idx = join(dir, 'history.index');
  writeRecords(file, 0, 3500, new Set([10, 2000]));
  const open = () => {
    const fd = openSync(file, 'r');
    try {
      const st = fstatSync(fd);
      return HistoryIndex.open(idx, fd, st.ino, st.size);
    } finally {
      closeSync(fd);
    }
  };
  const text = readFileSync(file);
  const a = open();
  assert.ok(a.blocks >= 2, `${a.blocks} blocks`);
  for (let i = 0; i < a.blocks; i++) {
    const [s, e] = a.block(i);
    assert.ok(e - s >= BLOCK_BYTES);
    assert.equal(text[e - 1], 0x0a, 'a block ends with a record');
  }
  const named = (ix: HistoryIndex, what: string) =>
    Array.from({ length: ix.blocks }, (_, i) => i).filter((i) => ix.mayHold(i, [textBits(what)]));
  const where = (n: number) => text.indexOf(`"id":"id${String(n).padStart(11, '0')}"`);
  const blockOf = (ix: HistoryIndex, at: number) =>
    Array.from({ length: ix.blocks }, (_, i) => ix.block(i)).findIndex(([s, e]) => at >= s && at < e);
  assert.deepEqual(named(a, 'needle'), [...new Set([blockOf(a, where(10)), blockOf(a, where(2000))])].sort());
  assert.deepEqual(named(a, 'zebra'), []);
  assert.equal(named(a, 'hay').length, a.blocks, 'a text everywhere is everywhere');
  assert.ok(existsSync(idx) && statSync(idx).mode & 0o600);
  // read back as saved; the file grows: the new whole blocks are indexed and saved
  const saved = statSync(idx).size;
  assert.equal(open().covered, a.covered);
  writeRecords(file, 3500, 6000, new Set([5500]));
  const b = open();
  assert.ok(b.blocks > a.blocks && statSync(idx).size > saved);
  assert.ok(named(b, 'needle').length >= 2);
  // the history replaced (cleared and written again): the index is of another file and is rebuilt
  writeFileSync(file, '');
  writeRecords(file, 0, 3000, new Set());
  assert.deepEqual(named(open(), 'needle'), []);
  // a broken index file is rebuilt
  writeFileSync(idx, 'junk');
  assert.ok(open().blocks >= 2);
});

test('History.records (-n 0): every match oldest first, a line longer than a read whole, --since from a binary search', async () => {
  const h = new History(tempDir());
  const long = 'x'.repeat(2_500_000);
  writeRecords(h.file, 0, 10, new Set([3]));
  appendFileSync(
    h.file,
    `${JSON.stringify({ id: 'idlong', time: new Date(Date.UTC(2026, 0, 1) + 10_500).toISOString(), command: 'batch', image: 'big.png', prompt: 'p', model: 'm', ok: true, answer: `needle ${long}` })}\n`,
  );
  writeRecords(h.file, 11, 3000, new Set([2999]));
  const ids = async (f: HistoryFilter) => {
    const out: string[] = [];
    for await (const r of h.records(f)) out.push(r.id);
    return out;
  };
  const all = await ids({ limit: 0 });
  assert.equal(all.length, 3000);
  assert.deepEqual(all.slice(0, 3), ['id00000000000', 'id00000000001', 'id00000000002']);
  assert.equal(all[10], 'idlong', 'in its place, whole');
  assert.deepEqual(await ids({ limit: 0, search: 'NEEDLE' }), ['id00000000003', 'idlong', 'id00000002999']);
  // records appended a second apart: from 2,500 s on are the last 500 (more than 5 minutes of slack read)
  assert.deepEqual(await ids({ limit: 0, since: Date.UTC(2026, 0, 1) + 2_500_000 }), all.slice(2500));
  assert.deepEqual(await ids({ limit: 0, since: Date.UTC(2027, 0, 1) }), []);
  assert.equal((await ids({ limit: 0, since: 0 })).length, 3000);
  // a tenth of a second apart, a little out of order (another writer's record a minute late): the
  // binary search narrows to 1 MiB, less than the 5 minutes of slack, and still finds them all
  const fast = new History(tempDir());
  const t0 = Date.UTC(2026, 0, 1);
  writeRecords(fast.file, 0, 4000, new Set(), 100);
  // 330 s, after records of up to 399.9 s
  appendFileSync(
    fast.file,
    `${JSON.stringify({ id: 'idlate', time: new Date(t0 + 330_000).toISOString(), command: 'batch', image: 'late.png', prompt: 'p', model: 'm', ok: true, answer: 'a' })}\n`,
  );
  writeRecords(fast.file, 4000, 9000, new Set(), 100);
  const found: string[] = [];
  for await (const r of fast.records({ limit: 0, since: t0 + 320_000 })) found.push(r.id);
  assert.equal(found.length, 9000 - 3200 + 1, 'the 5,800 records from 320 s on, and the late one');
  assert.deepEqual([found[0], found[800]], ['id00000003200', 'idlate'], 'in the order written');
});

test('History.query through the index finds what reading every record finds', async () => {
  const h = new History(tempDir());
  const needles = new Set([3, 1500, 4321, 7507, 8999]);
  writeRecords(h.file, 0, 9000, needles);
  assert.ok(statSync(h.file).size > INDEX_FROM_BYTES, 'big enough to be indexed');
  // every record, read once per state of the file (9 MB of JSON: not again for each filter)
  let read: { size: number; records: HistoryRecord[] } | undefined;
  const all = () => {
    const size = statSync(h.file).size;
    if (read?.size !== size)
      read = {
        size,
        records: readFileSync(h.file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => parseLine(l) as HistoryRecord),
      };
    return read.records;
  };
  const brute = (f: HistoryFilter) => {
    const hits = all().filter((r) => matchesFilter(r, f));
    return (f.limit > 0 ? hits.slice(-f.limit) : hits).map((r) => r.id);
  };
  const filters: HistoryFilter[] = [
    { limit: 0, search: 'needle' },
    { limit: 0, search: 'NEEDLE in' },
    { limit: 2, search: 'Needle' },
    { limit: 0, search: 'zebra' },
    { limit: 5, search: 'hay' },
    { limit: 0, search: 'IMG_4321.jpg' },
    { limit: 3, model: 'GPT-4o' },
    { limit: 0, image: 'IMG_1500.' },
    { limit: 0, ok: false },
    { limit: 2, ok: false, model: 'GPT-4o' },
    { limit: 0, ok: false, search: 'needle' },
    { limit: 0, ok: false, search: '"ok":false' },
    { limit: 0, search: '"ok":false' },
  ];
  const since = Date.UTC(2026, 0, 1) + 7000 * 1000;
  filters.push({ limit: 0, since }, { limit: 4, since, search: 'hay' }, { limit: 0, since: since + 3 * 3600_000 });
  const streamed = async (f: HistoryFilter) => {
    const ids: string[] = [];
    for await (const r of h.records(f)) ids.push(r.id);
    return ids;
  };
  for (const f of filters) {
    assert.deepEqual(
      (await h.query(f)).map((r) => r.id),
      brute(f),
      JSON.stringify(f),
    );
    // every one of them (-n 0) read forward, oldest first: the same
    assert.deepEqual(await streamed(f), brute(f), `records ${JSON.stringify(f)}`);
  }
  assert.ok(existsSync(h.indexFile), 'the index was made');
  // records appended after the index was made are found too
  writeRecords(h.file, 9000, 9100, new Set([9050]));
  assert.deepEqual(
    (await h.query({ limit: 0, search: 'needle' })).map((r) => r.id),
    brute({ limit: 0, search: 'needle' }),
  );
  assert.equal((await h.find('id00000004321')).length, 1);
  await h.clear();
  assert.equal(existsSync(h.indexFile), false, 'log clear removes the index');
});
