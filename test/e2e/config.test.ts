// End to end: profiles on disk, token handling, and settings precedence.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { run, runCli, tempDir, TOKEN, failureLine } from '../helpers/cli.ts';
import { noMounts, readOnlyDir } from '../helpers/mounts.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let png: string;
before(async () => {
  server = await startServer();
  png = join(tempDir(), 'p.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

describe('config', () => {
  test('set, get, list, use, remove, path', async () => {
    const home = tempDir();
    const config = (args: string[], input?: string) =>
      run(['config', ...args], { configHome: home, ...(input === undefined ? {} : { input }) });

    const p = await config(['path']);
    assert.equal(p.stdout, join(home, 'imgdesc', 'config.json') + '\n');

    assert.equal((await config(['set', 'base-url', 'https://relay.example.com/'])).code, 0);
    const t = await config(
      ['set', 'token'],
      `${TOKEN}
`,
    );
    assert.equal(t.code, 0, t.stderr);
    assert.ok(!t.stderr.includes(TOKEN));

    const file = join(home, 'imgdesc', 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'imgdesc')).mode & 0o777, 0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(stored.profiles.default.token, TOKEN, 'one trailing newline dropped');
    assert.equal(stored.profiles.default['base-url'], 'https://relay.example.com/v1');

    assert.equal((await config(['get', 'token'])).stdout, 'sk-…cdef\n');
    assert.equal((await config(['get', 'token', '--reveal'])).stdout, TOKEN + '\n');
    const list = await config(['list']);
    assert.match(list.stdout, /\* default/);
    assert.match(list.stdout, /token = sk-…cdef/);
    assert.ok(!list.stdout.includes(TOKEN));

    assert.equal((await config(['set', 'model', 'gpt-4o', '--profile', 'work'])).code, 0);
    assert.equal((await config(['use', 'work'])).code, 0);
    assert.equal((await config(['get', 'model'])).stdout, 'gpt-4o\n');
    assert.equal((await config(['use', 'nope'])).code, 3);

    assert.equal((await config(['remove', 'model'])).code, 0);
    assert.equal((await config(['get', 'model'])).code, 3);
    assert.equal((await config(['remove', '--profile', 'work', '--yes'])).code, 0);
    assert.doesNotMatch((await config(['list'])).stdout, /work/);
  });

  test('bad keys and values exit 2; the token is never an argument', async () => {
    const home = tempDir();
    const config = (args: string[]) => run(['config', ...args], { configHome: home });
    for (const args of [
      ['set', 'colour', 'red'],
      ['set', 'max-tokens', 'many'],
      ['set', 'temperature', '3'],
      ['set', 'detail', 'ultra'],
      ['set', 'base-url', 'not a url'],
    ]) {
      const r = await config(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      failureLine(r.stderr);
    }
    const r = await config(['set', 'token', TOKEN]);
    assert.equal(r.code, 2);
    assert.ok(!r.stderr.includes(TOKEN));
    const empty = await run(['config', 'set', 'token'], { configHome: home, input: '\n' });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /empty token; nothing was saved/);
  });

  test('a config file that is valid JSON but not an object is reported, not used', async () => {
    const home = tempDir();
    mkdirSync(join(home, 'imgdesc'));
    writeFileSync(join(home, 'imgdesc', 'config.json'), '[1, 2]');
    const r = await run(['config', 'list'], { configHome: home });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /does not hold a JSON object/);
    assert.equal(readFileSync(join(home, 'imgdesc', 'config.json'), 'utf8'), '[1, 2]');
  });

  test('a corrupt config file is reported with its path and left untouched', async () => {
    const home = tempDir();
    mkdirSync(join(home, 'imgdesc'));
    const file = join(home, 'imgdesc', 'config.json');
    writeFileSync(file, '{"profiles": {"default": {"model": "x",}}');
    const r = await run([png], { configHome: home });
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(file), r.stderr);
    failureLine(r.stderr);
    assert.equal(readFileSync(file, 'utf8'), '{"profiles": {"default": {"model": "x",}}');
  });

  test('a config file readable by others is tightened to 0600', async () => {
    const home = tempDir();
    mkdirSync(join(home, 'imgdesc'), { mode: 0o755 });
    const file = join(home, 'imgdesc', 'config.json');
    writeFileSync(file, '{}', { mode: 0o644 });
    chmodSync(file, 0o644);
    await run(['config', 'list'], { configHome: home });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'imgdesc')).mode & 0o777, 0o700);
  });
});

describe('precedence: flag > IMGDESC_* > profile > OPENAI_* > default', () => {
  test('each layer wins over the ones below it', async () => {
    const home = tempDir();
    const cfg = (args: string[], input?: string) =>
      run(['config', ...args], { configHome: home, ...(input === undefined ? {} : { input }) });
    const send = async (args: string[], env: Record<string, string>) => {
      server.requests.length = 0;
      // the same question each time: --no-cache, so that each one is sent
      const r = await run([png, '--no-cache', ...args], { configHome: home, env });
      assert.equal(r.code, 0, r.stderr);
      const req = server.requests.find((q) => q.method === 'POST')!;
      return {
        model: req.json.model as string,
        auth: req.headers.authorization,
        system: req.json.messages[0].role === 'system' ? req.json.messages[0].content : undefined,
      };
    };
    const openai = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-openai-env-0000' };
    // defaults + OPENAI_* only: no model set, so the relay's list decides (it lists gpt-4o and a Sonnet)
    let s = await send([], openai);
    assert.equal(s.model, 'claude-3-5-sonnet-20240620');
    assert.equal(server.requests[0]!.url, '/v1/models');
    assert.equal(s.auth, 'Bearer sk-openai-env-0000');
    // profile beats OPENAI_*
    await cfg(['set', 'model', 'profile-model']);
    await cfg(['set', 'system', 'from profile']);
    await cfg(['set', 'token'], 'sk-profile-1111');
    s = await send([], openai);
    assert.equal(s.model, 'profile-model');
    assert.equal(s.system, 'from profile');
    assert.equal(s.auth, 'Bearer sk-profile-1111');
    // IMGDESC_* beats the profile
    s = await send([], { ...openai, IMGDESC_MODEL: 'env-model', IMGDESC_TOKEN: 'sk-env-2222' });
    assert.equal(s.model, 'env-model');
    assert.equal(s.auth, 'Bearer sk-env-2222');
    // the flag beats everything
    s = await send(['-m', 'flag-model'], { ...openai, IMGDESC_MODEL: 'env-model' });
    assert.equal(s.model, 'flag-model');
    // IMGDESC_PROFILE and --profile pick another profile
    await cfg(['set', 'model', 'other-model', '--profile', 'other']);
    s = await send([], { ...openai, IMGDESC_PROFILE: 'other' });
    assert.equal(s.model, 'other-model');
    s = await send(['--profile', 'other'], openai);
    assert.equal(s.model, 'other-model');
    const missing = await run([png, '--profile', 'ghost'], { configHome: home, env: openai });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no profile named 'ghost'/);
  });
});

describe('config under contention and odd ownership', () => {
  test('concurrent config set keep every change', async () => {
    const home = tempDir();
    const keys = ['model', 'max-tokens', 'temperature', 'detail', 'timeout', 'retries', 'concurrency', 'system'];
    const values = ['gpt-4o', '300', '0.5', 'low', '30', '3', '6', 'be brief'];
    const results = await Promise.all(keys.map((k, i) => runCli(['config', 'set', k, values[i]!], { configHome: home })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const stored = JSON.parse(readFileSync(join(home, 'imgdesc', 'config.json'), 'utf8'));
    assert.deepEqual(Object.keys(stored.profiles.default).sort(), [...keys].sort());
    assert.ok(!existsSync(join(home, 'imgdesc', '.config.json.lock')), 'the lock is gone');
  });

  test('a config file that cannot be written: exit 3 naming it', { skip: noMounts }, async () => {
    const ro = readOnlyDir((d) => {
      mkdirSync(join(d, 'imgdesc'));
      writeFileSync(join(d, 'imgdesc', 'config.json'), '{}');
    });
    try {
      const r = await run(['config', 'set', 'model', 'gpt-4o'], { configHome: ro.dir });
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: cannot write config file ${join(ro.dir, 'imgdesc', 'config.json')}: (read-only file system|permission denied)`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stderr, /bug/);
    } finally {
      ro.release();
    }
  });

  test("someone else's config file that others can read is used with a warning", {
    skip: process.getuid?.() === 0 ? false : 'skipped: needs root to give the file away',
  }, async () => {
    const home = tempDir();
    mkdirSync(join(home, 'imgdesc'), { mode: 0o755 });
    const file = join(home, 'imgdesc', 'config.json');
    writeFileSync(file, JSON.stringify({ profiles: { default: { model: 'gpt-4o' } } }), { mode: 0o644 });
    chownSync(file, 12345, 12345);
    chmodSync(file, 0o644);
    const r = await run(['config', 'get', 'model'], { configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'gpt-4o\n');
    assert.match(
      r.stderr,
      new RegExp(`warning: ${file} belongs to another user \\(uid 12345\\) and others can read it: the token in it is not private`),
    );
    assert.equal(statSync(file).mode & 0o777, 0o644, 'left as it is');
  });
});
