// `imgdesc init` without a terminal: every answer by flag or stdin; a missing one is exit 2 naming
// the flag. The terminal case is test/e2e/init-pty.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN, run, tempDir } from '../helpers/cli.ts';
import { relayPool } from '../helpers/relays.ts';
import type { TestServer } from '../helpers/server.ts';

const relay = relayPool();

const saved = (home: string) => {
  try {
    return JSON.parse(readFileSync(join(home, 'imgdesc', 'config.json'), 'utf8')) as {
      active?: string;
      profiles: Record<string, Record<string, unknown>>;
    };
  } catch {
    return null;
  }
};
const init = (args: string[], home: string, input?: string) =>
  run(['init', ...args], { configHome: home, ...(input === undefined ? {} : { input }) });
const posts = (s: TestServer) => s.requests.filter((q) => q.method === 'POST');

describe('imgdesc init without a terminal', () => {
  it('flags and the token on stdin: checks, probes once, saves the profile', async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    const r = await init(['--base-url', `${s.url}/`, '--model', 'gpt-4o'], home, `${TOKEN}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN));
    assert.deepEqual(saved(home)?.profiles.default, { 'base-url': `${s.url}/v1`, token: TOKEN, model: 'gpt-4o' });
    assert.equal(posts(s).length, 1, 'one probe');
    assert.equal(posts(s)[0]?.json.max_tokens, 1);
    assert.match(r.stderr, /✓ gpt-4o read the test image/);
    assert.match(r.stderr, /Saved profile default/);
  });

  it('a pasted `Bearer ` prefix is dropped, as config set token drops it', async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    const r = await init(['--base-url', s.url, '--yes', '--no-probe'], home, `Bearer ${TOKEN}\n`);
    assert.equal(r.code, 0, r.stderr);
    const sent = new Set(s.requests.map((q) => q.headers.authorization).filter((a) => a !== undefined && a !== 'Bearer'));
    assert.deepEqual([...sent], [`Bearer ${TOKEN}`], 'not Bearer Bearer …');
    assert.equal(saved(home)?.profiles.default?.token, TOKEN);
    const spaced = await init(['--base-url', s.url, '--yes', '--no-probe'], tempDir(), `${TOKEN} extra\n`);
    assert.equal(spaced.code, 2);
    assert.match(spaced.stderr, /^error: the token: the token contains a space; paste the token alone/m);
  });

  it('init --yes again without a terminal: no "Enter keeps them" note (nobody can press Enter)', async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    assert.equal((await init(['--base-url', s.url, '--yes', '--no-probe'], home, TOKEN)).code, 0);
    const again = await init(['--yes', '--no-probe'], home);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^Setting up profile default\n/);
    assert.doesNotMatch(again.stderr, /Enter keeps/);
  });

  it("--yes takes the picker's first vision model", async () => {
    const s = await relay({ kind: 'new-api' });
    const home = tempDir();
    const r = await init(['--base-url', s.url, '--yes', '--no-probe'], home, TOKEN);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(saved(home)?.profiles.default?.model, 'claude-sonnet-4-5-20250929');
    assert.equal(posts(s).length, 0, '--no-probe');
  });

  it('a missing answer without a terminal is exit 2 naming the flag; nothing is saved', async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    const noUrl = await init([], home, TOKEN);
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /no terminal to ask for the base URL: pass --base-url/);
    const noModel = await init(['--base-url', s.url], home, TOKEN);
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /pass --model \(or --yes to take claude-sonnet-4-5-20250929\)/);
    const noToken = await init(['--base-url', s.url, '--model', 'gpt-4o'], home);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /token: pipe it on stdin/);
    assert.equal(saved(home), null);
  });

  it("a refused token: exit 3 with the relay's message, nothing saved", async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    const r = await init(['--base-url', s.url, '--model', 'gpt-4o'], home, 'sk-not-the-token');
    assert.equal(r.code, 3);
    assert.match(r.stderr, /无效的令牌/);
    assert.equal(saved(home), null);
  });

  it('a base URL that answers 404 as given: the working form is used and saved', async () => {
    const s = await relay({ kind: 'plain', prefix: '/api', version: '' });
    const home = tempDir();
    const r = await init(['--base-url', `${s.url}/api`, '--model', 'gpt-4o'], home, TOKEN);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /using .*\/api\/chat\/completions/);
    assert.equal(saved(home)?.profiles.default?.['base-url'], `${s.url}/api/chat/completions`);
  });

  // The relay serves its dashboard (index.html, 200) on every path it has no route for.
  for (const page of ['/token', '/console', '/panel', '/console/token']) {
    it(`the dashboard's address ${page}: one line says so, the bare host is used and saved`, async () => {
      const s = await relay({ kind: 'new-api' });
      const home = tempDir();
      const r = await init(['--base-url', `${s.url}${page}`, '--model', 'gpt-4o', '--no-probe'], home, TOKEN);
      assert.equal(r.code, 0, r.stderr);
      const said = r.stderr.split('\n').filter((l) => /dashboard/.test(l));
      assert.deepEqual(said, [`${s.url}${page} looks like the dashboard; using ${s.url}`]);
      assert.doesNotMatch(r.stderr, /expected JSON|got New API/);
      assert.equal(saved(home)?.profiles.default?.['base-url'], s.url);
    });
  }

  it("the dashboard's address with a fragment (/#/token): the fragment is dropped, the host is the API", async () => {
    const s = await relay({ kind: 'new-api' });
    const home = tempDir();
    const r = await init(['--base-url', `${s.url}/#/token`, '--model', 'gpt-4o', '--no-probe'], home, TOKEN);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning|error/);
    assert.equal(saved(home)?.profiles.default?.['base-url'], `${s.url}/v1`);
  });

  it('a model listed but without a channel: the probe fails, exit 4, nothing saved', async () => {
    const s = await relay({ kind: 'one-api', noChannel: ['gpt-4o'] });
    const home = tempDir();
    const r = await init(['--base-url', s.url, '--model', 'gpt-4o'], home, TOKEN);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /无可用渠道/);
    assert.match(r.stderr, /nothing saved/);
    assert.equal(saved(home), null);
  });

  it('a rerun keeps the current values with --yes; --profile saves another profile', async () => {
    const s = await relay({ kind: 'one-api' });
    const home = tempDir();
    assert.equal((await init(['--base-url', s.url, '--model', 'gpt-4o', '--no-probe'], home, TOKEN)).code, 0);
    const again = await init(['--yes', '--no-probe'], home);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /base URL: .*\/v1/);
    assert.deepEqual(saved(home)?.profiles.default, { 'base-url': `${s.url}/v1`, token: TOKEN, model: 'gpt-4o' });
    const work = await init(['--profile', 'work', '--base-url', s.url, '--model', 'gemini-2.5-flash', '--no-probe'], home, TOKEN);
    assert.equal(work.code, 0, work.stderr);
    assert.equal(saved(home)?.profiles.work?.model, 'gemini-2.5-flash');
    assert.match(work.stderr, /imgdesc config use work/);
  });
});
