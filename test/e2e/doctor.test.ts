// doctor against relays that answer like one-api and new-api (test/helpers/relays.ts), in-process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TOKEN, fixture, noFixtures, run, runCli, tempDir } from '../helpers/cli.ts';
import { startProxy } from '../helpers/proxy.ts';
import { relayHandler, relayPool } from '../helpers/relays.ts';

const relay = relayPool();

const doctor = (args: string[], env: Record<string, string | undefined>) => run(['doctor', ...args], { env });

const json = async (args: string[], env: Record<string, string | undefined>) => {
  const r = await doctor(['--json', ...args], env);
  assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), 'the token never appears');
  const report = JSON.parse(r.stdout) as {
    checks: { id: string; verdict: string; finding: string; fix: string | null }[];
    exit_code: number;
    token: string;
    models?: { model: string; works: boolean; error: string | null }[];
  };
  const check = (id: string) => report.checks.find((c) => c.id === id) as { verdict: string; finding: string; fix: string | null };
  return { ...r, report, check };
};

describe('imgdesc doctor', () => {
  it('one-api relay, everything in order: exit 0, quota from the billing endpoints', async () => {
    const s = await relay({ kind: 'one-api' });
    const r = await json([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.report.exit_code, 0);
    assert.equal(r.report.token, 'sk-…cdef');
    for (const id of ['config', 'base-url', 'token', 'models', 'probe', 'quota', 'proxy']) assert.equal(r.check(id).verdict, 'pass', id);
    assert.match(r.check('config').finding, /IMGDESC_BASE_URL/);
    assert.match(r.check('models').finding, /4 models, 3 vision-capable/);
    assert.match(r.check('probe').finding, /gpt-4o read the test image .*finish_reason length/);
    assert.match(r.check('quota').finding, /^12\.50 of 15 left, 2\.50 used \(GET \/v1\/dashboard\/billing\)$/);
    const probe = s.requests.find((q) => q.method === 'POST');
    assert.equal(probe?.json.max_tokens, 1);
    assert.match(JSON.stringify(probe?.json.messages), /data:image\/png;base64,/);
  });

  it('a model the relay does not list: one finding with the id meant, and no probe', async () => {
    const s = await relay({ kind: 'new-api' });
    const r = await json([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'claude-sonet-4-5' });
    assert.equal(r.code, 3, r.stdout);
    assert.match(r.check('models').finding, /claude-sonet-4-5 is not listed: did you mean claude-sonnet-4-5-20250929\?$/);
    assert.equal(r.check('probe').verdict, 'skip');
    assert.equal(r.check('probe').finding, "not sent: claude-sonet-4-5 is not in the relay's list");
    assert.equal(s.requests.filter((q) => q.method === 'POST').length, 0, 'no probe spent on it');
  });

  it('new-api relay: quota from /api/usage/token; text checklist with ✓ marks', async () => {
    const s = await relay({ kind: 'new-api', quota: { remaining: 1, used: 3 } });
    const r = await doctor([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o' });
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      r.stdout,
      /✓ quota +500000 of 2000000 quota units left \(≈ \$1 at new-api's default 500000 a dollar\), 1500000 quota units used \(GET \/api\/usage\/token\)/,
    );
    assert.match(r.stdout, /✓ vision probe/);
    assert.doesNotMatch(r.stdout, /✗/);
  });

  it('a relay under a path prefix works as given', async () => {
    const s = await relay({ kind: 'one-api', prefix: '/relay' });
    const r = await json(['--no-probe'], { IMGDESC_BASE_URL: `${s.url}/relay`, IMGDESC_TOKEN: TOKEN });
    assert.equal(r.check('base-url').verdict, 'pass');
    assert.equal(r.check('probe').verdict, 'skip');
    assert.equal(s.requests.filter((q) => q.method === 'POST').length, 0, '--no-probe sends no chat request');
    assert.equal(r.code, 0);
  });

  it('404 as given: names the variant that works and the exact config set line; exit 3', async () => {
    const s = await relay({ kind: 'plain', prefix: '/api', version: '' });
    const r = await json([], { IMGDESC_BASE_URL: `${s.url}/api`, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o' });
    assert.equal(r.check('base-url').verdict, 'fail');
    assert.match(r.check('base-url').finding, /\/api\/v1\/models answered 404; .*\/api\/models is the API/);
    assert.equal(r.check('base-url').fix, `imgdesc config set base-url ${s.url}/api/chat/completions`);
    assert.equal(r.check('token').verdict, 'pass', 'the rest is checked at the working form');
    assert.equal(r.check('probe').verdict, 'pass');
    assert.equal(r.code, 3);
  });

  it('a listed model that answers 503 no channel: probe ✗ with the relay message, exit 4', async () => {
    const s = await relay({ kind: 'one-api', noChannel: ['gpt-4o'] });
    const r = await json([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o' });
    assert.equal(r.check('models').verdict, 'pass');
    assert.equal(r.check('probe').verdict, 'fail');
    assert.match(r.check('probe').finding, /HTTP 503: 当前分组 default 下对于模型 gpt-4o 无可用渠道/);
    assert.match(r.check('probe').fix ?? '', /no working channel .*doctor --models/);
    assert.equal(r.code, 4);
  });

  it("a bad token: the relay's own message, exit 3, later checks skipped", async () => {
    const s = await relay({ kind: 'new-api' });
    const r = await json([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: 'sk-wrong-token-000' });
    assert.equal(r.check('token').verdict, 'fail');
    assert.match(r.check('token').finding, /HTTP 401: 无效的令牌/);
    assert.equal(r.check('probe').verdict, 'skip');
    assert.equal(r.code, 3);
  });

  it('a relay without quota endpoints: "not offered by this relay"', async () => {
    const s = await relay({ kind: 'plain' });
    const r = await json(['--no-probe'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN });
    assert.equal(r.check('quota').verdict, 'skip');
    assert.equal(r.check('quota').finding, 'not offered by this relay');
    assert.equal(r.code, 0);
  });

  it('quota used up: ✗ with the fix, exit 3', async () => {
    const s = await relay({ kind: 'one-api', quota: { remaining: 0, used: 5 } });
    const r = await json(['--no-probe'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN });
    assert.equal(r.check('quota').verdict, 'fail');
    assert.match(r.check('quota').fix ?? '', /top up/);
    assert.equal(r.code, 3);
  });

  it('configured model not listed: closest ids and the config set line', async () => {
    const s = await relay({ kind: 'one-api' });
    const r = await json(['--no-probe'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o-2024-05-13' });
    assert.equal(r.check('models').verdict, 'fail');
    assert.match(r.check('models').finding, /gpt-4o-2024-05-13 is not listed: did you mean gpt-4o/);
    assert.equal(r.check('models').fix, 'imgdesc config set model gpt-4o');
  });

  it('nothing configured: exit 3 pointing at imgdesc init', async () => {
    const r = await json([], {});
    assert.equal(r.check('config').verdict, 'fail');
    assert.equal(r.check('config').fix, 'imgdesc init');
    assert.equal(r.code, 3);
  });

  it('unreachable relay: exit 4', async () => {
    const s = await relay({ kind: 'one-api' });
    await s.close();
    const r = await json([], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN });
    assert.equal(r.check('base-url').verdict, 'fail');
    assert.match(r.check('base-url').finding, /not reachable/);
    assert.equal(r.code, 4);
  });

  it('--models probes every vision-capable model and prints a table', async () => {
    const s = await relay({ kind: 'new-api', noChannel: ['gemini-2.5-flash'] });
    const r = await doctor(['--models'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: 'gpt-4o' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /model +images +latency +error/);
    assert.match(r.stdout, /gemini-2\.5-flash +✗ no .*HTTP 503: 当前分组 default/);
    assert.match(r.stdout, /gpt-4o +✓ yes/);
    const posts = s.requests
      .filter((q) => q.method === 'POST')
      .map((q) => q.json.model)
      .sort();
    assert.deepEqual(
      posts,
      ['claude-sonnet-4-5-20250929', 'gemini-2.5-flash', 'gpt-4o'],
      'one probe per vision model, the configured one not twice',
    );
  });

  it('--models with more than 5 requests and no terminal: exit 2 naming --yes', async () => {
    const many = Array.from({ length: 6 }, (_, i) => `gpt-4o-2024-0${i + 1}-01`);
    const s = await relay({ kind: 'one-api', models: many });
    const r = await doctor(['--models'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--yes/);
    assert.equal(s.requests.filter((q) => q.method === 'POST').length, 0);
    const yes = await doctor(['--models', '--yes', '--json'], { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN });
    assert.equal((JSON.parse(yes.stdout) as { models: unknown[] }).models.length, 6);
  });
});

describe('describe and batch failures that doctor explains end with "run `imgdesc doctor`"', () => {
  const image = fixture('png-rgb.png');
  it('describe: no channel for the model', { skip: noFixtures }, async () => {
    const s = await relay({ kind: 'one-api', noChannel: ['gpt-4o'] });
    const r = await run(['-m', 'gpt-4o', '--retries', '0', image], { env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /无可用渠道.*\nhint: .*run `imgdesc doctor`\n$/);
  });
  it('describe: quota used up (403)', { skip: noFixtures }, async () => {
    const s = await relay({ kind: 'new-api', quota: { remaining: 0, used: 1 } });
    const r = await run(['-m', 'gpt-4o', image], { env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /用户额度不足.*\nhint: .*run `imgdesc doctor`\n$/);
  });
  it('describe: a bad token is not one of them', { skip: noFixtures }, async () => {
    const s = await relay({ kind: 'one-api' });
    const r = await run(['-m', 'gpt-4o', image], { env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: 'sk-nope-nope' } });
    assert.equal(r.code, 3);
    assert.doesNotMatch(r.stderr, /imgdesc doctor/);
  });
  it('batch: each failed item line', { skip: noFixtures }, async () => {
    const s = await relay({ kind: 'one-api', noChannel: ['gpt-4o'] });
    const r = await run(['batch', '-m', 'gpt-4o', '--retries', '0', image], { env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN } });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /png-rgb\.png: .*无可用渠道.*\nhint: .*run `imgdesc doctor`$/m);
    assert.doesNotMatch(r.stdout, /imgdesc doctor/, 'the JSONL record keeps the relay message as it was');
  });
});

describe('imgdesc doctor and proxies (spawned: undici reads the proxy variables of the process)', () => {
  it('through a proxy: ✓ proxy names it, and the relay is reached through it', async () => {
    const s = await relay({ kind: 'one-api' });
    const proxy = await startProxy();
    try {
      const r = await runCli(['doctor', '--json', '--no-probe'], {
        env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, HTTP_PROXY: proxy.url },
      });
      const report = JSON.parse(r.stdout) as { checks: { id: string; verdict: string; finding: string }[] };
      const check = (id: string) => report.checks.find((c) => c.id === id);
      assert.equal(r.code, 0, r.stdout);
      assert.match(check('proxy')?.finding ?? '', new RegExp(`reached through ${proxy.url} \\(HTTP_PROXY\\)`));
      assert.ok(proxy.seen.length > 0, 'the requests went through the proxy');
    } finally {
      await proxy.close();
    }
  });

  it('a dead proxy: base URL ✗ with a fix that names the proxy, exit 4', async () => {
    const s = await relay({ kind: 'one-api' });
    const proxy = await startProxy();
    await proxy.close();
    const r = await runCli(['doctor', '--json'], { env: { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, HTTP_PROXY: proxy.url } });
    const report = JSON.parse(r.stdout) as { checks: { id: string; verdict: string; fix: string | null }[] };
    const base = report.checks.find((c) => c.id === 'base-url');
    assert.equal(base?.verdict, 'fail');
    assert.match(base?.fix ?? '', new RegExp(`check the proxy ${proxy.url}`));
    assert.equal(r.code, 4);
  });
});

describe('imgdesc doctor and TLS (spawned: NODE_EXTRA_CA_CERTS is read at start)', () => {
  const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
  const skip = hasOpenssl ? false : 'skipped: openssl (to make a test certificate) is not installed';

  /** A one-api-like relay over https with a certificate made for 127.0.0.1, signed by itself. */
  async function httpsRelay(): Promise<{ url: string; cert: string; close: () => Promise<void> }> {
    const dir = tempDir('imgdesc-tls-');
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    assert.equal(made.status, 0, 'openssl made a certificate');
    const handle = relayHandler({ kind: 'one-api' });
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      handle(
        {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          json: body ? JSON.parse(body) : undefined,
          at: Date.now(),
        },
        res,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    return { url: `https://127.0.0.1:${port}`, cert, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('a certificate the machine does not trust: base URL ✗ TLS, exit 4; trusted: ✓ TLS valid', { skip }, async () => {
    const s = await httpsRelay();
    try {
      const env = { IMGDESC_BASE_URL: s.url, IMGDESC_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: undefined };
      const bad = await runCli(['doctor', '--json', '--no-probe'], { env });
      const badBase = (JSON.parse(bad.stdout) as { checks: { id: string; verdict: string; finding: string; fix: string }[] }).checks.find(
        (c) => c.id === 'base-url',
      );
      assert.equal(badBase?.verdict, 'fail');
      assert.match(badBase?.finding ?? '', /^TLS failed for 127\.0\.0\.1:\d+: DEPTH_ZERO_SELF_SIGNED_CERT$/);
      assert.match(badBase?.fix ?? '', /NODE_EXTRA_CA_CERTS/);
      assert.equal(bad.code, 4);
      const good = await runCli(['doctor', '--no-probe'], { env: { ...env, NODE_EXTRA_CA_CERTS: s.cert } });
      assert.equal(good.code, 0, good.stdout);
      assert.match(good.stdout, /✓ base URL +127\.0\.0\.1:\d+ reachable, TLS valid/);
    } finally {
      await s.close();
    }
  });
});
