// Manifests stay inside their dataset (issue 19, item 7): a row naming `../../etc/passwd`, an
// absolute path elsewhere or a link out of the folder is a failed item naming the row, with
// nothing read, uploaded or written beside it; --image-root moves the dataset folder and
// --allow-outside-root opts in. URL rows go through the same address checks as every URL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { insideRoot } from '../../src/core/safe-files.ts';

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function relay(): Promise<TestServer> {
  const s = await startServer((_req, res) => sendJson(res, 200, completion('A red square.')));
  servers.push(s);
  return s;
}

async function png(path: string): Promise<void> {
  const buf = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();
  writeFileSync(path, buf);
}

/** work/ds/{rows.csv,in.png,escape.png -> ../private/secret.png}, work/private/secret.png */
async function dataset(rows: string[]): Promise<{ work: string; ds: string; secret: string }> {
  const work = tempDir();
  const ds = join(work, 'ds');
  mkdirSync(ds);
  mkdirSync(join(work, 'private'));
  const secret = join(work, 'private', 'secret.png');
  await png(secret);
  await png(join(ds, 'in.png'));
  mkdirSync(join(ds, 'sub'));
  await png(join(ds, 'sub', 'deeper.png'));
  symlinkSync(secret, join(ds, 'escape.png'));
  writeFileSync(join(ds, 'rows.csv'), ['image', ...rows.map((r) => r.replace('SECRET', secret))].join('\n') + '\n');
  return { work, ds, secret };
}

/** The records, in image order (they are written as they finish). */
const records = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l))
    .sort((a, b) => String(a.image).localeCompare(String(b.image)));

test('insideRoot: one line per case', () => {
  assert.equal(insideRoot('/d/ds/a.png', '/d/ds'), true);
  assert.equal(insideRoot('/d/ds/sub/a.png', '/d/ds'), true);
  assert.equal(insideRoot('/d/ds', '/d/ds'), true);
  assert.equal(insideRoot('/d/ds2/a.png', '/d/ds'), false);
  assert.equal(insideRoot('/d/a.png', '/d/ds'), false);
  assert.equal(insideRoot('/etc/passwd', '/d/ds'), false);
  assert.equal(insideRoot('/d/ds/..a.png', '/d/ds'), true);
});

test('rows outside the dataset fail naming the row; nothing of them is read, sent or written', async () => {
  const s = await relay();
  const { work, ds } = await dataset(['in.png', '../../../../../../etc/passwd', 'SECRET', 'escape.png', 'sub/deeper.png']);
  const r = await run(['batch', '--no-cache', '--manifest', 'ds/rows.csv', '--sidecar'], { env: relayEnv(s.url), cwd: work });
  assert.equal(r.code, 5, r.stderr);
  const recs = records(r.stdout);
  assert.deepEqual(
    recs.map((x) => [x.image, x.ok, x.error?.code ?? null]),
    [
      ['../../../../../etc/passwd', false, 'outside-root'],
      [join(work, 'private', 'secret.png'), false, 'outside-root'],
      ['ds/escape.png', false, 'outside-root'],
      ['ds/in.png', true, null],
      ['ds/sub/deeper.png', true, null],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
  assert.match(
    r.stderr,
    /ds\/rows\.csv:3: \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd is outside the dataset folder .*ds; nothing was read \(--allow-outside-root allows it\)/,
  );
  assert.match(r.stderr, /ds\/rows\.csv:5: ds\/escape\.png is outside the dataset folder/);
  assert.equal(s.requests.length, 2, 'only the two rows inside were sent');
  assert.equal(existsSync(join(work, 'private', 'secret.txt')), false, 'no sidecar written outside');
  assert.equal(existsSync(join(ds, 'escape.txt')), false);
});

test('--allow-outside-root reads them; --image-root moves the dataset folder', async () => {
  const s = await relay();
  const { work } = await dataset(['in.png', 'SECRET', 'escape.png']);
  const r = await run(['batch', '--no-cache', '--manifest', 'ds/rows.csv', '--allow-outside-root'], { env: relayEnv(s.url), cwd: work });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.requests.length, 3);

  writeFileSync(join(work, 'rows.csv'), 'image\nds/in.png\nprivate/secret.png\n');
  const inRoot = await run(['batch', '--no-cache', '--manifest', 'rows.csv', '--image-root', 'ds'], { env: relayEnv(s.url), cwd: work });
  assert.equal(inRoot.code, 5, inRoot.stderr);
  assert.deepEqual(
    records(inRoot.stdout).map((x) => [x.image, x.ok]),
    [
      ['ds/ds/in.png', false],
      ['ds/private/secret.png', false],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    'relative to the image root (which has no ds/ inside: not found)',
  );
  writeFileSync(join(work, 'rows2.csv'), 'image\nin.png\n../private/secret.png\n');
  const root = await run(['batch', '--no-cache', '--manifest', 'rows2.csv', '--image-root', 'ds'], { env: relayEnv(s.url), cwd: work });
  assert.equal(root.code, 5, root.stderr);
  assert.deepEqual(
    records(root.stdout).map((x) => [x.image, x.ok, x.error?.code ?? null]),
    [
      ['ds/in.png', true, null],
      ['private/secret.png', false, 'outside-root'],
    ],
  );
});

test('map: rows on stdin stay inside the current folder unless --allow-outside-root', async () => {
  const s = await relay();
  const { ds, secret } = await dataset([]);
  const rows = [JSON.stringify({ image: 'in.png' }), JSON.stringify({ image: secret })].join('\n');
  const r = await run(['map', '--no-cache'], { env: relayEnv(s.url), cwd: ds, input: rows });
  assert.equal(r.code, 5, r.stderr);
  assert.deepEqual(
    r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((x) => [x.ok, x.error?.code ?? null]),
    [
      [true, null],
      [false, 'outside-root'],
    ],
    'map writes in input order',
  );
  const allowed = await run(['map', '--no-cache', '--allow-outside-root'], { env: relayEnv(s.url), cwd: ds, input: rows });
  assert.equal(allowed.code, 0, allowed.stderr);
});

test('--image-root and --allow-outside-root go with --manifest', async () => {
  const r = await run(['batch', 'x.png', '--image-root', 'ds']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--image-root goes with --manifest/);
});

test('a URL row goes through the address checks of every URL: loopback is refused by default', async () => {
  const s = await relay();
  const { work, ds } = await dataset([]);
  writeFileSync(join(ds, 'urls.csv'), `image\n${s.url}/img.png\n`);
  const r = await run(['batch', '--no-cache', '--manifest', 'ds/urls.csv'], { env: relayEnv(s.url), cwd: work });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1/);
  assert.equal(s.requests.filter((q) => q.url.endsWith('/img.png')).length, 0, 'the URL was not fetched');
});
