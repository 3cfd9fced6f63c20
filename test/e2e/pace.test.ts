// Pacing against simulator relays on 127.0.0.1 (issue #23), timings scaled down: a concurrency cap,
// a request bucket and 429 windows (the outage, a relay that stays down, Ctrl-C and hung requests:
// pace-stops.test.ts). Counts are asserted, never wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendJson, serverPool } from '../helpers/server.ts';
import { relayEnv, run } from '../helpers/cli.ts';
import { images, okAfter, records } from '../helpers/pace.ts';

const relay = serverPool();

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
