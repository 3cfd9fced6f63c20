// `imgdesc map` stops like batch (issue #23): the first Ctrl-C stops reading and sending, waits for
// the answers in flight and writes them, every line read answered in its place; a second Ctrl-C
// quits at once; SIGTERM waits at most IMGDESC_STOP_GRACE seconds. In process (the stop as the
// controllers processIO aborts) and as real processes with real signals, sent once the child is
// waiting (waitingForInput) and the relay holds its requests; counts asserted, never wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, imageUrls, sendJson, serverPool } from '../helpers/server.ts';
import { dataUrlBytes } from '../helpers/images.ts';
import { relayEnv, run, runCli, tempDir, waitingForInput } from '../helpers/cli.ts';
import { signalStop } from '../../src/types.ts';

const server = serverPool();

/** A relay that holds every answer until `release()`; `holding(n)` resolves once it holds n. */
async function holdingRelay(onRequest: (n: number) => void = () => {}) {
  const held: ServerResponse[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const srv = await server((_req, res, n) => {
    held.push(res);
    for (const w of waiting.filter((x) => held.length >= x.n)) w.resolve();
    onRequest(n);
  });
  return {
    srv,
    holding: (n: number) => new Promise<void>((resolve) => (held.length >= n ? resolve() : waiting.push({ n, resolve }))),
    release() {
      for (const res of held.splice(0)) sendJson(res, 200, completion('A small square.'));
    },
  };
}

async function rows(n: number): Promise<{ dir: string; lines: string[] }> {
  const dir = tempDir();
  mkdirSync(join(dir, 'p'));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 9, g: 40, b: 7 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'p', `i${i}.png`), png);
    lines.push(JSON.stringify({ image: `p/i${i}.png` }));
  }
  return { dir, lines };
}

const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('map: the first Ctrl-C waits for the answers in flight and writes them; every line read is answered in place; exit 130', async () => {
  let interrupt: AbortController | undefined;
  const relay = await holdingRelay((n) => {
    if (n === 3) {
      interrupt?.abort(signalStop('SIGINT'));
      relay.release();
    }
  });
  const { dir, lines } = await rows(20);
  const r = await run(['map', '-c', '3'], {
    cwd: dir,
    env: relayEnv(relay.srv.url),
    input: lines.join('\n') + '\n',
    onStart: (i) => (interrupt = i),
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /stopping: waiting for 3 answers, Ctrl-C again to quit now/);
  assert.equal(relay.srv.requests.length, 3, 'nothing new after the Ctrl-C');
  const out = records(r.stdout);
  assert.ok(
    out.every((x, i) => x.image === `p/i${i}.png`),
    'one record per line, in line order',
  );
  // The three images sent are answered and written. Which three: the images are prepared side by
  // side and each is sent once it is ready, so i3 may go before i2.
  const sent = relay.srv.requests.map((q) => {
    const [url = ''] = imageUrls(q);
    return createHash('sha256').update(dataUrlBytes(url).bytes).digest('hex');
  });
  assert.deepEqual(
    out
      .filter((x) => x.ok)
      .map((x) => x.sha256)
      .sort(),
    sent.sort(),
    'the answers paid for, written',
  );
  // the other lines read, never sent, are answered in their place
  assert.ok(out.filter((x) => !x.ok).every((x) => x.error.code === 'interrupted'));
  const read = Number(/interrupted after (\d+) line\(s\)/.exec(r.stderr)?.[1]);
  assert.equal(out.length, read, 'one record per line read');
});

test('map: SIGTERM waits for the answers in flight as long as IMGDESC_STOP_GRACE, says so, then exit 143', async () => {
  let interrupt: AbortController | undefined;
  const relay = await holdingRelay((n) => {
    if (n === 2) interrupt?.abort(signalStop('SIGTERM'));
  });
  const { dir, lines } = await rows(4);
  const r = await run(['map', '-c', '2'], {
    cwd: dir,
    env: relayEnv(relay.srv.url, { IMGDESC_STOP_GRACE: '0.2' }),
    input: lines.join('\n') + '\n',
    onStart: (i) => (interrupt = i),
  });
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /stopping: waiting for 2 answers, at most 1 s more/);
  assert.doesNotMatch(r.stderr, /Ctrl-C again/);
  const out = records(r.stdout);
  assert.ok(out.length >= 2 && out.every((x) => !x.ok && x.error.code === 'interrupted'), r.stdout);
  relay.release();
});

/**
 * `map -c 2` as a real process, its stdin kept open; `stopping` resolves with the stop line it
 * prints (or '' if it ends without one).
 */
function spawned(url: string, dir: string, lines: string[], env: Record<string, string> = {}) {
  let child: ChildProcess | undefined;
  let stderr = '';
  let stopLine: (l: string) => void = () => {};
  const stopping = new Promise<string>((r) => (stopLine = r));
  const result = runCli(['map', '-c', '2'], {
    cwd: dir,
    env: relayEnv(url, env),
    keepStdinOpen: true,
    timeoutMs: 30_000,
    onSpawn: (c) => {
      child = c;
      c.stdin?.write(lines.join('\n') + '\n');
      c.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /stopping: [^\n]*/.exec(stderr);
        if (m) stopLine(m[0]);
      });
    },
  });
  void result.then(() => stopLine(''));
  return {
    /** Once the relay holds `n` requests and the child waits (its handlers in place), sends `signal`. */
    signalWhenHeld: async (relay: { holding(n: number): Promise<void> }, n: number, signal: NodeJS.Signals) => {
      await relay.holding(n);
      await waitingForInput(child as ChildProcess);
      child?.kill(signal);
    },
    kill: (signal: NodeJS.Signals) => child?.kill(signal),
    stopping,
    result,
  };
}

test('map as a real process: Ctrl-C waits for the 2 answers out and writes them (exit 130); a second Ctrl-C quits at once', async () => {
  const { dir, lines } = await rows(6);
  const once = await holdingRelay();
  const a = spawned(once.srv.url, dir, lines);
  await a.signalWhenHeld(once, 2, 'SIGINT');
  assert.equal(await a.stopping, 'stopping: waiting for 2 answers, Ctrl-C again to quit now');
  once.release();
  const r = await a.result;
  assert.equal(r.code, 130, r.stderr);
  // the two that were out: which two depends on which images were prepared first (a loaded machine
  // once prepared i2 before i1)
  const answered = records(r.stdout)
    .filter((x) => x.ok)
    .map((x) => x.image);
  assert.equal(new Set(answered).size, 2, answered.join(' '));
  for (const image of answered) assert.match(image, /^p\/i[0-5]\.png$/);
  assert.equal(once.srv.requests.length, 2);

  const twice = await holdingRelay();
  const b = spawned(twice.srv.url, dir, lines);
  await b.signalWhenHeld(twice, 2, 'SIGINT');
  assert.equal(await b.stopping, 'stopping: waiting for 2 answers, Ctrl-C again to quit now');
  b.kill('SIGINT');
  const r2 = await b.result;
  assert.equal(r2.code, 130, r2.stderr);
  assert.equal(records(r2.stdout).filter((x) => x.ok).length, 0, 'nothing answered, nothing waited for');
  twice.release();
});

test('map as a real process: SIGTERM says how long it waits, then exit 143', async () => {
  const { dir, lines } = await rows(4);
  const relay = await holdingRelay();
  const c = spawned(relay.srv.url, dir, lines, { IMGDESC_STOP_GRACE: '1' });
  await c.signalWhenHeld(relay, 2, 'SIGTERM');
  assert.equal(await c.stopping, 'stopping: waiting for 2 answers, at most 1 s more');
  const r = await c.result;
  assert.equal(r.code, 143, r.stderr);
  relay.release();
});
