// Resuming a batch by its records (issue #23 item 5): an image whose ok record names the size and
// modification time it still has is skipped without being read; any other is read and matched by
// its bytes, as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type Handler, type RecordedRequest, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** `describe {name}` → the image's file name. */
function nameOf(req: RecordedRequest): string {
  const part = req.json?.messages?.at(-1)?.content?.find?.((p: { type: string }) => p.type === 'text');
  return String(part?.text ?? '').replace(/^describe /, '');
}
const answerWithName: Handler = (req, res) => sendJson(res, 200, completion(`seen ${nameOf(req)}`));

async function server(): Promise<TestServer> {
  const s = await startServer(answerWithName);
  servers.push(s);
  return s;
}

/**
 * An uncompressed PNG: every colour gives the same number of bytes, so a file can be changed in
 * place without changing its size.
 */
const png = (r: number) =>
  sharp({ create: { width: 24, height: 16, channels: 3, background: { r, g: 90, b: 200 } } })
    .png({ compressionLevel: 0, adaptiveFiltering: false })
    .toBuffer();

const HOUR_AGO = new Date(Date.now() - 3_600_000);

/** Images last changed an hour ago (a file changed moments before it is read gets no time in its record). */
async function settledImages(dir: string, n: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(dir, `img${i}.png`);
    writeFileSync(f, await png(i * 40));
    utimesSync(f, HOUR_AGO, HOUR_AGO);
    files.push(f);
  }
  return files;
}

const records = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('resume: a done image is skipped by its record without being read; a touched one is read, a changed one redone', async () => {
  const srv = await server();
  const dir = tempDir();
  const files = await settledImages(join(dir, 'p'), 5);
  const [same, swapped, touched, changed, unreadable] = files as [string, string, string, string, string];
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-o', out, '-p', 'describe {name}'];
  const r1 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(srv.requests.length, 5);
  for (const rec of records(out)) {
    const st = statSync(join(dir, rec.image));
    assert.deepEqual([rec.size, rec.mtime_ms], [st.size, Math.floor(st.mtimeMs)], `${rec.image}: size and time recorded`);
  }

  // Other bytes of the same size, its time put back: only a run that reads it could tell.
  writeFileSync(swapped, await png(250));
  assert.equal(statSync(swapped).size, statSync(same).size);
  utimesSync(swapped, HOUR_AGO, HOUR_AGO);
  // The same bytes, a new time: read, and still done by its bytes.
  utimesSync(touched, new Date(), new Date(Date.now() - 60_000));
  // Changed in place (same size, new bytes and time): redone.
  writeFileSync(changed, await png(251));
  utimesSync(changed, new Date(), new Date(Date.now() - 60_000));
  // Unreadable (for anyone but root): a done image is not opened at all.
  chmodSync(unreadable, 0o000);
  try {
    const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(srv.requests.slice(5).map(nameOf), ['img3.png'], 'only the image changed in place is sent again');
    assert.match(r2.stderr, /1 ok, 0 failed, 4 skipped \(4 already done\)/);
  } finally {
    chmodSync(unreadable, 0o644);
  }
  const redone = records(out).at(-1);
  assert.equal(redone.image, 'p/img3.png');
  assert.equal(redone.mtime_ms, Math.floor(statSync(changed).mtimeMs));
});

test('resume: records without size and time (older runs) still resume by content', async () => {
  const srv = await server();
  const dir = tempDir();
  const files = await settledImages(join(dir, 'p'), 3);
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-o', out, '-p', 'describe {name}'];
  assert.equal((await run(args, { cwd: dir, env: relayEnv(srv.url) })).code, 0);
  // as imgdesc wrote them before records named size and time
  const old = records(out).map(({ size: _s, mtime_ms: _m, ...rest }) => JSON.stringify(rest));
  writeFileSync(out, old.join('\n') + '\n');
  // Other bytes, same size and time: without a stamp in its record it is read, and redone.
  writeFileSync(files[1] as string, await png(250));
  utimesSync(files[1] as string, HOUR_AGO, HOUR_AGO);

  const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(srv.requests.slice(3).map(nameOf), ['img1.png']);
  assert.match(r2.stderr, /1 ok, 0 failed, 2 skipped \(2 already done\)/);
  assert.equal(typeof records(out).at(-1).mtime_ms, 'number', 'the redone record names its time');
});

test('resume: a file changed moments before it was read gets no time in its record, and a rerun reads it', async () => {
  const srv = await server();
  const dir = tempDir();
  mkdirSync(join(dir, 'p'));
  const fresh = join(dir, 'p', 'new.png');
  writeFileSync(fresh, await png(10));
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-o', out, '-p', 'describe {name}'];
  assert.equal((await run(args, { cwd: dir, env: relayEnv(srv.url) })).code, 0);
  const [rec] = records(out);
  assert.equal(rec.size, undefined);
  assert.equal(rec.mtime_ms, undefined);
  assert.equal(typeof rec.sha256, 'string');
  const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(srv.requests.length, 1, 'done by its bytes');
  assert.match(r2.stderr, /0 ok, 0 failed, 1 skipped \(1 already done\)/);
});

test('resume: checks that come before it still do: a done image whose sidecar became a planted link is refused, not skipped', async () => {
  const srv = await server();
  const dir = tempDir();
  await settledImages(join(dir, 'p'), 3);
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-o', out, '--sidecar', '-p', 'describe {name}'];
  assert.equal((await run(args, { cwd: dir, env: relayEnv(srv.url) })).code, 0);
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'keep me');
  rmSync(join(dir, 'p', 'img1.txt'));
  symlinkSync(victim, join(dir, 'p', 'img1.txt'));
  const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 5, r2.stderr);
  assert.equal(srv.requests.length, 3, 'nothing sent');
  const last = records(out).at(-1);
  assert.equal(last.image, 'p/img1.png');
  assert.equal(last.error.code, 'refused-file');
  assert.equal(readFileSync(victim, 'utf8'), 'keep me');
  assert.match(r2.stderr, /0 ok, 1 failed, 2 skipped \(2 with a sidecar\)/);
});
