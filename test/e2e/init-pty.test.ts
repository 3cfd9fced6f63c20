// `imgdesc init` in a real pseudo-terminal (util-linux `script`): answers typed as a person would,
// the token not echoed. Spawned, because the point is a real TTY.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, TOKEN, cliEnv, tempDir } from '../helpers/cli.ts';
import { startRelay } from '../helpers/relays.ts';
import type { TestServer } from '../helpers/server.ts';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = hasScript ? false : 'skipped: util-linux `script` (a pseudo-terminal) is not installed';

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** Runs the command in a PTY; each time the screen shows `waitFor`, types `answer` and Enter. */
function inPty(cmd: string[], env: Record<string, string>, dialogue: [RegExp, string][]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    // `script` under a test runner has no terminal to copy a size from; a real one always has one.
    const line = `stty cols 100 rows 40; ${cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
    const child = spawn('script', ['-qfec', line, '/dev/null'], { env: { ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let step = 0;
    const onData = (chunk: Buffer) => {
      screen += chunk.toString('utf8');
      const next = dialogue[step];
      if (next?.[0].test(screen)) {
        step++;
        child.stdin.write(`${next[1]}\r`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

describe('imgdesc init in a terminal', { skip }, () => {
  it('asks for base URL, token (hidden) and model, probes, saves', async () => {
    const s = await startRelay({ kind: 'new-api' });
    servers.push(s);
    const home = tempDir();
    const env = cliEnv({ FORCE_COLOR: '0' }, home);
    const r = await inPty([process.execPath, BIN, 'init'], env, [
      [/Relay base URL/, s.url],
      [/API token/, TOKEN],
      [/Model \(number or id\) \[1\]/, '2'],
    ]);
    assert.equal(r.code, 0, r.screen);
    assert.ok(!r.screen.includes(TOKEN), 'the token is not echoed');
    assert.match(r.screen, /1\. claude-sonnet-4-5-20250929 +\(suggested\)/);
    assert.match(r.screen, /read the test image/);
    const config = JSON.parse(readFileSync(join(home, 'imgdesc', 'config.json'), 'utf8')) as {
      profiles: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(config.profiles.default, { 'base-url': `${s.url}/v1`, token: TOKEN, model: 'gpt-4o' });
    const probe = s.requests.find((q) => q.method === 'POST');
    assert.equal(probe?.json.model, 'gpt-4o');
  });
});
