// The one capped read: stops at its cap while reading, for streams, files, devices and FIFOs;
// lines stop at their own cap; an abort ends a read at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { linesCapped, linesOrOverlong, ReadCapError, readFileCapped, readStreamCapped } from '../../src/read-capped.ts';
import { InterruptedError } from '../../src/types.ts';
import { tempDir } from '../helpers/cli.ts';

/** An endless stream that counts what it produced. */
function endless(chunk = Buffer.alloc(64 * 1024, 0x61)): Readable & { produced: number } {
  const s = new Readable({
    read() {
      s.produced += chunk.length;
      this.push(chunk);
    },
  }) as Readable & { produced: number };
  s.produced = 0;
  return s;
}

test('a stream is read whole under its cap', async () => {
  assert.equal((await readStreamCapped(Readable.from([Buffer.from('ab'), 'cd']), { max: 4 })).toString(), 'abcd');
});

test('an endless stream stops just past its cap and is destroyed', async () => {
  const s = endless();
  await assert.rejects(readStreamCapped(s, { max: 1 << 20 }), (e: unknown) => e instanceof ReadCapError && e.max === 1 << 20);
  assert.ok(s.produced <= (1 << 20) + 3 * 64 * 1024, `read ${s.produced} bytes`);
  assert.equal(s.destroyed, true);
});

test('/dev/zero and /proc files are capped while reading; a big regular file before any read', async () => {
  await assert.rejects(readFileCapped('/dev/zero', { max: 1 << 20 }), ReadCapError);
  const self = await readFileCapped('/proc/self/status', { max: 1 << 20 });
  assert.match(self.toString(), /^Name:/);
  const dir = tempDir();
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(2 << 20));
  await assert.rejects(readFileCapped(big, { max: 1 << 20 }), ReadCapError);
  await assert.rejects(readFileCapped(join(dir, 'none'), { max: 1 }), { code: 'ENOENT' });
  await assert.rejects(readFileCapped(dir, { max: 1 }), { code: 'EISDIR' });
});

test('a FIFO with no writer gives way at once on abort', async () => {
  const fifo = join(tempDir(), 'fifo');
  execFileSync('mkfifo', [fifo]);
  const ac = new AbortController();
  const read = readFileCapped(fifo, { max: 1024, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(read, InterruptedError);
});

test('an abort stops a stream that never ends', async () => {
  const ac = new AbortController();
  const s = new Readable({ read() {} }); // silent: never pushes
  const read = readStreamCapped(s, { max: 1024, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(read, InterruptedError);
  assert.equal(s.destroyed, true);
});

test('lines: split on \\n and \\r\\n, a last line without its end, across chunks', async () => {
  const lines: string[] = [];
  for await (const l of linesCapped(Readable.from(['a\r', '\nbc', 'd\n\n', 'last']), { maxLine: 10 })) lines.push(l);
  assert.deepEqual(lines, ['a', 'bcd', '', 'last']);
});

test('a line past its cap throws with its number, without reading the rest of it', async () => {
  const s = endless(Buffer.alloc(64 * 1024, 0x7b));
  async function* source() {
    yield Buffer.from('{}\n');
    yield* s;
  }
  const it = linesCapped(source(), { maxLine: 1 << 20 });
  await assert.rejects(
    (async () => {
      for await (const _ of it);
    })(),
    (e: unknown) => e instanceof ReadCapError && e.line === 2,
  );
  assert.ok(s.produced <= (1 << 20) + 3 * 64 * 1024);
});

test('linesOrOverlong answers an overlong line in its place and goes on', async () => {
  const got: Array<string | number> = [];
  const src = Readable.from(['ok\n', 'x'.repeat(40), 'y'.repeat(40), '\nnext\n']);
  for await (const l of linesOrOverlong(src, { maxLine: 16 })) got.push(typeof l === 'string' ? l : (l.line ?? -1));
  assert.deepEqual(got, ['ok', 2, 'next']);
});
