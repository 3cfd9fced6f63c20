// What needs a real process: pipes read slowly, a full disk as stdout, signals, the Node version.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { BIN, ROOT, cliEnv, relayEnv, runCli, tempDir, waitingForInput } from '../helpers/cli.ts';

let server: TestServer;
let dir: string;
let png: string;
const ok = (content: string) => (_req: unknown, res: import('node:http').ServerResponse) => sendJson(res, 200, completion(content));

before(async () => {
  server = await startServer(ok('A small square.'));
  dir = tempDir();
  png = join(dir, 'one.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  mkdirSync(join(dir, 'p'));
  for (let i = 0; i < 40; i++) {
    const b = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 6, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'p', `img${String(i).padStart(2, '0')}.png`), b);
  }
});
after(() => server.close());

/**
 * Spawns the CLI with stdout to a pipe that is not read until the relay has had a request and the
 * CLI has then sat still (waitingForInput: blocked on the full pipe, every answer in), then read to
 * the end.
 */
function slowReader(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: cliEnv(relayEnv(server.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.pause();
    const asked = server.requests.length;
    void (async () => {
      while (server.requests.length === asked && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      await waitingForInput(child);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stdout.resume();
    })();
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

test('a slow pipe reader gets every byte of a large --json answer', async () => {
  const big = 'word '.repeat(300_000).trim(); // 1.5 MB: far more than a pipe holds
  server.handler = ok(big);
  const r = await slowReader(['--json', png]);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout.toString('utf8'));
  assert.equal(body.choices[0].message.content, big);
});

test('a slow pipe reader gets every line of a batch', async () => {
  server.handler = ok('caption '.repeat(4000)); // 32 KB a line, 1.3 MB in all
  const r = await slowReader(['batch', 'p', '-c', '4']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.toString('utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 40);
  for (const l of lines) assert.equal(JSON.parse(l).ok, true);
});

test('stdout on a full disk (/dev/full): one line, exit 6, for every command', {
  skip: existsSync('/dev/full') ? false : 'skipped: no /dev/full',
}, async () => {
  server.handler = ok('A small square.');
  const cases: string[][] = [[png], ['config', 'list', '--json'], ['--help'], [png, '--dry-run'], ['batch', 'p'], ['config', 'path']];
  // Separate processes against a relay that answers at once: side by side.
  const full = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', `exec "$0" "$@" >/dev/full`, process.execPath, BIN, ...args], {
        cwd: dir,
        env: cliEnv(relayEnv(server.url)),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        if (err.length < 100_000) err += c.toString();
        else child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr: err }));
    });
  const [o, ...results] = await Promise.all([
    runCli(['batch', 'p', '-o', '/dev/full'], { cwd: dir, env: relayEnv(server.url) }),
    ...cases.map(full),
  ]);
  for (const [i, r] of results.entries()) {
    const args = cases[i] as string[];
    assert.equal(r.code, 6, `${args.join(' ')}: ${r.stderr}`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.deepEqual(errors, ['error: cannot write to stdout: no space left on device'], `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error|bug|\n\s+at |stopping:/);
  }
  assert.equal(o.code, 6, o.stderr);
  assert.match(o.stderr, /^error: cannot write to \/dev\/full: no space left on device$/m);
});

for (const [signal, code, note] of [
  ['SIGTERM', 143, /terminated \(SIGTERM\)/],
  ['SIGHUP', 129, /hung up \(SIGHUP\)/],
] as const) {
  test(`${signal} stops cleanly with exit ${code} and says so`, async () => {
    server.handler = () => {}; // never answers
    server.requests.length = 0;
    const r = await runCli([png], {
      cwd: dir,
      env: relayEnv(server.url),
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.requests.length > 0) {
            clearInterval(poll);
            child.kill(signal);
          }
        }, 10);
        child.on('exit', () => clearInterval(poll));
      },
    });
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, note);
  });
}

test('an older Node is told which version imgdesc needs', async () => {
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.19.0"})', BIN, png],
      {
        cwd: ROOT,
        env: cliEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'error: imgdesc needs Node 20.18 or newer (this is Node 18.19.0)\n');
});

test('many requests waiting to retry print no MaxListenersExceededWarning', async () => {
  // each image's first attempt is refused, so all 16 in flight wait to retry at once. A 500, not a
  // 503: batch takes a 503 for the relay being down and waits it out at its gate (seconds), while a
  // 500 is retried by each request after its own wait, which is what this is about.
  const seen = new Set<string>();
  server.handler = (req, res) => {
    if (seen.has(req.body)) return sendJson(res, 200, completion('A dark red square.'));
    seen.add(req.body);
    sendJson(res, 500, { error: { message: 'busy' } }, { 'retry-after-ms': '300' });
  };
  const r = await runCli(['batch', 'p', '-c', '16', '-q'], { cwd: dir, env: relayEnv(server.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /MaxListeners|Warning/);
});
