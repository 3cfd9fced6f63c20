// Token estimates, Ctrl-C, and streams that are not regular files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { claudeTokens, openaiTokens } from '../../../src/image/tokens.ts';
import { ImageError, loadImage } from '../../../src/image/index.ts';
import { InterruptedError } from '../../../src/types.ts';
import { imageOptions } from '../../helpers/images.ts';

test('token estimates', () => {
  // Claude's own resize first (long edge ≤ 1568 px, ≤ ~1,600 tokens), then width × height / 750.
  assert.equal(claudeTokens(1, 1), 1);
  assert.equal(claudeTokens(200, 200), 54); // small: as it is
  assert.equal(claudeTokens(1092, 1092), 1590); // the docs' largest 1:1 size that is not resized
  assert.equal(claudeTokens(951, 1268), 1600); // the docs' 3:4 size, ~1,600 tokens
  assert.equal(claudeTokens(1568, 1176), 1600); // within 1568 px but 2,459 tokens: seen as 1265x949
  assert.equal(claudeTokens(4032, 3024), 1600); // a 12 MP photo costs what its resize costs
  assert.equal(claudeTokens(1568, 1568), 1599); // seen as 1095x1095
  assert.equal(claudeTokens(3000, 200), 220); // the long edge only: seen as 1568x105
  // OpenAI's documented examples: 1024x1024 → 765, 2048x4096 → 1105, 512x512 → 255.
  assert.equal(openaiTokens(1024, 1024), 765);
  assert.equal(openaiTokens(2048, 4096), 1105);
  assert.equal(openaiTokens(512, 512), 255);
  assert.equal(openaiTokens(100, 100), 255);
});

test('openaiTokens only for gpt- models', async () => {
  const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
  const input = `data:image/png;base64,${png.toString('base64')}`;
  assert.equal((await loadImage(input, imageOptions({ model: 'gpt-4o' }))).report.openaiTokens, 255);
  assert.equal((await loadImage(input, imageOptions({ model: 'claude-3-5-sonnet-20240620' }))).report.openaiTokens, null);
});

test('an aborted signal stops reading stdin with InterruptedError', async () => {
  const ac = new AbortController();
  const slow = new Readable({ read() {} });
  slow.push(Buffer.from([0xff, 0xd8, 0xff]));
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(loadImage('-', imageOptions({ stdin: slow, signal: ac.signal })), (err: unknown) => {
    assert.ok(err instanceof InterruptedError, String(err));
    return true;
  });
});

test('a FIFO is read as a stream with the cap', { skip: process.platform === 'win32' ? 'no mkfifo' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdesc-fifo-'));
  const fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  const w = createWriteStream(fifo);
  w.end(png);
  const r = await loadImage(fifo, imageOptions());
  assert.equal(r.report.unchanged, true);

  const w2 = createWriteStream(fifo);
  w2.on('error', () => undefined);
  w2.write(Buffer.alloc(4096));
  w2.write(Buffer.alloc(4096));
  await assert.rejects(
    loadImage(fifo, imageOptions({ maxInputBytes: 4096 })),
    (err: unknown) => err instanceof ImageError && err.reason === 'too-large',
  );
  w2.destroy();
});
