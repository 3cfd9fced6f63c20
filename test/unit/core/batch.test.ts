import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BatchItem,
  expandInputs,
  outputMatcher,
  renderPrompt,
  sidecarPath,
  splitFileList,
  withoutOwnFiles,
} from '../../../src/core/batch-inputs.ts';
import {
  indexFromText,
  readResumeIndex,
  resumeByRecord,
  SETTLED_MS,
  stampToRecord,
  type DoneRecord,
  type FileStamp,
} from '../../../src/core/batch-resume.ts';
import { openJsonlFile, streamSink, writeFileAtomic } from '../../../src/core/batch-output.ts';
import { errorInfo } from '../../../src/core/batch-decide.ts';
import { progressLine, summaryLine } from '../../../src/ui/progress.ts';
import { OutputError, UsageError } from '../../../src/types.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'imgdesc-batch-unit-'));

// ---- prompt templating ----------------------------------------------------------------------

test('renderPrompt fills {name} {stem} {dir} {path}', () => {
  assert.equal(
    renderPrompt('{name}|{stem}|{dir}|{path}', 'photos/2024/cat.photo.jpg'),
    'cat.photo.jpg|cat.photo|photos/2024|photos/2024/cat.photo.jpg',
  );
  assert.equal(renderPrompt('caption {name}', 'cat.jpg'), 'caption cat.jpg');
  assert.equal(renderPrompt('{dir}', 'cat.jpg'), '.');
  assert.equal(renderPrompt('{stem}', 'photos/README'), 'README');
  assert.equal(renderPrompt('{stem}', '.hidden'), '.hidden');
});

test('renderPrompt leaves other braces alone', () => {
  assert.equal(renderPrompt('answer as {"caption": string} for {name}', 'a.png'), 'answer as {"caption": string} for a.png');
  assert.equal(renderPrompt('{unknown} {NAME}', 'a.png'), '{unknown} {NAME}');
  assert.equal(renderPrompt('{name}{name}', 'a.png'), 'a.pnga.png');
});

test('renderPrompt for a URL uses its path', () => {
  assert.equal(renderPrompt('{name} {stem}', 'https://h.example/img/cat.png?x=1'), 'cat.png cat');
});

test('sidecarPath replaces the extension', () => {
  assert.equal(sidecarPath('/a/photo.jpg', 'txt'), '/a/photo.txt');
  assert.equal(sidecarPath('/a/photo.jpg', '.json'), '/a/photo.json');
  assert.equal(sidecarPath('/a/photo', 'txt'), '/a/photo.txt');
  assert.equal(sidecarPath('/a/my.photo.png', 'txt'), '/a/my.photo.txt');
});

// ---- input expansion --------------------------------------------------------------------------

test('splitFileList: lines (CRLF, blanks) and NUL-separated', () => {
  assert.deepEqual(splitFileList('a.jpg\r\nb c.jpg\n\n  \nd.jpg', false), ['a.jpg', 'b c.jpg', 'd.jpg']);
  assert.deepEqual(splitFileList('a.jpg\0new\nline.jpg\0\0', true), ['a.jpg', 'new\nline.jpg']);
  assert.deepEqual(splitFileList('', true), []);
});

function tree(): string {
  const dir = tmp();
  mkdirSync(join(dir, 'photos', 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(dir, 'photos', '.git'));
  for (const f of [
    'photos/b.jpg',
    'photos/a.png',
    'photos/notes.txt',
    'photos/.DS_Store',
    'photos/sub/c.jpg',
    'photos/sub/deeper/d.jpg',
    'photos/.git/x.jpg',
    'top.jpg',
  ]) {
    writeFileSync(join(dir, f), 'x');
  }
  return dir;
}

test('a folder lists its files sorted, hidden ones left out; -r descends', async () => {
  const cwd = tree();
  const flat = await expandInputs(['photos'], { cwd, recursive: false });
  assert.deepEqual(
    flat.map((i) => i.image),
    ['photos/a.png', 'photos/b.jpg', 'photos/notes.txt'],
  );
  assert.ok(flat.every((i) => !i.explicit && i.key.startsWith(cwd)));
  const deep = await expandInputs(['./photos/'], { cwd, recursive: true });
  assert.deepEqual(
    deep.map((i) => i.image),
    ['photos/a.png', 'photos/b.jpg', 'photos/notes.txt', 'photos/sub/c.jpg', 'photos/sub/deeper/d.jpg'],
  );
});

test('files are explicit, kept in order and de-duplicated', async () => {
  const cwd = tree();
  const items = await expandInputs(['top.jpg', 'photos', 'photos/b.jpg', './top.jpg'], { cwd, recursive: false });
  assert.deepEqual(
    items.map((i) => [i.image, i.explicit]),
    [
      ['top.jpg', true],
      ['photos/a.png', false],
      ['photos/b.jpg', false],
      ['photos/notes.txt', false],
    ],
  );
});

test('globs expand like the shell (no dotfiles), sorted', async () => {
  const cwd = tree();
  const items = await expandInputs(['photos/**/*.jpg'], { cwd, recursive: false });
  assert.deepEqual(
    items.map((i) => i.image),
    ['photos/b.jpg', 'photos/sub/c.jpg', 'photos/sub/deeper/d.jpg'],
  );
  assert.ok(items.every((i) => !i.explicit));
});

test('missing file or folder and stdin are usage errors; a glob matching nothing adds nothing, like an empty folder', async () => {
  const cwd = tree();
  await assert.rejects(
    expandInputs(['nope.jpg'], { cwd, recursive: false }),
    (e: unknown) => e instanceof UsageError && /nope\.jpg: no such file/.test(e.message),
  );
  assert.deepEqual(await expandInputs(['photos/*.gif'], { cwd, recursive: false }), []);
  await assert.rejects(expandInputs(['-'], { cwd, recursive: false }), /stdin/);
});

test('one file under several paths (a symlink, dir/../dir, a linked folder in a glob) is listed once', async () => {
  const cwd = tree();
  const { symlinkSync } = await import('node:fs');
  symlinkSync('b.jpg', join(cwd, 'photos', 'link.jpg'));
  symlinkSync('.', join(cwd, 'photos', 'loop'));
  const items = await expandInputs(['photos', 'photos/../photos/b.jpg', 'photos/**/*.jpg'], { cwd, recursive: true });
  const names = items.map((i) => i.image);
  assert.equal(names.filter((n) => /(^|\/)(b|link)\.jpg$/.test(n)).length, 1, names.join(' '));
  assert.equal(new Set(names.map((n) => n.split('/').pop())).size, names.length, names.join(' '));
});

test('emptyBatchMessage says what was given', async () => {
  const { emptyBatchMessage } = await import('../../../src/cli/batch.ts');
  const o = { inputs: [] as string[], filesFrom: undefined as string | undefined, recursive: false, manifest: undefined };
  assert.equal(
    emptyBatchMessage({ ...o, inputs: ['photos'] }),
    "no files in 'photos'; nothing to describe (folders are read one level deep; -r descends into sub-folders)",
  );
  assert.equal(emptyBatchMessage({ ...o, inputs: ['photos'], recursive: true }), "no files in 'photos'; nothing to describe");
  assert.equal(emptyBatchMessage({ ...o, inputs: ['*.gif'] }), "no files in '*.gif'; nothing to describe");
  assert.equal(emptyBatchMessage({ ...o, filesFrom: '/dev/null' }), 'no files in the list /dev/null; nothing to describe');
  assert.equal(emptyBatchMessage({ ...o, filesFrom: '-' }), 'no files in the list on stdin; nothing to describe');
});

test('--files-from paths are explicit and not checked up front', async () => {
  const cwd = tree();
  const items = await expandInputs([], { cwd, recursive: false, filesFrom: 'top.jpg\0gone.jpg\0top.jpg\0', nul: true });
  assert.deepEqual(
    items.map((i) => [i.image, i.explicit]),
    [
      ['top.jpg', true],
      ['gone.jpg', true],
    ],
  );
});

// ---- resume index ----------------------------------------------------------------------------

test('resume index: ok records by path and hash; failures and torn lines do not count', () => {
  const cwd = '/w';
  const text = [
    JSON.stringify({ image: 'a.jpg', ok: true, content: 'x', sha256: 'h1' }),
    JSON.stringify({ image: 'b.jpg', ok: false, error: { status: 500, code: null, message: 'boom' }, sha256: 'h2' }),
    JSON.stringify({ image: '/w/c.jpg', ok: true, content: 'x', sha256: 'h3' }),
    JSON.stringify({ image: 'https://h/x.png', ok: true, content: 'x', sha256: null }),
    '{"image":"d.jpg","ok":tr', // torn by a crash
  ].join('\n');
  const idx = indexFromText(text, cwd);
  assert.equal(idx.torn, 1);
  assert.equal(idx.isDone('/w/a.jpg', 'h1'), true);
  assert.equal(idx.isDone('/w/a.jpg', 'edited'), false, 'an edited image is redone');
  assert.equal(idx.isDone('/w/b.jpg', 'h2'), false, 'a failed one is retried');
  assert.equal(idx.isDone('/w/c.jpg', 'h3'), true, 'an absolute path matches too');
  assert.equal(idx.isDone('/w/d.jpg', null), false);
  assert.equal(idx.isDone('https://h/x.png', null), true);
});

test('resumeByRecord: skip unread or read, one line per case', () => {
  const st = (size: number, mtimeMs: number): FileStamp => ({ size, mtimeMs });
  const rec = (stamp?: FileStamp, image?: string): DoneRecord => ({ sha256: 'h', stamp, image });
  const a = { image: 'p/a.jpg', stamp: st(100, 5000) };
  const cases: Array<[string, DoneRecord[] | undefined, { image: string; stamp: FileStamp | null }, 'skip' | 'read']> = [
    ['no ok record', undefined, a, 'read'],
    ['an ok record of the same size and time', [rec(st(100, 5000))], a, 'skip'],
    ['touched: same size, new time', [rec(st(100, 4000))], a, 'read'],
    ['rewritten in place: same time, new size', [rec(st(99, 5000))], a, 'read'],
    ['an older record without size and time', [rec()], a, 'read'],
    ["cannot be stat'ed now (gone, not a file)", [rec(st(100, 5000))], { image: 'p/a.jpg', stamp: null }, 'read'],
    ['redone once: the later record matches', [rec(st(80, 1000)), rec(st(100, 5000))], a, 'skip'],
    ['a manifest id, same image as named', [rec(st(100, 5000), 'p/a.jpg')], a, 'skip'],
    ['a manifest id that now names another file', [rec(st(100, 5000), 'p/b.jpg')], a, 'read'],
  ];
  for (const [name, records, file, want] of cases) assert.equal(resumeByRecord(records, file), want, name);
});

test('stampToRecord: a settled file is stamped; one changed moments before it was read is not', () => {
  const now = 1_700_000_000_000;
  const cases: Array<[string, { size: number; mtimeMs: number } | null, FileStamp | undefined]> = [
    ['changed an hour ago', { size: 7, mtimeMs: now - 3_600_000.25 }, { size: 7, mtimeMs: now - 3_600_001 }],
    ['changed just long enough ago', { size: 7, mtimeMs: now - SETTLED_MS }, { size: 7, mtimeMs: now - SETTLED_MS }],
    [
      'changed within the window (a second-granular clock could give a later change the same time)',
      { size: 7, mtimeMs: now - 1500 },
      undefined,
    ],
    ['a time in the future', { size: 7, mtimeMs: now + 60_000 }, undefined],
    ["not stat'ed", null, undefined],
  ];
  for (const [name, st, want] of cases) assert.deepEqual(stampToRecord(st, now), want, name);
});

test('resume index: records with size and time are known without reading; odd values are no stamp', () => {
  const line = (o: object) => JSON.stringify({ ok: true, content: 'x', sha256: 'h', ...o });
  const idx = indexFromText(
    [
      line({ image: 'a.jpg', size: 10, mtime_ms: 1000 }),
      line({ image: 'b.jpg' }),
      line({ image: 'c.jpg', size: '10', mtime_ms: 1000 }),
      line({ image: 'd.jpg', size: 10, mtime_ms: 1000.5 }),
      line({ image: 'e.jpg', size: -1, mtime_ms: 1000 }),
      line({ image: 'f.jpg', ok: false, size: 10, mtime_ms: 1000 }),
      line({ image: 'rows/g.jpg', id: 'g', size: 10, mtime_ms: 1000 }),
    ].join('\n'),
    '/w',
  );
  const at = { size: 10, mtimeMs: 1000 };
  assert.equal(idx.doneByRecord('/w/a.jpg', 'a.jpg', at), true);
  assert.equal(idx.doneByRecord('/w/a.jpg', 'a.jpg', { size: 10, mtimeMs: 2000 }), false);
  assert.equal(idx.isDone('/w/b.jpg', 'h'), true, 'an older record still resumes by content');
  assert.equal(idx.doneByRecord('/w/b.jpg', 'b.jpg', at), false);
  for (const x of ['c', 'd', 'e']) assert.equal(idx.doneByRecord(`/w/${x}.jpg`, `${x}.jpg`, at), false, x);
  assert.equal(idx.doneByRecord('/w/f.jpg', 'f.jpg', at), false, 'a failure is redone');
  assert.equal(idx.doneByRecord('id\0g', 'rows/g.jpg', at), true);
  assert.equal(idx.doneByRecord('id\0g', 'rows/other.jpg', at), false);
});

test('resume index reads a file; a missing file is empty', async () => {
  const dir = tmp();
  const idx0 = await readResumeIndex(join(dir, 'none.jsonl'), dir);
  assert.equal(idx0.size, 0);
  const p = join(dir, 'r.jsonl');
  writeFileSync(p, `${JSON.stringify({ image: 'a.jpg', ok: true, sha256: 'h' })}\n{"image":"b.jp`);
  const idx = await readResumeIndex(p, dir);
  assert.equal(idx.isDone(join(dir, 'a.jpg'), 'h'), true);
  assert.equal(idx.torn, 1);
});

test('opening a results file removes a torn last line, and ends a whole last record that lacks its newline', async () => {
  const dir = tmp();
  const p = join(dir, 'r.jsonl');
  writeFileSync(p, '{"image":"a.jpg","ok":true}\n{"image":"b.jp');
  const sink = await openJsonlFile(p);
  assert.equal(sink.repaired, 14);
  await sink.write(JSON.stringify({ image: 'c.jpg', ok: true }));
  await sink.close();
  assert.equal(readFileSync(p, 'utf8'), '{"image":"a.jpg","ok":true}\n{"image":"c.jpg","ok":true}\n');

  writeFileSync(p, '{"image":"a.jpg","ok":true}');
  const s2 = await openJsonlFile(p);
  assert.equal(s2.repaired, 0);
  await s2.write('{"image":"d.jpg","ok":true}');
  await s2.close();
  assert.equal(readFileSync(p, 'utf8'), '{"image":"a.jpg","ok":true}\n{"image":"d.jpg","ok":true}\n');

  // a torn line longer than the block read from the end, and no newline at all
  writeFileSync(p, '{"image":"' + 'x'.repeat(200_000));
  const s3 = await openJsonlFile(p);
  assert.equal(s3.repaired, 200_010);
  await s3.close();
  assert.equal(readFileSync(p, 'utf8'), '');
});

test('a line that cannot be written whole is cut back off; later lines fail the same way', async () => {
  const dir = tmp();
  const p = join(dir, 'r.jsonl');
  writeFileSync(p, '{"image":"a.jpg","ok":true}\n');
  const sink = await openJsonlFile(p, 'r.jsonl');
  // the file's handle closed under it stands for a disk that fails mid-write
  await sink.write('{"image":"b.jpg","ok":true}');
  await (sink as unknown as { close(): Promise<void> }).close();
  const e = await sink.write('{"image":"c.jpg"}').then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof OutputError, String(e));
  assert.equal(e.exitCode, 6);
  assert.match(e.message, /^cannot write to r\.jsonl: /);
  assert.equal(readFileSync(p, 'utf8'), '{"image":"a.jpg","ok":true}\n{"image":"b.jpg","ok":true}\n');
});

test('streamSink waits for a stream that is full, and fails with the stream error', async () => {
  const { Writable } = await import('node:stream');
  const got: string[] = [];
  const slow = new Writable({
    highWaterMark: 16,
    write(chunk, _enc, cb) {
      got.push(String(chunk));
      setTimeout(cb, 5);
    },
  });
  const sink = streamSink(slow);
  for (let i = 0; i < 5; i++) {
    await sink.write(JSON.stringify({ i, pad: 'x'.repeat(20) }));
    assert.equal(slow.writableLength, 0, 'each line waited until it was taken');
  }
  assert.equal(got.length, 5);

  const full = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('nope'), { code: 'ENOSPC' })) });
  full.on('error', () => {});
  const s2 = streamSink(full);
  await assert.rejects(s2.write('{}'), /cannot write to stdout: no space left on device/);
  await assert.rejects(s2.write('{}'), /cannot write to stdout: no space left on device/);
});

test('writeFileAtomic leaves only the final file', async () => {
  const dir = tmp();
  const p = join(dir, 'photo.txt');
  writeFileSync(p, 'old');
  await writeFileAtomic(p, 'new answer\n');
  assert.equal(readFileSync(p, 'utf8'), 'new answer\n');
  assert.deepEqual(readdirSync(dir), ['photo.txt']);
  await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'x.txt'), 'x'));
  assert.deepEqual(readdirSync(dir), ['photo.txt']);
});

test('errorInfo maps the error kinds to status/code/message', () => {
  assert.deepEqual(errorInfo(Object.assign(new Error('HTTP 500: boom\nmore'), { status: 500, code: 'server_error' })), {
    status: 500,
    code: 'server_error',
    message: 'HTTP 500: boom',
  });
  assert.deepEqual(errorInfo(Object.assign(new Error('x: not an image'), { reason: 'not-image' })), {
    status: null,
    code: 'not-image',
    message: 'x: not an image',
  });
});

test('progress and summary lines', () => {
  const c = { total: 200, ok: 30, failed: 2, skipped: 5, tokens: 12345 };
  assert.equal(progressLine(c, 10_000), '37/200 · 2 failed · 5 skipped · 3.2 img/s · ETA 50.9 s');
  assert.equal(summaryLine(c, 65_000, '5 already done'), '30 ok, 2 failed, 5 skipped (5 already done) in 1m05s, 12,345 tokens');
});

test('removeStaleTemps removes only our old temp files', async () => {
  const { removeStaleTemps } = await import('../../../src/core/batch-output.ts');
  const { utimesSync } = await import('node:fs');
  const dir = tmp();
  const old = ['.a.txt.0123456789ab.tmp', '.b c.md.abcdefabcdef.tmp'];
  const keep = ['.a.txt.0123456789ab.tmp.bak', 'a.tmp', '.a.txt.xyz.tmp', 'photo.jpg'];
  for (const n of [...old, ...keep]) writeFileSync(join(dir, n), 'x');
  const fresh = '.c.txt.00000000ffff.tmp';
  writeFileSync(join(dir, fresh), 'x');
  const past = new Date(Date.now() - 120_000);
  for (const n of [...old, ...keep]) utimesSync(join(dir, n), past, past);
  assert.equal(await removeStaleTemps(dir), 2);
  assert.deepEqual(readdirSync(dir).sort(), [...keep, fresh].sort());
});

// ---- the batch's own files ------------------------------------------------------------------

test('withoutOwnFiles: what a batch writes among the files it lists is no input; one line per case', () => {
  const found = (key: string, explicit = false): BatchItem => ({ image: key, key, explicit, url: false });
  const keep = (keys: string[], own: Parameters<typeof withoutOwnFiles>[1]) =>
    withoutOwnFiles(
      keys.map((k) => found(k)),
      own,
    ).map((i) => i.key);
  const none = { isOutput: () => false };
  const txt = { sidecar: 'txt', isOutput: () => false };
  assert.deepEqual(keep(['/d/a.jpg', '/d/a.txt'], txt), ['/d/a.jpg'], 'a caption sidecar beside its image');
  assert.deepEqual(keep(['/d/a.jpg', '/d/a.jpg.txt'], txt), ['/d/a.jpg'], 'a sidecar named in full');
  assert.deepEqual(keep(['/d/a.jpg', '/d/README.txt'], txt), ['/d/a.jpg', '/d/README.txt'], 'a .txt no image owns stays');
  assert.deepEqual(keep(['/d/a.jpg', '/d/a.txt'], none), ['/d/a.jpg', '/d/a.txt'], 'without --sidecar a .txt is not a sidecar');
  assert.deepEqual(
    keep(['/d/a.jpg', '/d/a.jpg.xmp', '/d/b.png', '/d/b.xmp'], none),
    ['/d/a.jpg', '/d/b.png'],
    'XMP sidecars, both namings',
  );
  assert.deepEqual(keep(['/d/lone.xmp'], none), ['/d/lone.xmp'], 'an XMP file no image owns stays');
  assert.deepEqual(
    keep(['/d/a.jpg', '/d/metadata.jsonl', '/e/metadata.jsonl'], none),
    ['/d/a.jpg', '/e/metadata.jsonl'],
    "an image folder's metadata.jsonl",
  );
  assert.deepEqual(keep(['/d/a.jpg', '/d/c.jsonl'], { isOutput: outputMatcher('/d/c.jsonl') }), ['/d/a.jpg'], 'the -o file');
  const named = withoutOwnFiles([found('/d/a.jpg'), found('/d/a.txt', true)], txt).map((i) => i.key);
  assert.deepEqual(named, ['/d/a.jpg', '/d/a.txt'], 'a file the user named stays');
});

test("outputMatcher: the -o file, or with {shard} every shard's", () => {
  assert.equal(outputMatcher(undefined)('/d/c.jsonl'), false);
  assert.equal(outputMatcher('/d/c.jsonl')('/d/c.jsonl'), true);
  assert.equal(outputMatcher('/d/c.jsonl')('/d/c.jsonl.bak'), false);
  assert.equal(outputMatcher('/d/part-{shard}.jsonl')('/d/part-07.jsonl'), true);
  assert.equal(outputMatcher('/d/part-{shard}.jsonl')('/d/part-x.jsonl'), false);
  assert.equal(outputMatcher('/d/p.{shard}(1).jsonl')('/d/p.3(1).jsonl'), true, 'the rest of the name is literal');
  assert.equal(outputMatcher('/d/p.{shard}(1).jsonl')('/d/pX3(1).jsonl'), false);
});
