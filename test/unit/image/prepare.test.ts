// Preparation rules of docs/describe.md "What is sent" on synthetic images (no fixture files needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import exifReader from 'exif-reader';
import { ImageError, loadImage } from '../../../src/image/index.ts';
import {
  animatedGif,
  assertUprightPicture,
  cameraJpeg,
  dataUrlBytes,
  imageOptions,
  noise,
  pixelAt,
  storedFor,
  UPRIGHT,
} from '../../helpers/images.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-image-'));
function file(name: string, bytes: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('a 4000x3000 camera JPEG with GPS and orientation 6 arrives upright, 1176x1568, without GPS', async () => {
  const path = file('camera.jpg', await cameraJpeg({ width: 4000, height: 3000, orientation: 6, gps: true }));
  const r = await loadImage(path, imageOptions({ model: 'gpt-4o' }));
  const { mime, bytes } = dataUrlBytes(r.url);
  assert.equal(mime, 'image/jpeg');
  const meta = await sharp(bytes).metadata();
  assert.equal(meta.width, 1176);
  assert.equal(meta.height, 1568);
  assert.equal(meta.orientation, undefined);
  assert.equal(meta.exif, undefined);
  assert.ok(bytes.length < 1024 * 1024);
  assert.equal(r.report.rotated, true);
  assert.equal(r.report.resized, true);
  assert.equal(r.report.metadataStripped, true);
  assert.equal(r.report.orientation, 6);
  assert.equal(r.report.quality, 85);
  assert.equal(r.report.estimatedTokens, 1600); // 1176x1568 is past ~1,600 tokens: Claude sees it at 1.2 MP
  assert.equal(r.report.openaiTokens, 85 + 170 * 4); // 768x1024 → 2x2 tiles
});

for (let o = 1; o <= 8; o++) {
  test(`EXIF orientation ${o} is applied`, async () => {
    const r = await loadImage(file(`o${o}.jpg`, await storedFor(o)), imageOptions());
    const { bytes } = dataUrlBytes(r.url);
    const meta = await sharp(bytes).metadata();
    assert.equal(meta.width, UPRIGHT.width);
    assert.equal(meta.height, UPRIGHT.height);
    assert.ok(meta.orientation === undefined || meta.orientation === 1);
    assert.equal(r.report.unchanged, o === 1);
    assert.equal(r.report.rotated, o > 1);
    await assertUprightPicture(bytes);
  });
}

test('GPS alone forces a re-encode that drops it; --keep-metadata keeps it and sends unchanged', async () => {
  const path = file('gps.jpg', await cameraJpeg({ width: 300, height: 200, gps: true }));
  const r = await loadImage(path, imageOptions());
  assert.equal(r.report.unchanged, false);
  assert.equal(
    await sharp(dataUrlBytes(r.url).bytes)
      .metadata()
      .then((m) => m.exif),
    undefined,
  );
  const kept = await loadImage(path, imageOptions({ keepMetadata: true }));
  assert.equal(kept.report.unchanged, true);
});

test('--keep-metadata keeps EXIF (with GPS) but the image is still upright', async () => {
  const path = file('keep.jpg', await cameraJpeg({ width: 2000, height: 1000, orientation: 8, gps: true }));
  const r = await loadImage(path, imageOptions({ keepMetadata: true }));
  const meta = await sharp(dataUrlBytes(r.url).bytes).metadata();
  assert.equal(meta.width, 784);
  assert.equal(meta.height, 1568);
  assert.ok(meta.orientation === undefined || meta.orientation === 1);
  assert.ok(meta.exif);
  assert.ok(exifReader(meta.exif).GPSInfo?.GPSLatitude);
});

test('real alpha is kept as PNG; an opaque alpha channel becomes JPEG', async () => {
  const rgba = noise(200, 100, 4);
  for (let i = 3; i < rgba.length; i += 4 * 7) rgba[i] = 0;
  const alpha = await sharp(rgba, { raw: { width: 200, height: 100, channels: 4 } })
    .png()
    .toBuffer();
  const r = await loadImage(file('alpha.png', alpha), imageOptions({ maxEdge: 150 }));
  assert.equal(r.mime, 'image/png');
  assert.equal((await sharp(dataUrlBytes(r.url).bytes).metadata()).hasAlpha, true);

  const opaque = await sharp(noise(200, 100, 4), { raw: { width: 200, height: 100, channels: 4 } })
    .png()
    .toBuffer();
  const r2 = await loadImage(file('opaque.png', opaque), imageOptions({ maxEdge: 150 }));
  assert.equal(r2.mime, 'image/jpeg');
});

test('alpha that does not fit as PNG falls back to WebP, still with alpha', async () => {
  const rgba = noise(600, 600, 4);
  for (let i = 3; i < rgba.length; i += 4 * 3) rgba[i] = 10;
  const png = await sharp(rgba, { raw: { width: 600, height: 600, channels: 4 } })
    .png()
    .toBuffer();
  const r = await loadImage(file('big-alpha.png', png), imageOptions({ maxBytes: 600 * 1024 }));
  assert.equal(r.mime, 'image/webp');
  assert.ok(r.url.length - 'data:image/webp;base64,'.length <= 600 * 1024);
  assert.equal((await sharp(dataUrlBytes(r.url).bytes).metadata()).hasAlpha, true);
});

test('an animated GIF gives its first frame, with a warning', async () => {
  const r = await loadImage(file('anim.gif', await animatedGif()), imageOptions());
  assert.equal(r.report.animated, true);
  assert.deepEqual(r.warnings, [`${join(tmp, 'anim.gif')} is animated: sending its first frame only`]);
  const { bytes } = dataUrlBytes(r.url);
  const meta = await sharp(bytes, { animated: true }).metadata();
  assert.equal(meta.pages ?? 1, 1);
  const [red, green] = await pixelAt(bytes, 5, 5);
  assert.ok(red > 200 && green < 60, 'first frame is the red one');
});

test('a small --max-bytes steps the quality down, then the size', async () => {
  const big = await sharp(noise(1000, 800), { raw: { width: 1000, height: 800, channels: 3 } })
    .png()
    .toBuffer();
  const path = file('noise.png', big);
  const a = await loadImage(path, imageOptions({ maxBytes: 400 * 1024 }));
  assert.equal(a.mime, 'image/jpeg');
  assert.ok(a.report.quality !== null && a.report.quality < 85, `quality ${a.report.quality}`);
  assert.equal(a.report.widthOut, 1000);
  assert.ok(a.url.length - 'data:image/jpeg;base64,'.length <= 400 * 1024);

  const b = await loadImage(path, imageOptions({ maxBytes: 60 * 1024 }));
  assert.ok((b.report.widthOut ?? 0) < 1000, 'shrunk');
  assert.ok(b.url.length - 'data:image/jpeg;base64,'.length <= 60 * 1024);
  assert.ok(((b.report.bytesOut ?? 0) * 4) / 3 <= 60 * 1024 + 4);

  await assert.rejects(
    loadImage(path, imageOptions({ maxBytes: 100 })),
    (err: unknown) => err instanceof ImageError && err.reason === 'too-large',
  );
});

test('--no-resize sends what is fine and refuses what would need preparation', async () => {
  const fine = await cameraJpeg({ width: 400, height: 300 });
  const ok = await loadImage(file('fine.jpg', fine), imageOptions({ resize: false }));
  assert.equal(ok.report.unchanged, true);
  assert.deepEqual(dataUrlBytes(ok.url).bytes, fine);

  const cases: [string, Buffer, RegExp][] = [
    // just past the edge: a 12 MP one costs ~0.5 s of CPU to make and is refused the same way
    ['big.jpg', await cameraJpeg({ width: 1600, height: 1200 }), /big\.jpg: 1600x1200 exceeds --max-edge 1568 and --no-resize was given$/],
    ['turned.jpg', await cameraJpeg({ width: 40, height: 30, orientation: 6 }), /EXIF orientation 6/],
    ['located.jpg', await cameraJpeg({ width: 40, height: 30, gps: true }), /GPS location/],
    [
      'photo.tiff',
      await sharp(noise(20, 20), { raw: { width: 20, height: 20, channels: 3 } })
        .tiff()
        .toBuffer(),
      /TIFF is not accepted/,
    ],
    ['anim.gif', await animatedGif(), /GIF is animated/],
  ];
  for (const [name, bytes, re] of cases) {
    await assert.rejects(loadImage(file(name, bytes), imageOptions({ resize: false })), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.reason, 'needs-preparation');
      assert.equal(err.exitCode, 2);
      assert.match(err.message, re);
      return true;
    });
  }
  await assert.rejects(
    loadImage(
      file(
        'heavy.png',
        await sharp(noise(300, 300), { raw: { width: 300, height: 300, channels: 3 } })
          .png()
          .toBuffer(),
      ),
      imageOptions({ resize: false, maxBytes: 1000 }),
    ),
    /exceeds --max-bytes/,
  );
});

test('never enlarges a small image that needs re-encoding', async () => {
  const r = await loadImage(
    file(
      'small.tiff',
      await sharp(noise(50, 40), { raw: { width: 50, height: 40, channels: 3 } })
        .tiff()
        .toBuffer(),
    ),
    imageOptions(),
  );
  assert.equal(r.report.widthOut, 50);
  assert.equal(r.report.heightOut, 40);
  assert.equal(r.report.converted, true);
  assert.equal(r.report.resized, false);
});

test('an SVG is rendered near --max-edge, not at a huge size', async () => {
  const svg = Buffer.from(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="50000"><rect width="100%" height="100%" fill="#0a0"/></svg>',
  );
  const r = await loadImage(file('huge.svg', svg), imageOptions());
  assert.equal(r.report.sourceType, 'svg');
  assert.equal(Math.max(r.report.widthOut ?? 0, r.report.heightOut ?? 0), 1568);
});
