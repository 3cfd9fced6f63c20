// Pixel and decompression bombs: refused from the header, or by a bounded walk, before anything is
// decoded. Time and peak memory per bomb are measured by `npm run bench` (bombs section), not here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError, loadImage } from '../../../src/image/index.ts';
import { headerDimensions, inspectStructure, overPixelLimit, PIXEL_LIMIT, StructureRefusal } from '../../../src/image/structure.ts';
import { bmpBomb, gifBomb, jpegBomb, pngBomb, webpBomb } from '../../helpers/bombs.ts';
import { imageOptions } from '../../helpers/images.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-bombs-'));
function file(name: string, bytes: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('headerDimensions reads what each header declares', () => {
  assert.deepEqual(headerDimensions(pngBomb({ width: 100000, height: 100000 }).subarray(0, 64), 'png'), { width: 100000, height: 100000 });
  assert.deepEqual(headerDimensions(jpegBomb(65535, 40000), 'jpeg'), { width: 65535, height: 40000 });
  assert.deepEqual(headerDimensions(gifBomb(65535, 3), 'gif'), { width: 65535, height: 3 });
  assert.deepEqual(headerDimensions(bmpBomb(100000, -7), 'bmp'), { width: 100000, height: 7 });
  assert.deepEqual(headerDimensions(webpBomb(100000, 2), 'webp'), { width: 100000, height: 2 });
  assert.equal(headerDimensions(Buffer.from([0xff, 0xd8, 0xff]), 'jpeg'), null);
  assert.equal(headerDimensions(Buffer.alloc(4), 'png'), null);
  assert.equal(headerDimensions(Buffer.alloc(64), 'tiff'), null);
});

test('overPixelLimit: sharp’s limit of 16383 x 16383, inclusive', () => {
  assert.equal(PIXEL_LIMIT, 16383 * 16383);
  assert.equal(overPixelLimit({ width: 16383, height: 16383 }), false);
  assert.equal(overPixelLimit({ width: 16384, height: 16383 }), true);
  assert.equal(overPixelLimit({ width: 100000, height: 100000 }), true);
  assert.equal(overPixelLimit(null), false);
});

const refusals: Array<[string, string, () => Buffer, RegExp]> = [
  ['a 1.2 MB PNG declaring 100000x100000', 'bomb.png', () => pngBomb({ width: 100000, height: 100000 }), /100000x100000 PNG/],
  ['a 3.7 MB PNG declaring 61600x61600', 'bomb2.png', () => pngBomb({ width: 61600, height: 61600, depth: 8 }), /61600x61600 PNG/],
  ['a JPEG declaring 65535x65535', 'bomb.jpg', () => jpegBomb(65535, 65535), /65535x65535 JPEG/],
  ['a GIF declaring 65535x65535', 'bomb.gif', () => gifBomb(65535, 65535), /65535x65535 GIF/],
  ['a BMP declaring 100000x100000', 'bomb.bmp', () => bmpBomb(100000, 100000), /100000x100000 BMP/],
  ['a WebP declaring 100000x100000', 'bomb.webp', () => webpBomb(100000, 100000), /100000x100000 WebP/],
];
for (const [what, name, build, dims] of refusals) {
  test(`${what} is refused from its header (too-large, exit 2)`, async () => {
    const path = file(name, build());
    await assert.rejects(loadImage(path, imageOptions()), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.reason, 'too-large');
      assert.match(err.message, dims);
      assert.match(err.message, /more pixels than imgdesc decodes \(268 megapixels\)$/);
      return true;
    });
  });
}

test('the same bombs as stdin and data: URLs are refused alike', async () => {
  const bytes = pngBomb({ width: 100000, height: 100000 });
  const { Readable } = await import('node:stream');
  await assert.rejects(loadImage('-', imageOptions({ stdin: Readable.from([bytes]) })), /stdin: 100000x100000 PNG has more pixels/);
  const url = `data:image/png;base64,${jpegBomb(65535, 65535).toString('base64')}`;
  await assert.rejects(loadImage(url, imageOptions()), /65535x65535 JPEG has more pixels/);
});

test('a 1000x1000 PNG whose 2 MB of data inflates to 2 GB is refused as corrupt by the bounded walk', async () => {
  const bomb = pngBomb({ width: 1000, height: 1000, depth: 8, extra: 2e9 });
  await assert.rejects(inspectStructure(bomb, 'png'), StructureRefusal);
  await assert.rejects(loadImage(file('extra.png', bomb), imageOptions()), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.equal(err.reason, 'corrupt');
    assert.match(err.message, /extra\.png: corrupt or truncated PNG \(its image data inflates to far more than its pixels need\)/);
    return true;
  });
});

test('a PNG with a little extra data is left to the decoder, as libpng tolerates it', async () => {
  const png = pngBomb({ width: 40, height: 30, depth: 8, extra: 10 });
  assert.equal(await inspectStructure(png, 'png'), null);
  const r = await loadImage(file('slight.png', png), imageOptions());
  assert.equal(r.mime, 'image/png');
});

test('a PNG inflated in pieces (more than 1 MiB of pixels) is walked whole and vouched for', async () => {
  // 1200x1000 RGB: 3.6 MB of scanlines, streamed through the inflater 64 KiB at a time
  const png = pngBomb({ width: 1200, height: 1000, depth: 8, colour: 2 });
  assert.deepEqual(await inspectStructure(png, 'png'), { width: 1200, height: 1000, location: false, animated: false, orientation: 1 });
  const cut = pngBomb({ width: 1200, height: 1000, depth: 8, colour: 2, extra: -5000 });
  assert.equal(await inspectStructure(cut, 'png'), null);
  const over = pngBomb({ width: 1200, height: 1000, depth: 8, colour: 2, extra: 3 << 20 });
  await assert.rejects(inspectStructure(over, 'png'), StructureRefusal);
});
