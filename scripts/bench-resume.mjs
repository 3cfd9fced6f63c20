// Resuming a big batch (issue #23 item 5): `node scripts/bench-resume.mjs` after `npm run build`,
// or `npm run bench -- resume`. Prints figures, asserts nothing. Talks only to a server it starts on
// 127.0.0.1.
//
// A folder of 100,000 small done images and 10 new ones, and a results file holding an ok record
// for each done image (as `imgdesc batch -o` writes them, a few hundred characters of description
// each). `imgdesc batch <folder> -o results.jsonl -v` runs against a relay that answers at once;
// printed per run: the time from the start of the process to the -v line that follows the file
// listing ("N image(s), concurrency …"), to the first request the relay sees, to the exit, and the
// peak RSS. A fresh run over the same folder (no results file; stopped at its first request) shows
// what the listing alone costs.
//
// BENCH_BEFORE=<another checkout, built> runs that checkout's imgdesc on the same files, side by
// side (for example the commit this work started from:
//   mkdir /tmp/before && git archive <commit> | tar -x -C /tmp/before &&
//   ln -s "$PWD/node_modules" /tmp/before/ && (cd /tmp/before && node scripts/build.mjs)).
// BENCH_RESUME_DONE (default 100000) and BENCH_RUNS (default 3) change the size and the runs;
// BENCH_RESUME_DATA=<folder> keeps the files there and uses them again on the next run (making
// 100,000 files takes minutes on a busy disk).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { completionBody, listenLocal, median } from './bench-relay.mjs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
delete process.env.NODE_EXTRA_CA_CERTS;
const builds = [['after', join(ROOT, 'bin', 'imgdesc.js')]];
if (process.env.BENCH_BEFORE) builds.unshift(['before', join(resolve(process.env.BENCH_BEFORE), 'bin', 'imgdesc.js')]);
for (const [, bin] of builds) {
  if (!existsSync(join(bin, '..', '..', 'dist', 'main.js'))) {
    console.error(`${bin}: no build next to it (run \`npm run build\` there first)`);
    process.exit(1);
  }
}
const DONE = Number(process.env.BENCH_RESUME_DONE ?? 100_000);
const NEW = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const kept = process.env.BENCH_RESUME_DATA ? resolve(process.env.BENCH_RESUME_DATA) : undefined;
const work = kept ?? mkdtempSync(join(tmpdir(), 'imgdesc-bench-resume-'));
const dir = join(work, 'imgs');
const results = join(work, 'results.base.jsonl');
const made = join(work, `made-${DONE}`);
if (!existsSync(made)) await makeFiles();

// --- the files -------------------------------------------------------------------------------------
async function makeFiles() {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const name = (i) => `img-${String(i).padStart(6, '0')}.jpg`;
  // One small JPEG, and each done file made distinct by 4 bytes after its end (decoders ignore them).
  const base = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#4a6' } })
    .jpeg({ quality: 70 })
    .toBuffer();
  const words =
    'a the brown white small large dog cat terrier marsh boardwalk sunset beach wet light shadow tree sky cloud water grass road car red blue green window door street person standing sitting near behind with under over'.split(
      ' ',
    );
  const fd = openSync(results, 'w');
  let chunk = '';
  for (let i = 0; i < DONE; i++) {
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(i);
    const bytes = Buffer.concat([base, tail]);
    const file = join(dir, name(i));
    writeFileSync(file, bytes);
    const st = statSync(file);
    let content = '';
    for (let w = 0; w < 90; w++) content += words[(i * 31 + w * 7 + ((w * w) % 13)) % words.length] + ' ';
    chunk +=
      JSON.stringify({
        image: `imgs/${name(i)}`,
        ok: true,
        content: content.trim(),
        model: 'claude-sonnet-4-5-20250929',
        finish_reason: 'stop',
        usage: { prompt_tokens: 1210, completion_tokens: 140, total_tokens: 1350 },
        elapsed_ms: 2100 + (i % 900),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: st.size,
        mtime_ms: Math.floor(st.mtimeMs),
      }) + '\n';
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  writeFileSync(made, '');
}
// The new images come last in the listing: every done one is passed over before the first request.
// Noise, so that no two are the same bytes (the second would be answered from the answer cache).
for (let i = DONE; i < DONE + NEW; i++) {
  const buf = await sharp({ create: { width: 64, height: 48, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 80 })
    .toBuffer();
  writeFileSync(join(dir, `img-${String(i).padStart(6, '0')}.jpg`), buf);
}

// --- the relay -------------------------------------------------------------------------------------
function startRelay() {
  const state = { requests: 0, first: undefined };
  const body = completionBody('A small green rectangle.', { model: 'claude-sonnet-4-5-20250929' });
  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      state.requests++;
      state.first ??= performance.now();
      state.onFirst?.();
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  return listenLocal(server).then((l) => Object.assign(state, l));
}

const env = (url, n) => ({
  PATH: process.env.PATH,
  HOME: work,
  XDG_CONFIG_HOME: join(work, 'cfg'),
  // a fresh answer cache and history each run: every new image is a request
  XDG_CACHE_HOME: join(work, `cache-${n}`),
  XDG_STATE_HOME: join(work, `state-${n}`),
  TERM: 'dumb',
  NO_COLOR: '1',
  IMGDESC_BASE_URL: url,
  IMGDESC_TOKEN: 'sk-bench-0123456789abcdef',
  IMGDESC_MODEL: 'claude-sonnet-4-5-20250929',
});

/** User + system CPU ms of a process so far (Linux /proc; undefined elsewhere). */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [utime, stime] = f
      .slice(f.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 13)
      .map(Number);
    return ((utime + stime) * 1000) / TICKS;
  } catch {
    return undefined;
  }
}
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
/** The process /usr/bin/time started. */
function childOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]);
  } catch {
    return undefined;
  }
}

let runNo = 0;
/**
 * One `imgdesc batch imgs -o <out> -v`: ms from spawn to the line after the listing, to the first
 * request, to the exit; peak RSS. `stopAtFirst` kills it at its first request (the fresh run).
 */
async function once(bin, out, stopAtFirst) {
  const relay = await startRelay();
  const n = runNo++;
  // the fresh run is killed at its first request: node itself, not /usr/bin/time around it
  const hasTime = existsSync('/usr/bin/time') && !stopAtFirst;
  const args = [bin, 'batch', 'imgs', '-o', out, '-v'];
  const t0 = performance.now();
  const child = hasTime
    ? spawn('/usr/bin/time', ['-f', 'peak-kb %M', process.execPath, ...args], {
        cwd: work,
        env: env(relay.url, n),
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(process.execPath, args, { cwd: work, env: env(relay.url, n), stdio: ['ignore', 'ignore', 'pipe'] });
  // CPU time of imgdesc itself at the two moments: the wall times swing with the machine's load
  const pid = () => (hasTime ? childOf(child.pid) : child.pid);
  let cpuListed;
  let cpuFirst;
  relay.onFirst = () => {
    cpuFirst = cpuMs(pid());
    if (stopAtFirst) child.kill('SIGKILL');
  };
  let stderr = '';
  let listed;
  child.stderr.on('data', (c) => {
    stderr += c;
    if (listed === undefined && /image\(s\), concurrency/.test(stderr)) {
      listed = performance.now() - t0;
      cpuListed = cpuMs(pid());
    }
  });
  const code = await new Promise((r) => child.on('close', (c) => r(c)));
  const total = performance.now() - t0;
  await relay.close();
  const peak = /peak-kb (\d+)/.exec(stderr);
  if (!stopAtFirst && (code !== 0 || relay.requests !== NEW))
    console.error(`  (exit ${code}, ${relay.requests} requests)\n${stderr.slice(-800)}`);
  return {
    listed,
    first: relay.first === undefined ? undefined : relay.first - t0,
    total,
    peakMb: peak && !stopAtFirst ? Number(peak[1]) / 1024 : undefined,
    cpuListed,
    cpuGap: cpuFirst !== undefined && cpuListed !== undefined ? cpuFirst - cpuListed : undefined,
    requests: relay.requests,
  };
}

const sec = (ms) => (ms === undefined ? '   —  ' : `${(ms / 1000).toFixed(2)} s`.padStart(7));

console.log(
  `## resume: ${DONE.toLocaleString('en-US')} done images + ${NEW} new, results file ${(statSync(results).size / 1e6).toFixed(0)} MB; node ${process.version}; medians of ${RUNS}`,
);
console.log('  target: first request ≤ 1 s after the listing; issue #23 before: 7–9 s to the first request, peak RSS 266–288 MB');
console.log(
  `  load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )} on ${availableParallelism()} cores; "cpu" columns: imgdesc's own CPU time (user + system) up to the listing, and from it to the 1st request`,
);
const cols = ['listed', '1st req', '1st−listed', 'exit', 'peak RSS', 'cpu→listed', 'cpu→1st'];
console.log(`  ${'build, run'.padEnd(34)} ${cols.map((c) => c.padStart(10)).join(' ')}`);
const rows = builds.map(([label, bin]) => ({ label, bin, fresh: [], resume: [] }));
// Interleaved, so that machine noise hits every build alike.
for (let i = 0; i < RUNS; i++) {
  for (const r of rows) {
    for (const f of ['fresh.jsonl', '.fresh.jsonl.lock']) rmSync(join(work, f), { force: true });
    r.fresh.push(await once(r.bin, 'fresh.jsonl', true));
    copyFileSync(results, join(work, 'results.jsonl'));
    r.resume.push(await once(r.bin, 'results.jsonl', false));
  }
}
for (const r of rows) {
  const line = (what, runs) => {
    const m = (f) => median(runs.map(f));
    const cells = [
      sec(m((x) => x.listed)),
      sec(m((x) => x.first)),
      sec(m((x) => (x.first !== undefined && x.listed !== undefined ? x.first - x.listed : undefined))),
      sec(what === 'resume' ? m((x) => x.total) : undefined),
      ((mb) => (mb === undefined ? '—' : `${mb.toFixed(0)} MB`))(m((x) => x.peakMb)),
      sec(m((x) => x.cpuListed)),
      sec(m((x) => x.cpuGap)),
    ];
    console.log(`  ${`${r.label}, ${what}`.padEnd(34)} ${cells.map((c) => c.trim().padStart(10)).join(' ')}`);
  };
  line('fresh (killed at 1st req)', r.fresh);
  line('resume', r.resume);
}
for (let i = 0; i < runNo; i++) for (const d of [`cache-${i}`, `state-${i}`]) rmSync(join(work, d), { recursive: true, force: true });
for (const f of ['fresh.jsonl', 'results.jsonl', 'cfg']) rmSync(join(work, f), { recursive: true, force: true });
if (!kept) rmSync(work, { recursive: true, force: true });
