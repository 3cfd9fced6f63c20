// Every fixture of ../shared/fixtures/images/MANIFEST.tsv against its `expected` column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { ImageError, loadImage } from '../../../src/image/index.ts';
import { dataUrlBytes, imageOptions } from '../../helpers/images.ts';
import { FIXTURES, needs } from '../../helpers/shared.ts';

const dir = `${FIXTURES}/`;
const skip = needs(`${dir}MANIFEST.tsv`);

interface Row {
  filename: string;
  format: string;
  expected: string;
}

function rows(): Row[] {
  const [head, ...lines] = readFileSync(`${dir}MANIFEST.tsv`, 'utf8').trim().split('\n');
  const cols = (head ?? '').split('\t');
  const at = (name: string): number => cols.indexOf(name);
  return lines.map((l) => {
    const f = l.split('\t');
    return { filename: f[at('filename')] ?? '', format: f[at('format')] ?? '', expected: f[at('expected')] ?? '' };
  });
}

/** What the APIs accept and the preparation promises: checked on the bytes that would be sent. */
async function assertSendable(url: string, file: string): Promise<void> {
  const { mime, bytes } = dataUrlBytes(url);
  assert.match(mime, /^image\/(jpeg|png|gif|webp)$/, file);
  const meta = await sharp(bytes).metadata();
  assert.equal(`image/${meta.format}`, mime, `${file}: mime matches the bytes`);
  assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 1568, `${file}: long edge ≤ 1568`);
  assert.ok(meta.orientation === undefined || meta.orientation === 1, `${file}: upright`);
  assert.ok((bytes.length * 4) / 3 <= 5 * 1024 * 1024 + 4, `${file}: fits 5 MiB of base64`);
}

test('MANIFEST fixtures do what the expected column says', { skip }, async (t) => {
  for (const row of rows()) {
    await t.test(row.filename, async () => {
      const path = `${dir}${row.filename}`;
      const e = row.expected;
      if (e.startsWith('send unchanged')) {
        const r = await loadImage(path, imageOptions());
        assert.equal(r.report.unchanged, true);
        assert.deepEqual(dataUrlBytes(r.url).bytes, readFileSync(path));
        await assertSendable(r.url, row.filename);
      } else if (e.startsWith('prepare') || e.startsWith('send as PNG')) {
        const r = await loadImage(path, imageOptions());
        await assertSendable(r.url, row.filename);
        if (/first frame/.test(e)) {
          assert.equal(r.report.animated, true);
          assert.ok(
            r.warnings.some((w) => /animated: sending its first frame only/.test(w)),
            'animation warning',
          );
        }
        if (/rotate upright/.test(e)) {
          assert.equal(r.report.rotated, true);
          // The exif-orientation-examples are landscape pictures 1800x1200 once upright.
          const landscape = row.filename.includes('Landscape');
          const { bytes } = dataUrlBytes(r.url);
          const meta = await sharp(bytes).metadata();
          assert.equal((meta.width ?? 0) > (meta.height ?? 0), landscape, 'upright dimensions');
        }
        if (/keep alpha/.test(e)) {
          const meta = await sharp(dataUrlBytes(r.url).bytes).metadata();
          assert.equal(meta.hasAlpha, true, 'alpha kept');
        }
        // Issue #14: a JPEG larger than the original is tried as WebP too, and the smaller is sent.
        if (/convert to JPEG$/.test(e)) assert.match(r.mime ?? '', /^image\/(jpeg|webp)$/);
        if (/shrink to 1568/.test(e)) assert.equal(Math.max(r.report.widthOut ?? 0, r.report.heightOut ?? 0), 1568);
      } else if (e.startsWith('refuse')) {
        await assert.rejects(loadImage(path, imageOptions()), (err: unknown) => {
          assert.ok(err instanceof ImageError, String(err));
          assert.equal(err.exitCode, 2);
          assert.doesNotMatch(err.message, /\n/);
          assert.ok(err.message.startsWith(path), err.message);
          if (/corrupt or truncated/.test(e)) assert.equal(err.reason, 'corrupt');
          else if (/not an image/.test(e)) assert.ok(err.reason === 'not-image' || err.reason === 'empty', err.reason);
          return true;
        });
      } else if (e.startsWith('convert')) {
        try {
          const r = await loadImage(path, imageOptions());
          await assertSendable(r.url, row.filename);
        } catch (err) {
          assert.ok(err instanceof ImageError, String(err));
          assert.equal(err.exitCode, 2);
          const name = row.format.split(' (')[0]?.replace(/ .*$/, '') ?? '';
          assert.ok(err.message.includes(name), `${err.message} names ${name}`);
        }
      } else {
        assert.fail(`unknown expectation: ${e}`);
      }
    });
  }
});
