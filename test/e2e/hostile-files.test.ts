// Files imgdesc writes (issue 19, item 6): a planted link or a file imgdesc did not write is
// refused, naming it, with nothing read through it or written to it; --embed never changes a photo
// without a backup of its current bytes; a lock naming a live process that is not imgdesc is stale.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function relay(): Promise<TestServer> {
  const s = await startServer((_req, res) => sendJson(res, 200, completion('A red square.')));
  servers.push(s);
  return s;
}

async function png(path: string, shade = 200): Promise<Buffer> {
  const buf = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 30, b: 30 } } })
    .png()
    .toBuffer();
  writeFileSync(path, buf);
  return buf;
}

/** A dataset folder with one photo, and a victim's private file beside it. */
async function scene(): Promise<{ dir: string; ds: string; victim: string }> {
  const dir = tempDir();
  const ds = join(dir, 'ds');
  mkdirSync(ds);
  mkdirSync(join(dir, 'victim'));
  const victim = join(dir, 'victim', 'secret');
  writeFileSync(victim, '{"file_name":"x.png","text":"private line"}\n');
  chmodSync(victim, 0o600);
  await png(join(ds, 'photo.png'));
  return { dir, ds, victim };
}

const records = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('a sidecar that is a planted link is refused naming it, in every --existing mode; nothing is sent for it', async () => {
  const s = await relay();
  for (const mode of ['skip', 'append', 'overwrite']) {
    const { ds, victim } = await scene();
    symlinkSync(victim, join(ds, 'photo.txt'));
    s.requests.length = 0;
    const r = await run(['batch', ds, '--sidecar', '--existing', mode], { env: relayEnv(s.url) });
    assert.equal(r.code, 5, `${mode}: ${r.stderr}`);
    assert.match(r.stderr, /photo\.txt is a symbolic link; imgdesc does not read or write through links/);
    const [rec] = records(r.stdout);
    assert.equal(rec.ok, false);
    assert.equal(rec.error.code, 'refused-file');
    assert.equal(s.requests.length, 0, 'nothing sent for it');
    assert.equal(readFileSync(victim, 'utf8'), '{"file_name":"x.png","text":"private line"}\n');
    assert.ok(lstatSync(join(ds, 'photo.txt')).isSymbolicLink(), 'the link is left as it was');
  }
});

test('a sidecar that is a folder or a FIFO is refused', async () => {
  const s = await relay();
  const { ds } = await scene();
  mkdirSync(join(ds, 'photo.txt'));
  const r = await run(['batch', ds, '--sidecar', '--existing', 'overwrite'], { env: relayEnv(s.url) });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /photo\.txt is not a regular file/);
});

test('--hf-metadata: a metadata.jsonl that links elsewhere is refused; the private lines are not copied anywhere', async () => {
  const s = await relay();
  for (const mode of ['skip', 'overwrite']) {
    const { ds, victim } = await scene();
    symlinkSync(join('..', 'victim', 'secret'), join(ds, 'metadata.jsonl'));
    const r = await run(['batch', ds, '--hf-metadata', '--existing', mode], { env: relayEnv(s.url) });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /metadata\.jsonl is a symbolic link/);
    assert.ok(lstatSync(join(ds, 'metadata.jsonl')).isSymbolicLink());
    assert.equal(statSync(victim).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(ds).sort(), ['metadata.jsonl', 'photo.png']);
  }
});

test('--xmp: an XMP sidecar that is a planted link is refused', async () => {
  const s = await relay();
  const { ds, victim } = await scene();
  symlinkSync(victim, join(ds, 'photo.png.xmp'));
  const r = await run(['batch', ds, '--xmp', '--existing', 'overwrite'], { env: relayEnv(s.url) });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /photo\.png\.xmp is a symbolic link/);
  assert.equal(readFileSync(victim, 'utf8'), '{"file_name":"x.png","text":"private line"}\n');
});

test('-o: a link, a folder, a PNG or a text file is refused with exit 2 and left as it was', async () => {
  const s = await relay();
  const { dir, ds, victim } = await scene();
  symlinkSync(victim, join(dir, 'link.jsonl'));
  mkdirSync(join(dir, 'folder.jsonl'));
  const pngBytes = await png(join(dir, 'picture.png'), 10);
  writeFileSync(join(dir, 'notes.txt'), 'my notes\nsecond line\n');
  for (const [out, message] of [
    ['link.jsonl', /-o link\.jsonl is a symbolic link/],
    ['folder.jsonl', /-o folder\.jsonl/],
    ['picture.png', /-o picture\.png: not imgdesc's results/],
    ['notes.txt', /-o notes\.txt: not imgdesc's results/],
  ] as const) {
    s.requests.length = 0;
    const r = await run(['batch', ds, '-o', out], { env: relayEnv(s.url), cwd: dir });
    assert.equal(r.code, 2, `${out}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(s.requests.length, 0);
  }
  assert.deepEqual(readFileSync(join(dir, 'picture.png')), pngBytes, 'the PNG is not truncated');
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'my notes\nsecond line\n');
  assert.equal(readFileSync(victim, 'utf8'), '{"file_name":"x.png","text":"private line"}\n');
});

test('-o: a torn imgdesc record is repaired; a last line that is not one is refused, not removed', async () => {
  const s = await relay();
  const { dir, ds } = await scene();
  const whole = '{"image":"ds/old.png","ok":true,"content":"x","sha256":null}\n';
  writeFileSync(join(dir, 'torn.jsonl'), `${whole}{"image":"ds/b.png","ok":tr`);
  const r = await run(['batch', ds, '-o', 'torn.jsonl'], { env: relayEnv(s.url), cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /removed an incomplete last line/);
  assert.equal(records(readFileSync(join(dir, 'torn.jsonl'), 'utf8')).length, 2);

  writeFileSync(join(dir, 'mixed.jsonl'), `${whole}somebody else's text`);
  const m = await run(['batch', ds, '-o', 'mixed.jsonl'], { env: relayEnv(s.url), cwd: dir });
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /-o mixed\.jsonl: its last line is not an imgdesc record/);
  assert.equal(readFileSync(join(dir, 'mixed.jsonl'), 'utf8'), `${whole}somebody else's text`);
});

test('-o /dev/null (a device) is still fine', async () => {
  const s = await relay();
  const { ds } = await scene();
  const r = await run(['batch', ds, '-o', '/dev/null'], { env: relayEnv(s.url) });
  assert.equal(r.code, 0, r.stderr);
});

test('--sidecar with an image extension is refused', async () => {
  const s = await relay();
  const { ds } = await scene();
  for (const ext of ['jpg', '.PNG', 'dng']) {
    const r = await run(['batch', ds, '--sidecar', ext], { env: relayEnv(s.url) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--sidecar .*: an image extension/);
  }
  assert.equal(s.requests.length, 0);
});

test('--embed with an existing photo.jpg_original keeps a new backup of the current bytes', async () => {
  const s = await relay();
  const dir = tempDir();
  const jpg = join(dir, 'a.jpg');
  const current = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .jpeg()
    .toBuffer();
  writeFileSync(jpg, current);
  writeFileSync(`${jpg}_original`, 'planted, not the photo');
  const r = await run(['batch', jpg, '--embed'], { env: relayEnv(s.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(`${jpg}_original`, 'utf8'), 'planted, not the photo');
  assert.deepEqual(readFileSync(`${jpg}_original.1`), current, 'the current bytes are backed up under a new name');
  assert.notDeepEqual(readFileSync(jpg), current, 'the photo got its description');
});

test('a lock naming PID 1 (not imgdesc) does not block a batch', async () => {
  const s = await relay();
  const { dir, ds } = await scene();
  writeFileSync(join(dir, '.r.jsonl.lock'), '1\n');
  const r = await run(['batch', ds, '-o', 'r.jsonl'], { env: relayEnv(s.url), cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(join(dir, '.r.jsonl.lock')), false);
});
