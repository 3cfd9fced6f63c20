// Pacing against simulator relays on 127.0.0.1 (issue #23), timings scaled down: an outage, a
// relay that stays down, the first Ctrl-C that waits for the answers in flight and the second that
// does not, and hung requests (the limits a relay sets: pace.test.ts). Counts are asserted, never
// wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverPool } from '../helpers/server.ts';
import { relayEnv, run } from '../helpers/cli.ts';
import { images, okAfter, records } from '../helpers/pace.ts';

const relay = serverPool();

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
