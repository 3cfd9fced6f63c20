// Batch throughput under repeated 429 windows: `node scripts/bench-ratelimit.mjs [images]` after
// `npm run build`. Prints figures, asserts nothing; talks only to a server it starts on 127.0.0.1.
// The same batch (default 1,500 small PNGs, -c 4, 20 ms per answer) runs twice: against a relay that
// always answers, and against one that answers 429 (no Retry-After) for 1.5 s of every 5 s.
// Target (issue #9): the second at most 2× the first, and no image failed.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'imgdesc.js');
if (!existsSync(join(ROOT, 'dist', 'main.js'))) {
  console.error('run `npm run build` first');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 1500);
const work = mkdtempSync(join(tmpdir(), 'imgdesc-bench-429-'));
const dir = join(work, 'p');
mkdirSync(dir);
for (let i = 0; i < N; i++) {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i % 256, g: (i >> 8) * 40, b: 7 } } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, `i${i}.png`), png);
}
const body = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'A small dark square on a plain background.' }, finish_reason: 'stop' }],
  usage: { total_tokens: 3 },
});

async function trial(windowMs, periodMs) {
  const t0 = Date.now();
  let limited = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        if ((Date.now() - t0) % periodMs < windowMs) {
          limited++;
          res.writeHead(429, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"rate limited","type":"rate_limit_error"}}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }, 20),
    );
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'cfg'),
    XDG_CACHE_HOME: join(work, 'cache'),
    IMGDESC_BASE_URL: `http://127.0.0.1:${server.address().port}`,
    IMGDESC_TOKEN: 'sk-bench-0123456789',
    IMGDESC_MODEL: 'bench-model',
  };
  const started = Date.now();
  const stdout = await new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'batch', dir, '-c', '4', '-q'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
  });
  const ms = Date.now() - started;
  server.closeAllConnections();
  server.close();
  const recs = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { ms, ok: recs.filter((r) => r.ok).length, failed: recs.filter((r) => !r.ok).length, limited };
}

const plain = await trial(0, 1);
const windows = await trial(1500, 5000);
const row = (name, t) =>
  console.log(
    `${name.padEnd(34)} ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.ok} ok, ${t.failed} failed, ${t.limited} answers were 429`,
  );
console.log(`${N} images, -c 4, 20 ms per answer`);
row('relay always answers', plain);
row('429 for 1.5 s of every 5 s', windows);
console.log(`ratio ${(windows.ms / plain.ms).toFixed(2)}× (target ≤ 2×, no image failed)`);
