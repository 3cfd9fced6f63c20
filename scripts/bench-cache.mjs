// What the answer cache and the history cost a batch: `npm run bench -- cache` (after `npm run build`).
// Prints figures, asserts nothing. Talks only to a relay it starts on 127.0.0.1, which answers at once.
//
//   1. CPU time (user+sys of the imgdesc process) per image of one batch of misses, -c 16:
//      `--no-cache --no-log` (as before the cache existed) against the defaults (every answer looked
//      up, stored and logged), in alternating rounds; the ratio of the two (issue #22: ≤ 1.10).
//      And each alone, to tell their shares apart: the cache without the history (`--no-log`) and
//      the history without the cache (`--no-cache`).
//   2. The same batch again over the same folder: every answer from the cache (issue #22: a batch of
//      5,000 all-hits finishes in a few seconds). Wall time and CPU.
//   3. With BENCH_BEFORE=<a checkout built before the cache, e.g. c3cf526>: that build's batch in each
//      round too, and the ratio against it: the issue's own "today's".
// BENCH_CACHE_IMAGES (default 5000) distinct photo-like JPEGs of a few kB (256x192; BENCH_CACHE_WIDTH
// for wider, e.g. 800: 800x600, as the request bench's photo); BENCH_CACHE_ROUNDS (default 3).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtBin, completionBody, listenLocal, median } from './bench-relay.mjs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const BIN = builtBin();
if (!existsSync('/usr/bin/time')) {
  console.log('cache: /usr/bin/time is missing (it measures the CPU time of the process): skipped');
  process.exit(0);
}
const N = Number(process.env.BENCH_CACHE_IMAGES ?? 5000);
const ROUNDS = Number(process.env.BENCH_CACHE_ROUNDS ?? 3);
// "Within 10% of today's": BENCH_BEFORE=<a checkout built before the cache existed> adds that
// build's batch (it knows no --no-cache) to each round, and the ratio against it.
const BEFORE = process.env.BENCH_BEFORE ? join(resolve(process.env.BENCH_BEFORE), 'bin', 'imgdesc.js') : undefined;
const work = mkdtempSync(join(tmpdir(), 'imgdesc-bench-cache-'));

function startRelay() {
  const body = completionBody('A blurred grey texture, like fog over wet sand.', {
    usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 },
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  return listenLocal(server);
}

/** One imgdesc run under /usr/bin/time: wall ms and CPU ms (user+sys). */
function measured(args, env, bin = BIN) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, bin, ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      if (code !== 0 || !m) return reject(new Error(`imgdesc ${args.join(' ')}: exit ${code}\n${stderr.slice(-800)}`));
      resolve({ ms, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 });
    });
  });
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// Photo-like: noise blurred into soft shapes, 256x192 (or BENCH_CACHE_WIDTH wide, 4:3), a few kB each, every one different (the
// texture shifted and tinted per image; made once, encoded per image).
const dir = join(work, 'photos');
mkdirSync(dir);
const made = performance.now();
const W = Number(process.env.BENCH_CACHE_WIDTH ?? 256);
const H = Math.round((W * 3) / 4);
const texture = await sharp({ create: { width: W * 2, height: H * 2, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
  .blur(4)
  .raw()
  .toBuffer();
const pixels = Buffer.alloc(W * H * 3);
for (let i = 0; i < N; i++) {
  const dx = (i * 7) % W;
  const dy = Math.floor(i / W) % H;
  for (let y = 0; y < H; y++) {
    const from = ((y + dy) * W * 2 + dx) * 3;
    texture.copy(pixels, y * W * 3, from, from + W * 3);
  }
  for (let p = 0; p < pixels.length; p += 3) pixels[p] = (pixels[p] + i) & 255;
  const jpeg = await sharp(pixels, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 75 })
    .toBuffer();
  writeFileSync(join(dir, `IMG_${String(i).padStart(5, '0')}.jpg`), jpeg);
}
const relay = await startRelay();
const env = (home) => ({
  PATH: process.env.PATH,
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_CACHE_HOME: join(home, 'cache'),
  XDG_STATE_HOME: join(home, 'state'),
  TERM: 'dumb',
  IMGDESC_BASE_URL: relay.url,
  IMGDESC_TOKEN: 'sk-bench-0123456789abcdef',
  IMGDESC_MODEL: 'claude-sonnet-4-5-20250929',
});
console.log(
  `## answer cache: ${N.toLocaleString('en-US')} distinct JPEGs (${W}x${H}, ${((performance.now() - made) / 1000).toFixed(0)} s to make), batch -c 16, relay on 127.0.0.1 answering at once; ${ROUNDS} rounds, medians`,
);
console.log(`load average before: ${load()}`);

const plain = [];
const cached = [];
const cacheOnly = [];
const logOnly = [];
const before = [];
const ratios = [];
const hits = [];
let runs = 0;
const fresh = () => {
  const home = join(work, `home-${runs++}`);
  mkdirSync(home);
  return home;
};
for (let r = 0; r < ROUNDS; r++) {
  // alternating (which one goes first too), so that the machine's noise falls on both alike
  const order = [...(BEFORE ? ['before'] : []), 'plain', 'cacheOnly', 'logOnly', 'cache'];
  if (r % 2) order.reverse();
  const got = {};
  for (const which of order) {
    const home = fresh();
    const extra = { plain: ['--no-cache', '--no-log'], cacheOnly: ['--no-log'], logOnly: ['--no-cache'] }[which] ?? [];
    const args = ['batch', dir, '-c', '16', '-q', ...extra, '-o', join(home, 'out.jsonl')];
    got[which] = await measured(args, env(home), which === 'before' ? BEFORE : BIN);
    if (which === 'cache') {
      // the same batch again, over the same folder and cache: every answer from the cache
      hits.push(await measured(['batch', dir, '-c', '16', '-q', '-o', join(home, 'again.jsonl')], env(home)));
    }
    // Kept until the end (work is removed then): removing a run's few hundred files just before the
    // next run makes ext4 pass over the inodes it freed moments ago (recently_deleted) for each file
    // that run creates, ~1 ms a file here, which charged the cache's first 272 files to the variant
    // that creates them (1.183× against 1.122× when nothing was removed between runs, 8 rounds of
    // 2,000 images).
  }
  plain.push(got.plain.cpuMs);
  cached.push(got.cache.cpuMs);
  cacheOnly.push(got.cacheOnly.cpuMs);
  logOnly.push(got.logOnly.cpuMs);
  ratios.push(got.cache.cpuMs / got.plain.cpuMs);
  if (BEFORE) before.push(got.before.cpuMs);
}
const perImage = (ms) => `${((ms / N) * 1000).toFixed(0)} µs`;
const rows = [
  ['CPU per image, misses, --no-cache --no-log', perImage(median(plain)), plain.map((m) => (m / 1000).toFixed(2)).join(' / ') + ' s'],
  ['CPU per image, misses, cache and history on', perImage(median(cached)), cached.map((m) => (m / 1000).toFixed(2)).join(' / ') + ' s'],
  [
    'ratio (cache on / off), of the medians',
    `${(median(cached) / median(plain)).toFixed(3)}×`,
    `per round ${ratios.map((x) => x.toFixed(3)).join(' / ')} (median ${median(ratios).toFixed(3)}×); target ≤ 1.10`,
  ],
  ...[
    ['the cache alone (--no-log)', cacheOnly],
    ['the history alone (--no-cache)', logOnly],
  ].map(([what, ms]) => [
    `CPU per image, misses, ${what}`,
    perImage(median(ms)),
    `${(median(ms) / median(plain)).toFixed(3)}× of --no-cache --no-log; ${ms.map((m) => (m / 1000).toFixed(2)).join(' / ')} s`,
  ]),
  ...(BEFORE
    ? [
        [
          'CPU per image, misses, the build before the cache',
          perImage(median(before)),
          before.map((m) => (m / 1000).toFixed(2)).join(' / ') + ' s',
        ],
        [
          'ratio (cache on / the build before it)',
          `${(median(cached) / median(before)).toFixed(3)}×`,
          `per round ${cached.map((c, i) => (c / before[i]).toFixed(3)).join(' / ')}; target ≤ 1.10`,
        ],
      ]
    : []),
  [
    `the same ${N.toLocaleString('en-US')} again, all from the cache: wall`,
    `${(median(hits.map((h) => h.ms)) / 1000).toFixed(2)} s`,
    `${hits.map((h) => (h.ms / 1000).toFixed(2)).join(' / ')} s; CPU ${perImage(median(hits.map((h) => h.cpuMs)))} per image; target: a few seconds`,
  ],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
console.log(`load average after: ${load()} (2 cores: wall times stretch with it; CPU times much less)`);
await relay.close();
rmSync(work, { recursive: true, force: true });
