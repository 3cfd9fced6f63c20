// Issue #19 item 5: every read of something imgdesc does not control stops at its cap while
// reading (devices, FIFOs, /proc, gigabyte lines), and ends at once on Ctrl-C or SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { relayEnv, run, runCli, tempDir, waitingForInput } from '../helpers/cli.ts';

const dir = tempDir('imgdesc-hostile-');
// Nothing is ever sent: each case fails before a request, or uses --dry-run.
const env = relayEnv('http://127.0.0.1:9');
const png = join(dir, 'one.png');
writeFileSync(png, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64'));
const big = join(dir, 'big.txt');
writeFileSync(big, Buffer.alloc(3 << 20, 0x61));

/**
 * A .jsonl.gz of about 1 MB holding one row that is `n` bytes long (a gigabyte inflates from a
 * megabyte): fully flushed deflate blocks of 'a' repeated, in a valid gzip member.
 */
function gzOneLine(n: number): Buffer {
  const block = Buffer.alloc(1 << 20, 0x61);
  const full = deflateRawSync(block, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const head = Buffer.from('{"image":"');
  const parts = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), deflateRawSync(head, { finishFlush: constants.Z_FULL_FLUSH })];
  let crc = crc32(head);
  for (let left = n; left > 0; left -= block.length) {
    parts.push(full);
    crc = crc32(block, crc);
  }
  const tail = Buffer.from('"}\n');
  parts.push(deflateRawSync(tail));
  crc = crc32(tail, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((head.length + Math.ceil(n / block.length) * block.length + tail.length) % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

const capped: Array<[string, string[], RegExp]> = [
  ['-p @/dev/zero', [png, '--dry-run', '-p', '@/dev/zero'], /^error: -p @\/dev\/zero: larger than 1 MiB; is this the right file\?$/m],
  ['-p @big-file', [png, '--dry-run', '-p', `@${big}`], /^error: -p @\S+big\.txt: larger than 1 MiB; is this the right file\?$/m],
  ['--prompt-file /dev/zero', [png, '--dry-run', '--prompt-file', '/dev/zero'], /^error: --prompt-file \/dev\/zero: larger than 1 MiB/m],
  [
    '--schema /dev/zero',
    [png, '--dry-run', '--schema', '/dev/zero'],
    /^error: --schema: \/dev\/zero is larger than 1 MiB; is this the right file\?$/m,
  ],
  ['--schema big-file', [png, '--dry-run', '--schema', big], /^error: --schema: \S+big\.txt is larger than 1 MiB/m],
  [
    'batch --files-from /dev/zero',
    ['batch', '--files-from', '/dev/zero', '--dry-run'],
    /^error: --files-from \/dev\/zero: the list is larger than 64 MiB$/m,
  ],
];
for (const [what, args, message] of capped) {
  test(`${what} stops at its cap with exit 2`, async () => {
    const r = await run(args, { env, cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  });
}

test('--files-from /proc/self/… is read (size 0 on disk) like any other list', async () => {
  const r = await run(['batch', '--files-from', '/proc/self/cmdline', '-0', '--dry-run'], { env, cwd: dir });
  // the list holds this process's arguments: none need be an image, but the list itself was read
  assert.doesNotMatch(r.stderr, /--files-from/);
  assert.match(r.stderr, /^error: /m);
});

test('a 1 MB manifest.jsonl.gz holding one 1 GB line is refused at the row cap (exit 2)', async () => {
  const gz = join(dir, 'rows.jsonl.gz');
  writeFileSync(gz, gzOneLine(1 << 30));
  assert.ok(readFileSync(gz).length < 1.2e6);
  const r = await run(['batch', '--manifest', gz, '--dry-run'], { env, cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: \S*rows\.jsonl\.gz:1: a row longer than 1 MiB; is this a manifest\?$/m);
});

test('a CSV manifest with a 2 MB row is refused at the row cap', async () => {
  const csv = join(dir, 'rows.csv');
  writeFileSync(csv, `image,caption\none.png,${'x'.repeat(2 << 20)}\n`);
  const r = await run(['batch', '--manifest', csv, '--dry-run'], { env, cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /rows\.csv: a row longer than 1 MiB; is this a manifest\?$/m);
});

test('map answers a 2 MB line with a failed record in its place and goes on', async () => {
  const input = `{"image":"${'x'.repeat(2 << 20)}"}\n{"image":"missing.png"}\n`;
  const r = await run(['map'], { env, cwd: dir, input });
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { image: string; ok: boolean; error?: { message: string } });
  assert.equal(records.length, 2, r.stderr);
  assert.deepEqual(
    records.map((x) => [x.image, x.ok]),
    [
      ['stdin:1', false],
      ['missing.png', false],
    ],
  );
  assert.match(records[0]?.error?.message ?? '', /a row longer than 1 MiB/);
});

test('a token piped from an endless source is refused at 64 KiB', async () => {
  const r = await run(['config', 'set', 'token'], { input: Buffer.alloc(1 << 20, 0x61) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /the token on stdin is larger than 64 KiB/);
});

for (const [what, args] of [
  ['-p @fifo with no writer', ['one.png', '--dry-run', '-p', '@fifo']],
  ['--files-from fifo with no writer', ['batch', '--files-from', 'fifo', '--dry-run']],
  ['--manifest fifo with no writer', ['batch', '--manifest', 'fifo', '--dry-run']],
  ['--schema fifo with no writer', ['one.png', '--dry-run', '--schema', './fifo']],
] as const) {
  test(`SIGTERM ends a read of ${what} at once (exit 143)`, async () => {
    const fifoDir = tempDir('imgdesc-fifo-');
    writeFileSync(join(fifoDir, 'one.png'), readFileSync(png));
    execFileSync('mkfifo', [join(fifoDir, 'fifo')]);
    const r = await runCli([...args], {
      cwd: fifoDir,
      env,
      timeoutMs: 30_000,
      onSpawn: (child) => {
        void waitingForInput(child).then(() => child.kill('SIGTERM'));
      },
    });
    assert.equal(r.signal, null, 'killed by the signal, not stopped by it');
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /terminated \(SIGTERM\)/);
  });
}

test('Ctrl-C ends -p - reading a pipe that never closes (exit 130)', async () => {
  const r = await runCli([png, '--dry-run', '-p', '-'], {
    env,
    timeoutMs: 30_000,
    keepStdinOpen: true,
    onSpawn: (child) => {
      child.stdin?.write('the start of a prompt that never ends ');
      void waitingForInput(child).then(() => child.kill('SIGINT'));
    },
  });
  assert.equal(r.code, 130, r.stderr);
});
