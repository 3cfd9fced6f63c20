// A full answer cache: `npm run bench -- cache-size` (after `npm run build`). Prints figures,
// asserts nothing (issue #22: the cache is bounded, default 500 MB, and reading it must not slow
// a run). The cache (BENCH_CACHE_ANSWERS answers of about 2 KB, default 280,000: about 550 MB, over
// the 500 MiB default) is made once and kept in the temp folder; each case runs on a copy of it:
//   - `imgdesc cache info` and `imgdesc cache prune`: time, CPU and peak memory;
//   - a shell loop of single describes (each a new answer, from a relay on 127.0.0.1 that answers at
//     once): the time of one against an empty cache and against the full one, and what the loop
//     did to the cache's size (each answer trims the file it went to, when that is over its share).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { builtBin, completionBody, listenLocal } from './bench-relay.mjs';

const BIN = builtBin();
if (!existsSync('/usr/bin/time')) {
  console.log('cache-size: /usr/bin/time is missing (it measures CPU and memory): skipped');
  process.exit(0);
}
delete process.env.NODE_EXTRA_CA_CERTS;
const N = Number(process.env.BENCH_CACHE_ANSWERS ?? 280_000);
const LOOP = Number(process.env.BENCH_CACHE_LOOP ?? 20);
const base = join(tmpdir(), 'imgdesc-bench-cache-size', `${N}-v1`);
const answers = join(base, 'imgdesc', 'answers');

if (!existsSync(answers)) {
  // the lines as the cache writes them (version 3), 256 files by the key's first byte, used a month ago
  const tmp = `${answers}.${process.pid}.tmp`;
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const text = 'A brown terrier stands on a wet boardwalk at sunset, its fur catching the low orange light. '.repeat(18);
  const t0 = Date.now() - 30 * 86_400_000;
  const files = new Map();
  const flush = (b, lines) => {
    let fd = files.get(b);
    if (fd === undefined) files.set(b, (fd = openSync(join(tmp, `${b}.jsonl`), 'a', 0o600)));
    writeSync(fd, lines.join(''));
  };
  const pending = new Map();
  for (let i = 0; i < N; i++) {
    const key = createHash('sha256').update(`bench-${i}`).digest('hex');
    const body = JSON.parse(completionBody(text, { usage: { prompt_tokens: 1200, completion_tokens: 160, total_tokens: 1360 } }));
    const line = `{"key":"${key}","v":3,"at":${t0 + i * 1000},"response":${JSON.stringify({ status: 200, requestId: null, body, elapsedMs: 1500 })}}\n`;
    const b = key.slice(0, 2);
    const lines = pending.get(b) ?? [];
    lines.push(line);
    pending.set(b, lines);
    if (lines.length === 200) {
      flush(b, lines);
      pending.set(b, []);
    }
  }
  for (const [b, lines] of pending) if (lines.length) flush(b, lines);
  for (const fd of files.values()) closeSync(fd);
  mkdirSync(join(base, 'imgdesc'), { recursive: true, mode: 0o700 });
  renameSync(tmp, answers);
}

const relay = await listenLocal(
  createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completionBody('A blurred grey texture, like fog over wet sand.'));
    });
  }),
);
const work = join(tmpdir(), `imgdesc-bench-cache-size-${process.pid}`);
const env = (full) => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'cache'), { recursive: true, mode: 0o700 });
  if (full) cpSync(join(base, 'imgdesc'), join(work, 'cache', 'imgdesc'), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'config'),
    XDG_CACHE_HOME: join(work, 'cache'),
    XDG_STATE_HOME: join(work, 'state'),
    TERM: 'dumb',
    IMGDESC_BASE_URL: relay.url,
    IMGDESC_TOKEN: 'sk-bench-0123456789abcdef',
    IMGDESC_MODEL: 'claude-sonnet-4-5-20250929',
  };
};
/** One imgdesc run under /usr/bin/time: wall ms, CPU ms, peak RSS MB, stdout. */
function measured(args, e) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S %M', process.execPath, BIN, ...args], {
      env: e,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const m = /cpu ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`imgdesc ${args.join(' ')}: exit ${code}\n${err.slice(-600)}`));
      resolve({ ms: performance.now() - t0, cpuMs: (Number(m[1]) + Number(m[2])) * 1000, mb: Number(m[3]) / 1024, out });
    });
  });
}
const info = (e) => JSON.parse(execFileSync(process.execPath, [BIN, 'cache', 'info', '--json'], { env: e, encoding: 'utf8' }));
const image = join(base, 'question.png');
if (!existsSync(image))
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#8888aa' } })
    .png()
    .toFile(image);
const row = (name, r, extra = '') =>
  console.log(
    `  ${name.padEnd(52)} ${r.ms.toFixed(0).padStart(6)} ms  CPU ${r.cpuMs.toFixed(0).padStart(5)} ms  ${r.mb.toFixed(0).padStart(4)} MB  ${extra}`,
  );
const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

console.log(`## a full answer cache: ${N.toLocaleString('en-US')} answers of about 2 KB; load ${loadavg()[0].toFixed(2)} (2 cores)`);
let e = env(true);
const before = info(e);
console.log(
  `  made once (kept in ${base}): ${before.entries.toLocaleString('en-US')} answers, ${mib(before.bytes)} of at most ${mib(before.max_bytes)}`,
);
row('imgdesc cache info', await measured(['cache', 'info'], e));
const loop = async (full) => {
  const ee = env(full);
  const times = [];
  for (let i = 0; i < LOOP; i++) times.push(await measured([image, `question ${i}`], ee));
  times.sort((a, b) => a.ms - b.ms);
  return { median: times[times.length >> 1], after: info(ee) };
};
const empty = await loop(false);
row(`imgdesc <image> "question N", ${LOOP} in a loop, an empty cache (median)`, empty.median);
const full = await loop(true);
row(`the same loop over the full cache (median)`, full.median);
console.log(
  `  after the loop over the full cache: ${full.after.entries.toLocaleString('en-US')} answers, ${mib(full.after.bytes)} (${mib(before.bytes - full.after.bytes)} less: the files the ${LOOP} answers went to, trimmed)`,
);
e = env(true);
const pruned = await measured(['cache', 'prune'], e);
row('imgdesc cache prune', pruned, pruned.out.trim());
rmSync(work, { recursive: true, force: true });
await relay.close();
