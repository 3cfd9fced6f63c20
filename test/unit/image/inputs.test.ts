// Input forms and their failures: paths, stdin, data: URLs, passed-through URLs, caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { isRemoteUrl, loadImage, readImageFile } from '../../../src/image/index.ts';
import { dataUrlBytes, imageOptions, rejectsWith } from '../../helpers/images.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-inputs-'));
const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#3a6' } })
  .png()
  .toBuffer();
writeFileSync(join(tmp, 'ok.png'), png);

test('relative paths resolve against cwd and keep the name as given in the report', async () => {
  const r = await loadImage('ok.png', imageOptions({ cwd: tmp }));
  assert.equal(r.report.source, 'ok.png');
  assert.equal(r.report.kind, 'file');
  assert.equal(r.report.sourceType, 'png');
  assert.equal(r.report.unchanged, true);
  assert.equal(r.mime, 'image/png');
  assert.equal(r.report.estimatedTokens, 1);
  assert.equal(r.report.openaiTokens, null);
});

test('a file read with readImageFile is loaded from those bytes, not read again', async () => {
  writeFileSync(join(tmp, 'once.png'), png);
  const read = await readImageFile('once.png', imageOptions({ cwd: tmp }));
  assert.deepEqual({ size: read.size, path: read.path, file: read.file }, { size: png.length, path: null, file: true });
  rmSync(join(tmp, 'once.png'));
  const r = await loadImage('once.png', imageOptions({ cwd: tmp }), read);
  assert.deepEqual(dataUrlBytes(r.url).bytes, png);
  await assert.rejects(readImageFile('once.png', imageOptions({ cwd: tmp })), rejectsWith('not-found'));
});

test('a file too big to be sent as it is: only its head is read', async () => {
  writeFileSync(join(tmp, 'big.png'), Buffer.concat([png, Buffer.alloc(200_000)]));
  const read = await readImageFile('big.png', imageOptions({ cwd: tmp, maxBytes: 100_000 }));
  assert.equal(read.size, png.length + 200_000);
  assert.equal(read.path, join(tmp, 'big.png'));
  assert.ok(read.bytes.length < read.size);
});

test('missing file, directory, empty file', async () => {
  await assert.rejects(loadImage('missing.jpg', imageOptions({ cwd: tmp })), rejectsWith('not-found', /^missing\.jpg: no such file$/));
  mkdirSync(join(tmp, 'dir'), { recursive: true });
  await assert.rejects(loadImage('dir', imageOptions({ cwd: tmp })), rejectsWith('directory', /^dir: is a directory$/));
  writeFileSync(join(tmp, 'empty.jpg'), '');
  await assert.rejects(loadImage('empty.jpg', imageOptions({ cwd: tmp })), rejectsWith('empty', /^empty\.jpg: empty file$/));
});

test('a file larger than --max-input-bytes is refused before it is read', async () => {
  writeFileSync(join(tmp, 'big.bin'), Buffer.alloc(2048));
  await assert.rejects(
    loadImage('big.bin', imageOptions({ cwd: tmp, maxInputBytes: 1024 })),
    rejectsWith('too-large', /^big\.bin: larger than --max-input-bytes \(1 KiB\)$/),
  );
});

test('/dev/zero fails at once on the cap', { skip: existsSync('/dev/zero') ? false : 'no /dev/zero' }, async () => {
  const t = Date.now();
  await assert.rejects(loadImage('/dev/zero', imageOptions({ maxInputBytes: 4 * 1024 * 1024 })), rejectsWith('too-large'));
  assert.ok(Date.now() - t < 2000);
});

test('non-images are refused with what was detected', async () => {
  writeFileSync(join(tmp, 'photo.pdf'), '%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
  await assert.rejects(
    loadImage('photo.pdf', imageOptions({ cwd: tmp })),
    rejectsWith('not-image', /^photo\.pdf: not an image \(detected PDF, application\/pdf\)$/),
  );
  writeFileSync(join(tmp, 'notes.jpg'), 'just some words\n');
  await assert.rejects(loadImage('notes.jpg', imageOptions({ cwd: tmp })), rejectsWith('not-image', /detected text/));
});

test("'-' reads stdin", async () => {
  const r = await loadImage('-', imageOptions({ stdin: Readable.from([png.subarray(0, 10), png.subarray(10)]) }));
  assert.equal(r.report.kind, 'stdin');
  assert.deepEqual(dataUrlBytes(r.url).bytes, png);
  await assert.rejects(loadImage('-', imageOptions({ stdin: Readable.from([]) })), rejectsWith('empty', /^stdin: empty input$/));
  await assert.rejects(loadImage('-', imageOptions()), rejectsWith('unreadable'));
});

test('a stream that never ends is cut off at the cap', async () => {
  const chunk = Buffer.alloc(64 * 1024);
  let destroyed = false;
  const endless = new Readable({
    read() {
      this.push(chunk);
    },
    destroy(err, cb) {
      destroyed = true;
      cb(err);
    },
  });
  const t = Date.now();
  await assert.rejects(
    loadImage('-', imageOptions({ stdin: endless, maxInputBytes: 1024 * 1024 })),
    rejectsWith('too-large', /^stdin: larger than --max-input-bytes \(1 MiB\)$/),
  );
  assert.ok(Date.now() - t < 2000);
  assert.equal(destroyed, true);
});

test('data: URLs are decoded and judged by their bytes, not their declared type', async () => {
  const r = await loadImage(`data:image/jpeg;base64,${png.toString('base64')}`, imageOptions());
  assert.equal(r.report.kind, 'data-url');
  assert.equal(r.mime, 'image/png');
  assert.deepEqual(dataUrlBytes(r.url).bytes, png);
  await assert.rejects(
    loadImage(`data:image/png;base64,${Buffer.from('{"a":1}').toString('base64')}`, imageOptions()),
    rejectsWith('not-image'),
  );
  await assert.rejects(loadImage('data:image/png;base64', imageOptions()), rejectsWith('bad-url'));
  await assert.rejects(loadImage('data:image/png;base64,@@@', imageOptions()), rejectsWith('bad-url'));
  await assert.rejects(
    loadImage(`data:image/png;base64,${Buffer.alloc(4096).toString('base64')}`, imageOptions({ maxInputBytes: 1024 })),
    rejectsWith('too-large'),
  );
  const svg = await loadImage(
    `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"/>')}`,
    imageOptions(),
  );
  assert.equal(svg.report.sourceType, 'svg');
});

test('http(s) URLs pass through untouched with --pass-url', async () => {
  assert.equal(isRemoteUrl('https://example.com/a.jpg'), true);
  assert.equal(isRemoteUrl('HTTP://example.com/a.jpg'), true);
  assert.equal(isRemoteUrl('ftp://example.com/a.jpg'), false);
  assert.equal(isRemoteUrl('./https:/x'), false);
  const url = 'https://example.com/photos/a%20b.jpg?x=1';
  const r = await loadImage(url, imageOptions({ passUrl: true }));
  assert.equal(r.url, url);
  assert.equal(r.mime, null);
  assert.equal(r.report.kind, 'url');
  assert.equal(r.report.sourceType, null);
  assert.deepEqual(r.warnings, []);
  await assert.rejects(loadImage('http://', imageOptions()), rejectsWith('bad-url'));
});
