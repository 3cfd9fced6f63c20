// Nothing lost, nothing wasted: unwritable folders, full disks, concurrent runs, slow readers.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { noMounts, noTmpfs, readOnlyDir, tmpfs } from '../helpers/mounts.ts';

let server: TestServer;
const pngs: Buffer[] = [];
before(async () => {
  server = await startServer((_req, res) => sendJson(res, 200, completion('A small square.')));
  for (let i = 0; i < 4; i++) {
    pngs.push(
      await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i * 60, g: 10, b: 200 } } })
        .png()
        .toBuffer(),
    );
  }
});
after(() => server.close());

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('--sidecar into a read-only folder: its images fail without being sent; other folders go on', { skip: noMounts }, async () => {
  const cwd = tempDir();
  const ro = readOnlyDir((d) => pngs.slice(0, 3).forEach((b, i) => writeFileSync(join(d, `ro${i}.png`), b)));
  try {
    mkdirSync(join(cwd, 'rw'));
    writeFileSync(join(cwd, 'rw', 'ok.png'), pngs[3]!);
    server.requests.length = 0;
    const r = await run(['batch', ro.dir, 'rw', '--sidecar'], { cwd, env: relayEnv(server.url) });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(server.requests.length, 1, 'only the image whose sidecar can be written was sent');
    const recs = lines(r.stdout);
    assert.equal(recs.length, 4);
    const failed = recs.filter((x) => !x.ok);
    assert.equal(failed.length, 3);
    for (const f of failed) assert.match(f.error.message, /cannot write its sidecar .*\((EROFS|EACCES)\); nothing was sent/);
    assert.deepEqual(readdirSync(join(cwd, 'rw')).sort(), ['ok.png', 'ok.txt']);
  } finally {
    ro.release();
  }
});

/** A folder of `n` distinct small PNGs under `dir/name`. */
async function folder(dir: string, name: string, n: number): Promise<string> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (let i = 0; i < n; i++) {
    const b = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i % 256, g: (i * 7) % 256, b: (i * 13) % 256 } } })
      .png()
      .toBuffer();
    writeFileSync(join(d, `img${String(i).padStart(4, '0')}.png`), b);
  }
  return d;
}

test('-o on a full disk: exit 6 naming the file and the cause, nothing more sent, no torn line', { skip: noTmpfs }, async () => {
  const cwd = tempDir();
  await folder(cwd, 'p', 40);
  const disk = tmpfs(16 * 1024);
  try {
    const big = 'a long caption '.repeat(100); // ≈1.5 KB a line: the disk fills after a few
    let sent = 0;
    server.handler = (_req, res) => {
      sent++;
      sendJson(res, 200, completion(big));
    };
    const out = join(disk.dir, 'r.jsonl');
    const r = await run(['batch', 'p', '-c', '2', '-o', out], { cwd, env: relayEnv(server.url) });
    assert.equal(r.code, 6, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: cannot write to ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no space left on device$`, 'm'),
    );
    assert.doesNotMatch(r.stderr, /internal error|this is a bug/);
    assert.ok(sent < 40, `${sent} requests: the batch stopped`);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.endsWith('\n'), 'no torn line');
    const recs = lines(text);
    assert.ok(recs.length > 0 && recs.every((x) => x.ok), 'whole records only');
  } finally {
    server.handler = (_req, res) => sendJson(res, 200, completion('A small square.'));
    disk.unmount();
  }
});

test('--sidecar on a full disk stops the batch with exit 6 instead of failing image after image', { skip: noTmpfs }, async () => {
  // tmpfs counts whole pages: room for the 30 images (and their folder) and about 5 sidecars
  const disk = tmpfs(37 * 4096);
  try {
    await folder(disk.dir, 'p', 30);
    let sent = 0;
    server.handler = (_req, res) => {
      sent++;
      sendJson(res, 200, completion('x'.repeat(3000)));
    };
    const r = await run(['batch', join(disk.dir, 'p'), '--sidecar'], { env: relayEnv(server.url) });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /error: cannot write to .*\.txt: no space left on device/);
    assert.ok(sent < 30, `${sent} requests`);
    const sidecars = readdirSync(join(disk.dir, 'p')).filter((f) => f.endsWith('.txt'));
    assert.ok(sidecars.length > 0 && sidecars.length < 30, `${sidecars.length} sidecars`);
    assert.deepEqual(
      readdirSync(join(disk.dir, 'p')).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp files left',
    );
  } finally {
    server.handler = (_req, res) => sendJson(res, 200, completion('A small square.'));
    disk.unmount();
  }
});

test('one batch per -o file: a second run is refused at once naming the pid; a stale lock is taken over', async () => {
  const cwd = tempDir();
  await folder(cwd, 'p', 3);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  server.handler = async (_req, res) => {
    await held;
    sendJson(res, 200, completion('A small square.'));
  };
  try {
    server.requests.length = 0; // earlier tests' requests would end the wait below at once
    const first = run(['batch', 'p', '-o', 'r.jsonl'], { cwd, env: relayEnv(server.url) });
    // all three of the first run's images are held in flight (concurrency 4): any later request is the second run's
    while (server.requests.length < 3) await new Promise((r) => setTimeout(r, 10));
    server.requests.length = 0;
    const second = await run(['batch', 'p', '-o', 'r.jsonl'], { cwd, env: relayEnv(server.url) });
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`-o r\\.jsonl: another imgdesc batch \\(pid ${process.pid}\\) is writing to it`));
    assert.equal(server.requests.length, 0, 'the second run sent nothing');
    release();
    assert.equal((await first).code, 0);
    assert.ok(!existsSync(join(cwd, '.r.jsonl.lock')), 'the lock is removed at the end');
  } finally {
    release();
    server.handler = (_req, res) => sendJson(res, 200, completion('A small square.'));
  }
  // a lock left by a run killed with kill -9: its pid runs no more
  writeFileSync(join(cwd, '.r.jsonl.lock'), '999999999\n');
  writeFileSync(join(cwd, 'p', 'new.png'), pngs[0]!);
  const r = await run(['batch', 'p', '-o', 'r.jsonl'], { cwd, env: relayEnv(server.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lines(readFileSync(join(cwd, 'r.jsonl'), 'utf8')).length, 4);
});
