// Pacing against simulator relays on 127.0.0.1 (issue #23), timings scaled down: a concurrency cap,
// a request bucket, 429 windows, an outage, a relay that stays down, and the first Ctrl-C that
// waits for the answers in flight. Counts are asserted, never wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, type Handler, serverPool } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';

const relay = serverPool();

async function images(n: number): Promise<string> {
  const dir = tempDir();
  mkdirSync(join(dir, 'p'));
  for (let i = 0; i < n; i++) {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 9, g: 40, b: 7 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'p', `i${String(i).padStart(3, '0')}.png`), png);
  }
  return dir;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const okAfter = async (res: Parameters<Handler>[1], ms: number) => {
  await delay(ms);
  sendJson(res, 200, completion('A small square.'));
};

test('pace: a concurrency cap (new-api token_concurrency_limit_reached) is learned; nothing fails', async () => {
  let inFlight = 0;
  const srv = await relay(async (_req, res) => {
    if (inFlight >= 3) {
      sendJson(res, 429, {
        error: {
          message: 'token_concurrency_limit_reached (request id: 1)',
          type: 'new_api_error',
          code: 'token_concurrency_limit_reached',
        },
      });
      return;
    }
    inFlight++;
    await okAfter(res, 40);
    inFlight--;
  });
  const dir = await images(30);
  const r = await run(['batch', 'p', '-c', '8', '-v'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout).filter((x) => x.ok).length, 30);
  // The first 429s teach a cap. On a busy machine the first one can be too high (requests counted in
  // flight here had not all reached the relay yet: CI on Node 22 learned "none with 5: concurrency
  // 5", then 4, then 3); it comes down to the relay's 3 all the same.
  assert.match(r.stderr, /^pace: 429 with \d+ in flight, none with \d+: concurrency \d+$/m);
  assert.match(r.stderr, /^pace: .*: concurrency 3$/m);
  assert.match(r.stderr, /relay: \d+ answers? (was|were) 429; 3 at once \(-c 3 fits it\)/);
  const limited = srv.requests.length - 30;
  assert.ok(limited <= 5 + 5, `${limited} 429s: the first wave, and a probe now and then`);
});

test('pace: a request bucket without Retry-After (one-api: an empty 429) is paced under; nothing fails', async () => {
  let tokens = 4;
  let at = Date.now();
  const srv = await relay(async (_req, res) => {
    tokens = Math.min(4, tokens + ((Date.now() - at) / 1000) * 20);
    at = Date.now();
    if (tokens < 1) {
      res.writeHead(429);
      res.end();
      return;
    }
    tokens--;
    await okAfter(res, 20);
  });
  const dir = await images(40);
  const r = await run(['batch', 'p', '-c', '8', '-v'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout).filter((x) => x.ok).length, 40);
  // Whether the 429s read as a rate or as a concurrency cap depends on the latencies this run saw
  // (a loaded machine answers slowly, and fewer in flight then also keeps under the bucket): either
  // way the pace came down.
  assert.match(r.stderr, /pace: 429 at [\d.]+\/s admitted: pace [\d.]+\/s|pace: .*: concurrency \d+/);
});

test('pace: 429 windows without Retry-After (new-api, Chinese) are waited out; nothing fails, no retry used', async () => {
  const t0 = Date.now();
  const srv = await relay(async (_req, res) => {
    if ((Date.now() - t0) % 1000 < 300) {
      sendJson(res, 429, {
        error: { message: '您已达到请求数限制：1分钟内最多请求60次 (request id: 1)', type: 'new_api_error', code: '' },
      });
      return;
    }
    await okAfter(res, 30);
  });
  const dir = await images(40);
  const r = await run(['batch', 'p', '-c', '4', '--retries', '0'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout).filter((x) => x.ok).length, 40);
});

test('pace: an outage of 502/503 pauses the batch (one probe at a time) and no image fails, even with --retries 0', async () => {
  let down = false;
  let downAnswers = 0;
  const srv = await relay(async (_req, res, n) => {
    if (n === 6) {
      down = true;
      setTimeout(() => (down = false), 1200);
    }
    if (down) {
      downAnswers++;
      res.writeHead(downAnswers % 2 ? 502 : 503, { 'content-type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    }
    await okAfter(res, 30);
  });
  const dir = await images(24);
  const r = await run(['batch', 'p', '-c', '4', '--retries', '0', '-v'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout).filter((x) => x.ok).length, 24);
  assert.match(r.stderr, /pace: the relay is down \(HTTP 50[23]\): pausing the batch, one probe at a time/);
  assert.match(r.stderr, /pace: the relay answers again after [\d.]+ s: ramping back/);
  // the requests out when it went down, then one probe at a time (backoff from 0.5 s): a handful
  assert.ok(downAnswers <= 4 + 4, `${downAnswers} answered 5xx`);
});

test('pace: a relay down for longer than IMGDESC_DOWN_LIMIT stops the batch with exit 4, resumable', async () => {
  let n = 0;
  const srv = await relay(async (_req, res) => {
    if (++n > 3) {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html>503 Service Unavailable</html>');
      return;
    }
    await okAfter(res, 10);
  });
  const dir = await images(12);
  const out = join(dir, 'r.jsonl');
  const r = await run(['batch', 'p', '-c', '1', '-o', out], { cwd: dir, env: relayEnv(srv.url, { IMGDESC_DOWN_LIMIT: '1.5' }) });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /the relay has been down for more than 1\.5 s \(last: HTTP 503\); stopped the batch after 3 of 12/);
  assert.match(r.stderr, /run the same command again to resume/);
  const recs = records(readFileSync(out, 'utf8'));
  assert.equal(recs.length, 3, 'only the answered ones are recorded');
  assert.ok(recs.every((x) => x.ok));
});

test('pace: the first Ctrl-C stops new requests and records the answers in flight, then exits 130', async () => {
  let seen = 0;
  let interrupt: AbortController | undefined;
  const srv = await relay(async (_req, res) => {
    if (++seen === 4) setTimeout(() => interrupt?.abort(), 50);
    await okAfter(res, 400);
  });
  const dir = await images(20);
  const r = await run(['batch', 'p', '-c', '4'], { cwd: dir, env: relayEnv(srv.url), onStart: (i) => (interrupt = i) });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /stopping: waiting for 4 answers, Ctrl-C again to quit now/);
  const recs = records(r.stdout);
  assert.equal(srv.requests.length, 4, 'nothing new after the Ctrl-C');
  assert.equal(recs.length, 4, 'every answer paid for is recorded');
  assert.ok(recs.every((x) => x.ok));
});

test('pace: a second Ctrl-C quits at once, dropping what is still out', async () => {
  let seen = 0;
  let stop: [AbortController, AbortController] | undefined;
  const srv = await relay(async (_req, res) => {
    if (++seen === 3) {
      setTimeout(() => stop?.[0].abort(), 20);
      setTimeout(() => stop?.[1].abort(), 120);
    }
    if (seen >= 3) return; // never answered
    await okAfter(res, 10);
  });
  const dir = await images(10);
  const r = await run(['batch', 'p', '-c', '2'], { cwd: dir, env: relayEnv(srv.url), onStart: (i, q) => (stop = [i, q]) });
  assert.equal(r.code, 130, r.stderr);
  assert.equal(records(r.stdout).length, 2);
});

// A relay that never answers some requests (1 in N hangs): scaled down with IMGDESC_HUNG_MIN (the
// least the learned bound may be, 60 s by default) so the bound is 10× the p95 latency (at least
// 0.3 s) once 20 answers are in.
function hangingRelay(hang: (n: number, body: string, seen: Map<string, number>) => boolean) {
  const seen = new Map<string, number>();
  return relay(async (req, res, n) => {
    seen.set(req.body, (seen.get(req.body) ?? 0) + 1);
    if (hang(n, req.body, seen)) return; // never answered
    await okAfter(res, 5);
  });
}

test('pace: a hung request (no --timeout) is abandoned at the learned bound and sent once more; no image fails', async () => {
  const srv = await hangingRelay((n) => n === 25);
  const dir = await images(30);
  const r = await run(['batch', 'p', '-c', '4', '-v'], { cwd: dir, env: relayEnv(srv.url, { IMGDESC_HUNG_MIN: '0.3' }) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(records(r.stdout).filter((x) => x.ok).length, 30);
  assert.equal(srv.requests.length, 31, 'the hung one, sent once more');
  assert.match(r.stderr, /timed out after [\d.]+ s/);
});

test('pace: a request that hangs again is abandoned once more and fails (one retry for a hang), the rest go on', async () => {
  const srv = await hangingRelay((n, body, seen) => n >= 25 && (seen.get(body) ?? 0) > (n === 25 ? 0 : 1));
  const dir = await images(30);
  const r = await run(['batch', 'p', '-c', '4'], { cwd: dir, env: relayEnv(srv.url, { IMGDESC_HUNG_MIN: '0.3' }) });
  assert.equal(r.code, 5, r.stderr);
  const recs = records(r.stdout);
  assert.equal(recs.filter((x) => x.ok).length, 29);
  const failed = recs.filter((x) => !x.ok);
  assert.equal(failed.length, 1);
  assert.match(failed[0].error.message, /timed out after [\d.]+ s \(2 attempts\)/);
  assert.equal(srv.requests.length, 31, 'two attempts for the hung image, not the three --retries 2 would give');
});

test('pace: an explicit --timeout is obeyed as given, not the learned bound', async () => {
  const srv = await hangingRelay((n) => n === 25);
  const dir = await images(30);
  const r = await run(['batch', 'p', '-c', '4', '--timeout', '2.5', '--retries', '0'], {
    cwd: dir,
    env: relayEnv(srv.url, { IMGDESC_HUNG_MIN: '0.3' }),
  });
  assert.equal(r.code, 5, r.stderr);
  const failed = records(r.stdout).filter((x) => !x.ok);
  assert.equal(failed.length, 1);
  assert.match(failed[0].error.message, /timed out after 2\.5 s/);
  assert.equal(srv.requests.length, 30);
});
