// Batch throughput and memory: `node scripts/bench-batch.mjs` after `npm run build`.
// Prints figures, asserts nothing. Talks only to a server it starts on 127.0.0.1.
//   1. 200 small images, server latency 250 ms, -c 8: wall time vs the ideal 200 × 0.25 / 8 = 6.25 s
//   2. a shell loop of single `imgdesc` calls over the same 200 images, against a server answering at once
//   3. peak RSS of the CLI for 1,000 vs 5,000 images at -c 16 against a fast server
//   4. CPU time per image for 5,000 distinct small JPEGs at -c 16 against a fast server, and how many
//      times each image file is opened (with strace, when present)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtBin, completionBody, listenLocal } from './bench-relay.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const BIN = builtBin();
const work = mkdtempSync(join(tmpdir(), 'imgdesc-bench-batch-'));
const TOKEN = 'sk-bench-0123456789abcdef';

function startServer(latencyMs) {
  const state = { requests: 0, inFlight: 0, maxInFlight: 0, latencyMs };
  const body = completionBody('A small grey rectangle.');
  const server = createServer((req, res) => {
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
        state.inFlight--;
      }, state.latencyMs);
    });
  });
  return listenLocal(server).then((l) => Object.assign(state, l));
}

function env(url) {
  return {
    PATH: process.env.PATH,
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'cfg'),
    TERM: 'dumb',
    IMGDESC_BASE_URL: url,
    IMGDESC_TOKEN: TOKEN,
    // a model set, as the relay here lists none to pick from
    IMGDESC_MODEL: 'claude-sonnet-4-5-20250929',
  };
}

/** Runs a command to completion (async, so the in-process server keeps answering). */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) console.error(`${[cmd, ...args].join(' ').slice(0, 120)}: exit ${code}\n${stderr.slice(-600)}`);
      resolve({ code, stderr, ms: performance.now() - started });
    });
  });
}

/** Peak RSS (kB) of the CLI: /usr/bin/time -v when present, else VmHWM polled from /proc. */
async function runMeasured(args, opts) {
  if (existsSync('/usr/bin/time')) {
    const r = await run('/usr/bin/time', ['-v', process.execPath, BIN, ...args], opts);
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const secs = (name) => Number(new RegExp(`${name} time \\(seconds\\): ([\\d.]+)`).exec(r.stderr)?.[1] ?? NaN);
    return { ...r, peakKb: m ? Number(m[1]) : NaN, cpuMs: (secs('User') + secs('System')) * 1000 };
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let stderr = '';
    let peakKb = 0;
    const cpuMs = NaN;
    child.stderr.on('data', (c) => (stderr += c));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {}
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stderr, ms: performance.now() - started, peakKb, cpuMs });
    });
  });
}

async function makeImages(dir, n, distinct) {
  mkdirSync(dir, { recursive: true });
  const base = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } })
    .png()
    .toBuffer();
  for (let i = 0; i < n; i++) {
    let buf = base;
    if (distinct) {
      const c = i % 256;
      buf = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: c, g: (i >> 8) & 255, b: 128 } } })
        .png()
        .toBuffer();
    }
    writeFileSync(join(dir, `img${String(i).padStart(5, '0')}.png`), buf);
  }
}

/** Small distinct JPEGs (a few kB each), as a phone-camera folder shrunk to thumbnails would be. */
async function makeJpegs(dir, n) {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const buf = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: i % 256, g: (i >> 8) & 255, b: 90 } } })
      .jpeg({ quality: 80 })
      .toBuffer();
    writeFileSync(join(dir, `img${String(i).padStart(5, '0')}.jpg`), buf);
  }
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const rows = [];

// 1 + 2: throughput at -c 8 vs single calls
{
  const dir = join(work, 'two-hundred');
  await makeImages(dir, 200, true);
  const srv = await startServer(250);
  const r = await run(process.execPath, [BIN, 'batch', dir, '-c', '8', '-o', join(work, 'out200.jsonl')], { env: env(srv.url) });
  const ideal = (200 * 0.25) / 8;
  rows.push([
    'batch 200 imgs, 250 ms latency, -c 8',
    fmt(r.ms),
    `ideal ${ideal.toFixed(2)} s → ${(r.ms / 1000 / ideal).toFixed(3)}× (target ≤ 1.15×); exit ${r.code}; server max in flight ${srv.maxInFlight}`,
  ]);

  await srv.close();

  const fast = await startServer(0);
  const files = Array.from({ length: 200 }, (_, i) => join(dir, `img${String(i).padStart(5, '0')}.png`));
  const script = `for f in "$@"; do "${process.execPath}" "${BIN}" "$f" > /dev/null || exit 1; done`;
  // its own answer cache: the batch above answered these very images
  const loop = await run('sh', ['-c', script, 'sh', ...files], { env: { ...env(fast.url), XDG_CACHE_HOME: join(work, 'loop-cache') } });
  const rate = files.length / (loop.ms / 1000);
  rows.push([
    `shell loop of single calls, ${files.length} imgs, fast server`,
    fmt(loop.ms),
    `${rate.toFixed(1)} images/s (target ≥ 12); exit ${loop.code}`,
  ]);
  // The same loop starting only node, right after: what this machine allows at the moment.
  const floor = await run('sh', ['-c', `for f in "$@"; do "${process.execPath}" -e 0 > /dev/null || exit 1; done`, 'sh', ...files], {
    env: env(fast.url),
  });
  rows.push([
    `shell loop of \`node -e 0\`, ${files.length} times`,
    fmt(floor.ms),
    `${(files.length / (floor.ms / 1000)).toFixed(1)} starts/s: the loop above is ${(loop.ms / floor.ms).toFixed(2)}× this floor`,
  ]);
  rows.push(['speed-up of batch -c 8 (250 ms) over the loop', `${(loop.ms / r.ms).toFixed(1)}×`, '']);
  await fast.close();
}

// 3: peak memory, 1,000 vs 5,000 images, -c 16, fast server
for (const n of [1000, 5000]) {
  const dir = join(work, `mem-${n}`);
  await makeImages(dir, n, false);
  const srv = await startServer(0);
  // identical images: --no-cache, so that each one is sent (the pipeline's memory is what is measured)
  const r = await runMeasured(['batch', dir, '-c', '16', '--no-cache', '-o', join(work, `mem-${n}.jsonl`)], { env: env(srv.url) });
  rows.push([
    `peak RSS, ${n} images, -c 16, fast server`,
    `${(r.peakKb / 1024).toFixed(0)} MB`,
    `${fmt(r.ms)} wall, ${(n / (r.ms / 1000)).toFixed(0)} img/s; exit ${r.code}; target ≤ 250 MB and flat`,
  ]);
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
}

// 4: CPU per image and file opens per image: 5,000 distinct small JPEGs, fast server
{
  const n = 5000;
  const dir = join(work, 'cpu-jpegs');
  await makeJpegs(dir, n);
  const srv = await startServer(0);
  // without the answer cache and the history (as before they existed), then with them (all misses), then all hits
  const plain = await runMeasured(['batch', dir, '-c', '16', '--no-cache', '--no-log', '-o', join(work, 'cpu-plain.jsonl')], {
    env: env(srv.url),
  });
  const r = await runMeasured(['batch', dir, '-c', '16', '-o', join(work, 'cpu.jsonl')], { env: env(srv.url) });
  rows.push([
    `CPU per image, ${n} distinct JPEGs, -c 16, --no-cache --no-log`,
    `${(plain.cpuMs / n).toFixed(2)} ms`,
    `user+sys ${fmt(plain.cpuMs)}, ${fmt(plain.ms)} wall; exit ${plain.code}`,
  ]);
  rows.push([
    `CPU per image, ${n} distinct JPEGs, -c 16 (cache misses, stored, logged)`,
    `${(r.cpuMs / n).toFixed(2)} ms`,
    `user+sys ${fmt(r.cpuMs)}, ${fmt(r.ms)} wall, ${(n / (r.ms / 1000)).toFixed(0)} img/s; exit ${r.code}; ${((r.cpuMs / plain.cpuMs - 1) * 100).toFixed(1)}% vs --no-cache --no-log (target ≤ 10%); target ≤ 1 ms`,
  ]);
  const hits = await runMeasured(['batch', dir, '-c', '16', '-o', join(work, 'cpu-hits.jsonl')], { env: env(srv.url) });
  rows.push([
    `the same ${n} again: all answered from the cache`,
    fmt(hits.ms),
    `user+sys ${fmt(hits.cpuMs)}, ${(n / (hits.ms / 1000)).toFixed(0)} img/s; exit ${hits.code}; target: a few seconds`,
  ]);
  if (existsSync('/usr/bin/strace')) {
    const sub = join(work, 'cpu-opens');
    mkdirSync(sub);
    for (let i = 0; i < 200; i++) writeFileSync(join(sub, `o${i}.jpg`), readFileSync(join(dir, `img${String(i).padStart(5, '0')}.jpg`)));
    const trace = join(work, 'opens.trace');
    const t = await run(
      '/usr/bin/strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=open,openat',
        '-o',
        trace,
        process.execPath,
        BIN,
        'batch',
        sub,
        '-c',
        '16',
        '-o',
        join(work, 'opens.jsonl'),
      ],
      { env: env(srv.url) },
    );
    const opens = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => l.includes(sub + '/o') && !/= -1 /.test(l)).length;
    rows.push(['image file opens per image (strace, 200 imgs)', (opens / 200).toFixed(2), `exit ${t.code}; target 1`]);
  }
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
}

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`node ${process.version}, ${(await import('node:os')).availableParallelism()} cores\n`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
rmSync(work, { recursive: true, force: true });
