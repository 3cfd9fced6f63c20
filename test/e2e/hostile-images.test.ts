// Issue #19 items 3 and 4 end to end: bombs are exit 2 for describe and a failed item for batch
// (the others go on); an image that takes too long to prepare is stopped at --prepare-timeout.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { pngBomb, svgBlurBomb } from '../helpers/bombs.ts';

// The blur SVG takes seconds to render, in a process of its own that burns CPU until the deadline
// kills it: where it is the only image, a short --prepare-timeout (0.2 s) proves the same and burns
// less (the batch keeps 0.5 s: its fine image is prepared within the same deadline).
let server: TestServer;
const dir = tempDir('imgdesc-hostile-img-');
before(async () => {
  server = await startServer((_req, res) => sendJson(res, 200, completion('A grey square.')));
  writeFileSync(join(dir, 'bomb.png'), pngBomb({ width: 100000, height: 100000 }));
  writeFileSync(join(dir, 'blur.svg'), svgBlurBomb(20));
  writeFileSync(
    join(dir, 'fine.png'),
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

test('describe: a 100000x100000 PNG bomb is exit 2 with one line, nothing sent', async () => {
  const r = await run(['bomb.png'], { cwd: dir, env: relayEnv(server.url) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: bomb\.png: 100000x100000 PNG has more pixels than imgdesc decodes \(268 megapixels\)$/m);
  assert.equal(server.requests.length, 0);
});

test('batch: the bomb and an SVG past --prepare-timeout fail; the fine image is described', async () => {
  server.requests.length = 0;
  const r = await run(['batch', 'bomb.png', 'blur.svg', 'fine.png', '--prepare-timeout', '0.5'], { cwd: dir, env: relayEnv(server.url) });
  assert.equal(r.code, 5, r.stderr);
  const records = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { image: string; ok: boolean; error?: { message: string } });
  const by = Object.fromEntries(records.map((x) => [x.image, x]));
  assert.equal(by['fine.png']?.ok, true);
  assert.match(by['bomb.png']?.error?.message ?? '', /more pixels than imgdesc decodes/);
  assert.match(by['blur.svg']?.error?.message ?? '', /preparing it took longer than 0\.5 s \(--prepare-timeout\); stopped/);
  assert.equal(server.requests.length, 1);
});

test('prepare-timeout is a profile key too, and 0 turns the deadline off', async () => {
  const home = tempDir('imgdesc-cfg-');
  const set = await run(['config', 'set', 'prepare-timeout', '0.2'], { configHome: home });
  assert.equal(set.code, 0, set.stderr);
  const r = await run(['blur.svg', '--dry-run'], { cwd: dir, configHome: home, env: relayEnv(server.url) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /blur\.svg: preparing it took longer than 0\.2 s \(--prepare-timeout\); stopped/);
  const bad = await run(['fine.png', '--prepare-timeout', '-1'], { cwd: dir, env: relayEnv(server.url) });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /prepare-timeout/);
});

test('report: a bomb gets "image too large for a preview", the page is still written', async () => {
  const results = join(dir, 'results.jsonl');
  writeFileSync(results, `${JSON.stringify({ image: 'bomb.png', ok: true, content: 'x' })}\n`);
  const out = join(dir, 'report.html');
  const r = await run(['report', results, '-o', out], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const { readFileSync } = await import('node:fs');
  assert.match(readFileSync(out, 'utf8'), /image too large for a preview/);
});
