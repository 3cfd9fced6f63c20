// Nothing lost, nothing wasted: unwritable folders, full disks, concurrent runs, slow readers.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { noMounts, readOnlyDir } from '../helpers/mounts.ts';

let server: TestServer;
const pngs: Buffer[] = [];
before(async () => {
  server = await startServer((_req, res) => sendJson(res, 200, completion('A small square.')));
  for (let i = 0; i < 4; i++) {
    pngs.push(await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i * 60, g: 10, b: 200 } } }).png().toBuffer());
  }
});
after(() => server.close());

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

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
