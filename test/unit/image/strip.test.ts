// Issue #24, first ten minutes 9: a JPEG whose only problem is its GPS data goes without its
// metadata segments, its pixels untouched (no re-encode, never larger than the original).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImage } from '../../../src/image/index.ts';
import { inspectStructure, stripJpegMetadata } from '../../../src/image/structure.ts';
import { cameraJpeg, dataUrlBytes, imageOptions } from '../../helpers/images.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-strip-'));

test('a 1000x726 JPEG with GPS goes as the same JPEG without its EXIF, smaller, pixels identical', async () => {
  const original = await cameraJpeg({ width: 1000, height: 726, gps: true });
  const path = join(tmp, 'gps.jpg');
  writeFileSync(path, original);
  const r = await loadImage(path, imageOptions());
  const { mime, bytes } = dataUrlBytes(r.url);
  assert.equal(mime, 'image/jpeg');
  assert.ok(bytes.length < original.length, `${bytes.length} < ${original.length}`);
  const meta = await sharp(bytes).metadata();
  assert.equal(meta.exif, undefined);
  assert.equal((await inspectStructure(bytes, 'jpeg'))?.location, false);
  const [a, b] = await Promise.all([sharp(original).raw().toBuffer(), sharp(bytes).raw().toBuffer()]);
  assert.ok(a.equals(b), 'the decoded pixels are the same');
  assert.deepEqual(
    [r.report.unchanged, r.report.reencoded, r.report.metadataStripped, r.report.resized, r.report.converted, r.report.quality],
    [false, false, true, false, false, null],
  );
  assert.deepEqual([r.report.widthOut, r.report.heightOut, r.report.bytesOut], [1000, 726, bytes.length]);
  assert.deepEqual(r.warnings, []);
});

test('--keep-metadata sends it as it is; --no-resize still refuses it', async () => {
  const original = await cameraJpeg({ width: 300, height: 200, gps: true });
  const path = join(tmp, 'gps2.jpg');
  writeFileSync(path, original);
  const kept = await loadImage(path, imageOptions({ keepMetadata: true }));
  assert.ok(dataUrlBytes(kept.url).bytes.equals(original));
  await assert.rejects(loadImage(path, imageOptions({ resize: false })), /GPS location metadata .*--no-resize/);
});

test('a JPEG with GPS and another problem (orientation) is still re-encoded', async () => {
  const path = join(tmp, 'gps-rot.jpg');
  writeFileSync(path, await cameraJpeg({ width: 300, height: 200, gps: true, orientation: 6 }));
  const r = await loadImage(path, imageOptions());
  assert.equal(r.report.reencoded, true);
  assert.equal(r.report.rotated, true);
});

test('stripJpegMetadata drops APP1 and APP13 before the first scan, keeps the rest byte for byte', () => {
  const seg = (m: number, body: string) => {
    const b = Buffer.from(body, 'latin1');
    return Buffer.concat([Buffer.from([0xff, m, (b.length + 2) >> 8, (b.length + 2) & 255]), b]);
  };
  const scan = Buffer.from([0xff, 0xda, 0x00, 0x02, 0x12, 0x34, 0xff, 0xe1, 0xff, 0xd9]);
  const jpeg = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, 'JFIF\0'),
    seg(0xe1, 'Exif\0\0gps'),
    seg(0xed, 'Photoshop'),
    seg(0xe2, 'ICC'),
    scan,
  ]);
  assert.deepEqual(stripJpegMetadata(jpeg), Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xe0, 'JFIF\0'), seg(0xe2, 'ICC'), scan]));
  assert.equal(stripJpegMetadata(Buffer.from([0xff, 0xd8, 0x00])), null);
  assert.equal(stripJpegMetadata(Buffer.from('not a jpeg')), null);
});
