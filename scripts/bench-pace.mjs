// Pacing against simulated relays: `node scripts/bench-pace.mjs [options]` after `npm run build`
// (also `npm run bench pace`). Prints figures, asserts nothing; talks only to servers it starts on
// 127.0.0.1. Every row of issue #23's table, at each -c, against a relay that:
//   plain       answers everything (latency lognormal, median 300 ms): the reference
//   rpm         limits requests with a token bucket of 20/s (1200/min, 1 s of burst), 429 with an
//               empty body and no Retry-After (one-api's middleware/rate-limit.go: c.Status(429))
//   rpm-ra      the same bucket, 429 with Retry-After in whole seconds (rounded up) and nothing else
//   rpm-hdr     the same bucket, answered as OpenAI does: retry-after-ms, x-ratelimit-remaining-requests
//               and x-ratelimit-reset-requests on every answer
//   tpm         limits tokens: a bucket of 3,000 tokens/s (180k/min), each request costing its body's
//               length / 4 in tokens, 429 with x-ratelimit-*-tokens headers and Retry-After (OpenAI)
//   tpm-nora    the same bucket, 429 with an empty body and no headers
//   conc        at most 8 requests in flight; the 9th is answered 429 at once, new-api's
//               {"error":{"code":"token_concurrency_limit_reached"}} with no Retry-After
//   conc-ra     the same cap, 429 with Retry-After: 1
//   conc-lag    the same, but a request counts for 20 ms after its answer (new-api releases its
//               lease after the answer is written)
//   win         250 ms answers; 429 for 1.5 s of every 5 s, with Retry-After: 1
//   win-nora    the same windows, no Retry-After, new-api's Chinese body (您已达到请求数限制)
//   outage      10 s of 502/503 every 60 s (the first at 4 s into the run)
//   refused     the relay's port closed (connection refused) for 10 s every 60 s (the first at 4 s)
//   hung        1 request in 500 is never answered (default --timeout)
// Options: --images N (600), --c 4,16,64, --rows a,b,c, --bin path/to/imgdesc.js,
// --limit-s S (kill a run after S seconds, default 900).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { completionBody } from './bench-relay.mjs';
import { seeded } from './seeded.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '600' },
    c: { type: 'string', default: '4,16,64' },
    rows: {
      type: 'string',
      default: 'plain,rpm,rpm-ra,rpm-hdr,tpm,tpm-nora,conc,conc-ra,win-base,win,win-nora,outage,refused,hung',
    },
    bin: { type: 'string', default: join(ROOT, 'bin', 'imgdesc.js') },
    'limit-s': { type: 'string', default: '900' },
    // Extra arguments for every run (e.g. -v), and a folder to keep each run's stderr in.
    extra: { type: 'string', default: '' },
    logs: { type: 'string' },
  },
});
const BIN = args.bin;
if (!existsSync(join(BIN, '..', '..', 'dist', 'main.js'))) {
  console.error('run `npm run build` first');
  process.exit(1);
}
const N = Number(args.images);
const CS = args.c.split(',').map(Number);
const ROWS = args.rows.split(',');
const LIMIT_MS = Number(args['limit-s']) * 1000;
delete process.env.NODE_EXTRA_CA_CERTS;

const work = mkdtempSync(join(tmpdir(), 'imgdesc-bench-pace-'));
const dir = join(work, 'p');
mkdirSync(dir);
for (let i = 0; i < N; i++) {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i % 256, g: (i >> 8) * 40, b: 7 } } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, `i${String(i).padStart(5, '0')}.png`), png);
}

const SIGMA = 0.7;
const lognormal = (random, median) => {
  const u = Math.max(1e-9, random());
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(SIGMA * z);
};
const MEAN_MS = 300 * Math.exp((SIGMA * SIGMA) / 2);
/** 429s "once settled": for requests that reach the relay this long after its first one. */
const SETTLED_MS = 5_000;
/** The 429 windows: WINDOW_MS of every CYCLE_MS, the first WINDOW_AT after the relay's first request. */
const WINDOW_MS = 1_500;
const CYCLE_MS = 5_000;
const WINDOW_AT = 1_000;

const okBody = completionBody('A small dark square on a plain background.', {
  usage: { prompt_tokens: 90, completion_tokens: 10, total_tokens: 100 },
});

function bucket(ratePerS, capacity) {
  let tokens = capacity;
  let at = performance.now();
  return {
    take(cost = 1) {
      const now = performance.now();
      tokens = Math.min(capacity, tokens + ((now - at) / 1000) * ratePerS);
      at = now;
      if (tokens >= cost) {
        tokens -= cost;
        return { ok: true, remaining: Math.floor(tokens), resetMs: 0 };
      }
      return { ok: false, remaining: Math.floor(tokens), resetMs: Math.ceil(((cost - tokens) / ratePerS) * 1000) };
    },
  };
}

/** The relay of one row. Returns {url, stats, close}. */
async function relay(row) {
  const random = seeded(23);
  const stats = { requests: 0, ok: 0, limited: 0, errors: 0, hung: 0, inFlight: 0, maxInFlight: 0 };
  // The relay's own clock: its first request to its last ok answer (the CLI's start is not the
  // relay's limit), and 429s once settled (requests arriving SETTLED_MS after the first).
  stats.firstAt = undefined;
  stats.lastOkAt = undefined;
  stats.settledRequests = 0;
  stats.settledLimited = 0;
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  const rpm = bucket(20, 20);
  const tpm = bucket(3_000, 3_000);
  const hold = new Set();
  const send = (res, status, body, headers = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c) => (size += c.length));
    req.on('end', () => {
      stats.requests++;
      stats.firstAt ??= since();
      const settled = since() - stats.firstAt >= SETTLED_MS;
      if (settled) stats.settledRequests++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      let counted = false;
      const done = () => {
        if (!counted) {
          // new-api releases a request's lease after its answer is written (a Redis round trip):
          // a request sent right after an answer may still find it counted.
          if (row === 'conc-lag') setTimeout(() => stats.inFlight--, 20);
          else stats.inFlight--;
        }
        counted = true;
      };
      res.on('close', done);
      const limited = (body, headers) => {
        stats.limited++;
        if (settled) stats.settledLimited++;
        send(res, 429, body, headers);
      };
      const answer = (ms, headers = {}) =>
        setTimeout(() => {
          stats.ok++;
          stats.lastOkAt = since();
          send(res, 200, okBody, headers);
        }, ms);
      const latency = lognormal(random, 300);
      switch (row) {
        case 'rpm': {
          if (!rpm.take().ok) return limited('');
          return answer(latency);
        }
        case 'rpm-ra': {
          const t = rpm.take();
          if (!t.ok)
            return limited('{"error":{"message":"rate limited"}}', { 'retry-after': String(Math.max(1, Math.ceil(t.resetMs / 1000))) });
          return answer(latency);
        }
        case 'rpm-hdr': {
          const t = rpm.take();
          const h = {
            'x-ratelimit-limit-requests': '1200',
            'x-ratelimit-remaining-requests': String(t.remaining),
            'x-ratelimit-reset-requests': `${Math.max(t.resetMs, 50)}ms`,
          };
          if (!t.ok)
            return limited('{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}', {
              ...h,
              'retry-after-ms': String(t.resetMs),
              'retry-after': String(Math.ceil(t.resetMs / 1000)),
            });
          return answer(latency, h);
        }
        case 'tpm-nora': {
          const cost = Math.ceil(size / 4);
          stats.cost = (stats.cost ?? 0) + cost;
          if (!tpm.take(cost).ok) return limited('');
          return answer(latency);
        }
        case 'tpm': {
          const cost = Math.ceil(size / 4);
          stats.cost = (stats.cost ?? 0) + cost;
          const t = tpm.take(cost);
          const h = {
            'x-ratelimit-limit-tokens': '180000',
            'x-ratelimit-remaining-tokens': String(t.remaining),
            'x-ratelimit-reset-tokens': `${Math.max(t.resetMs, 50)}ms`,
          };
          if (!t.ok)
            return limited('{"error":{"message":"Rate limit reached for tokens","type":"tokens","code":"rate_limit_exceeded"}}', {
              ...h,
              'retry-after': String(Math.ceil(t.resetMs / 1000)),
            });
          return answer(latency, h);
        }
        case 'conc':
        case 'conc-ra':
        case 'conc-lag': {
          if (stats.inFlight > 8) {
            stats.limited++;
            if (settled) stats.settledLimited++;
            return send(
              res,
              429,
              '{"error":{"message":"token_concurrency_limit_reached (request id: 2025112715000012)","type":"new_api_error","code":"token_concurrency_limit_reached"}}',
              row === 'conc-ra' ? { 'retry-after': '1' } : {},
            );
          }
          return answer(latency);
        }
        case 'win':
        case 'win-nora': {
          if ((since() - stats.firstAt - WINDOW_AT + CYCLE_MS) % CYCLE_MS < WINDOW_MS) {
            if (row === 'win') return limited('{"error":{"message":"rate limited","type":"rate_limit_error"}}', { 'retry-after': '1' });
            return limited(
              '{"error":{"message":"您已达到请求数限制：1分钟内最多请求60次 (request id: 2025112715000012)","type":"new_api_error","code":""}}',
            );
          }
          return answer(250);
        }
        case 'win-base':
          return answer(250);
        case 'outage': {
          const t = since() % 60_000;
          if (t >= 4000 && t < 14_000) {
            stats.errors++;
            return send(res, random() < 0.5 ? 502 : 503, '<html><body><h1>502 Bad Gateway</h1></body></html>', {
              'content-type': 'text/html',
            });
          }
          return answer(latency);
        }
        case 'hung': {
          if (stats.requests % 500 === 250) {
            stats.hung++;
            hold.add(res);
            return;
          }
          return answer(latency);
        }
        default:
          return answer(latency);
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  let timer;
  if (row === 'refused') {
    // Close the port (and every open connection) for 10 s of each minute.
    const cycle = async () => {
      await new Promise((r) => setTimeout(r, 4000));
      for (;;) {
        await new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        stats.errors++;
        await new Promise((r) => (timer = setTimeout(r, 10_000)));
        if (stats.closed) return;
        await new Promise((r) => server.listen(port, '127.0.0.1', r));
        await new Promise((r) => (timer = setTimeout(r, 50_000)));
        if (stats.closed) return;
      }
    };
    void cycle();
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: async () => {
      stats.closed = true;
      clearTimeout(timer);
      for (const r of hold) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => (server.listening ? server.close(() => r()) : r()));
    },
  };
}

async function trial(row, c) {
  const srv = await relay(row);
  const out = join(work, `${row}-${c}.jsonl`);
  rmSync(out, { force: true });
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'cfg'),
    XDG_CACHE_HOME: join(work, 'cache'),
    IMGDESC_BASE_URL: srv.url,
    IMGDESC_TOKEN: 'sk-bench-0123456789',
    IMGDESC_MODEL: 'bench-model',
  };
  const started = performance.now();
  const { code, stderr } = await new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'batch', dir, '-c', String(c), '-o', out, ...args.extra.split(' ').filter(Boolean)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const kill = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code: code ?? signal, stderr: err });
    });
  });
  const ms = performance.now() - started;
  await srv.close();
  if (args.logs) writeFileSync(join(args.logs, `${row}-${c}-${Date.now()}.log`), stderr);
  const recs = existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  const ok = recs.filter((r) => r.ok).length;
  return { row, c, ms, ok, failed: N - ok, code, stats: srv.stats, killed: ms >= LIMIT_MS, stderr };
}

/** What the relay allows at best, in images per second, for this row and -c. */
function floorRate(row, c, stats) {
  const byConcurrency = c / (MEAN_MS / 1000);
  if (row.startsWith('rpm')) return Math.min(20, byConcurrency);
  if (row.startsWith('tpm')) return Math.min(3_000 / (stats.cost / stats.requests), byConcurrency);
  if (row.startsWith('conc')) return Math.min(8, c) / (MEAN_MS / 1000);
  return byConcurrency;
}

/**
 * The least time a run whose work takes `baseMs` can take when nothing starts in the windows: its
 * floor (1.43× for a long run; more for a run shorter than a cycle that meets a whole window).
 */
function windowFloor(baseMs) {
  let t = 0;
  let work = 0;
  while (work < baseMs) {
    const inCycle = (t - WINDOW_AT + CYCLE_MS * 10) % CYCLE_MS;
    if (inCycle < WINDOW_MS) t += WINDOW_MS - inCycle;
    else {
      const open = Math.min(CYCLE_MS - inCycle, baseMs - work);
      work += open;
      t += open;
    }
  }
  return t / baseMs;
}

const base = {};
/** What the same batch achieved without limits (the plain row), per -c: on a loaded machine the CLI itself may be slower than the relay's limit. */
const plain = {};
const lines = [];
const print = (l) => {
  lines.push(l);
  console.log(l);
};
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
print(
  `node ${process.version}; ${N} images; latency lognormal median 300 ms (mean ${MEAN_MS.toFixed(0)} ms) unless said; bin ${BIN}; load average ${(
    await import('node:os')
  )
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
print(
  "time: the relay's first request to its last ok answer (the CLI's ~1 s start left out); floor: the relay's limit, or the plain row's rate at that -c when lower (the same batch without limits); 429s settled: of requests arriving 5 s or more after the first",
);
print('| relay | -c | time | achieved | floor | vs floor | 429s | 429s settled | failed | exit | target |');
print('|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of ROWS) {
  // A cap of 8 is measured against the same batch at -c 8 as well.
  const cs = row === 'plain' && ROWS.some((r) => r.startsWith('conc')) && !CS.includes(8) ? [...CS, 8].sort((a, b) => a - b) : CS;
  for (const c of cs) {
    const t = await trial(row, c);
    const span = t.stats.lastOkAt !== undefined ? t.stats.lastOkAt - t.stats.firstAt : t.ms;
    const rate = t.ok / (span / 1000);
    const clean = t.failed === 0 && t.code === 0;
    const settled = t.stats.settledRequests ? t.stats.settledLimited / t.stats.settledRequests : 0;
    let floor = '';
    let vs = '–';
    let target = '–';
    if (row === 'win-base') base[c] = span;
    if (row === 'plain') plain[c] = rate;
    if (row === 'win' || row === 'win-nora') {
      const ratio = base[c] ? span / base[c] : Number.NaN;
      const f = base[c] ? windowFloor(base[c]) : Number.NaN;
      floor = `${f.toFixed(2)}× (this run)`;
      vs = `${ratio.toFixed(2)}×`;
      // ≤ 1.6× where a run holds several cycles (the floor 1.43×); a run shorter than a cycle that
      // meets a whole window has a higher floor, and may lose as much over it.
      const limit = Math.max(1.6, f + 0.17);
      target = ratio <= limit && clean ? `met (≤ ${limit.toFixed(2)}×)` : `NOT met (≤ ${limit.toFixed(2)}×)`;
    } else if (row === 'outage' || row === 'refused' || row === 'hung' || row === 'plain' || row === 'win-base') {
      floor = `${secs((N * (row === 'win-base' ? 250 : MEAN_MS)) / c)} ideal`;
      if (row === 'outage' || row === 'refused') target = clean ? 'met (none failed)' : 'NOT met';
      if (row === 'hung') target = clean && t.ms < 300_000 ? 'met (none failed, < 300 s)' : 'NOT met';
    } else {
      const limit = floorRate(row, c, t.stats);
      // The issue measures against the same batch without limits: the plain row, when it is lower
      // (for a cap of 8, the plain row at -c 8).
      const same = plain[row.startsWith('conc') ? Math.min(c, 8) : c];
      const f = same !== undefined ? Math.min(limit, same) : limit;
      floor = f < limit ? `${f.toFixed(1)}/s (plain; the limit ${limit.toFixed(1)}/s)` : `${f.toFixed(1)}/s`;
      vs = `${((rate / f) * 100).toFixed(0)}%`;
      target = rate >= 0.9 * f && settled < 0.05 && clean ? 'met' : 'NOT met';
    }
    print(
      `| ${row} | ${c} | ${secs(span)}${t.killed ? ' (killed)' : ''} | ${rate.toFixed(1)}/s | ${floor} | ${vs} | ${t.stats.limited} | ${(settled * 100).toFixed(1)}% | ${t.failed} | ${t.code} | ${target} |`,
    );
    if (t.code !== 0 && process.env.BENCH_VERBOSE) console.log(t.stderr.slice(-800));
  }
}
rmSync(work, { recursive: true, force: true });
