// Issue #19 item 4: preparing one image ends by a deadline, with a clear error, and what runs it
// (libvips, the SVG renderer's own process) is stopped. Wall-clock figures live in the bench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError, loadImage } from '../../../src/image/index.ts';
import { prepareDeadlineMs } from '../../../src/image/prepare.ts';
import { InterruptedError } from '../../../src/types.ts';
import { pngBomb, svgBlurBomb } from '../../helpers/bombs.ts';
import { imageOptions } from '../../helpers/images.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-deadline-'));
function file(name: string, bytes: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('prepareDeadlineMs: --prepare-timeout as given, else 5 s per megapixel sent, at least 10 s', () => {
  assert.equal(prepareDeadlineMs({ maxEdge: 1568 }), 12_293);
  assert.equal(prepareDeadlineMs({ maxEdge: 512 }), 10_000);
  assert.equal(prepareDeadlineMs({ maxEdge: 4096 }), 83_886);
  assert.equal(prepareDeadlineMs({ maxEdge: 1568, prepareTimeoutMs: 2500 }), 2500);
  assert.equal(prepareDeadlineMs({ maxEdge: 1568, prepareTimeoutMs: 0 }), 0);
});

test('an SVG whose blur filters take many seconds is stopped at --prepare-timeout', async () => {
  // A short deadline: the renderer's process burns CPU until it is killed.
  const path = file('blur.svg', svgBlurBomb(20));
  await assert.rejects(loadImage(path, imageOptions({ prepareTimeoutMs: 200 })), (err: unknown) => {
    assert.ok(err instanceof ImageError);
    assert.equal(err.reason, 'too-slow');
    assert.equal(err.message, `${path}: preparing it took longer than 0.2 s (--prepare-timeout); stopped`);
    assert.equal(err.exitCode, 2);
    return true;
  });
});

test('a 256-megapixel PNG within the pixel limit is stopped by the deadline inside libvips', async () => {
  const path = file('huge.png', pngBomb({ width: 16000, height: 16000, depth: 8, colour: 6 }));
  await assert.rejects(loadImage(path, imageOptions({ prepareTimeoutMs: 300 })), { name: 'ImageError', reason: 'too-slow' });
});

test('Ctrl-C while an SVG renders is an interruption, not a timeout', async () => {
  const path = file('blur2.svg', svgBlurBomb(20));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  await assert.rejects(loadImage(path, imageOptions({ signal: ac.signal })), InterruptedError);
});

test('an ordinary SVG still renders near --max-edge through its own process', async () => {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="200" height="100" fill="#c00"/></svg>',
  );
  const r = await loadImage(file('ok.svg', svg), imageOptions({ maxEdge: 400 }));
  assert.equal(r.report.widthOut, 400);
  assert.equal(r.report.heightOut, 200);
  assert.equal(r.report.widthIn, 200);
});
