// doctor's decisions, one line per case.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_DOCTOR,
  hintWithDoctor,
  baseUrlCheck,
  baseUrlFor,
  configCheck,
  configSetLine,
  doctorExitCode,
  failureCause,
  modelsCheck,
  probeCheck,
  probeSkipReason,
  proxyFor,
  quotaCheck,
  quotaUrls,
  readBilling,
  readTokenUsage,
  safeProxy,
  tokenCheck,
  urlVariants,
  type Check,
  type ConfigFacts,
  type ModelsFacts,
  type Outcome,
  type ProbeOutcome,
} from '../../../src/core/doctor.ts';

const http = (status: number, extra: Partial<Extract<Outcome, { kind: 'http' }>> = {}): Outcome => ({ kind: 'http', status, ...extra });

describe('doctorExitCode', () => {
  const c = (verdict: Check['verdict'], blame?: Check['blame']): Check => ({ id: 'token', verdict, finding: '', blame });
  const cases: [Check[], number][] = [
    [[c('pass'), c('skip')], 0],
    [[c('pass'), c('fail', 'relay')], 4],
    [[c('fail', 'relay'), c('fail', 'config')], 3],
    [[c('fail', 'config')], 3],
    [[], 0],
  ];
  for (const [checks, code] of cases)
    it(`${checks.map((x) => `${x.verdict}/${x.blame ?? '-'}`).join(' ') || 'none'} → ${code}`, () =>
      assert.equal(doctorExitCode(checks), code));
});

describe('failureCause', () => {
  const cases: [Parameters<typeof failureCause>[0], ReturnType<typeof failureCause>][] = [
    [{ status: 503, message: '当前分组 default 下对于模型 gpt-4o 无可用渠道 (request id: 1)' }, 'no-channel'],
    [{ status: 503, code: 'model_not_found', message: 'No available channel for model gpt-4o under group default' }, 'no-channel'],
    [{ status: 404, code: 'model_not_found', message: 'The model `gpt-9` does not exist' }, 'model-not-found'],
    [{ status: 404, type: 'not_found_error', message: 'model: claude-3-5-sonnet-20240620' }, 'model-not-found'],
    [{ status: 403, code: 'insufficient_user_quota', message: '用户额度不足, 剩余额度: ＄0.000000' }, 'quota'],
    [{ status: 401, message: '令牌 default（#1）额度已用尽' }, 'quota'],
    [{ status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota' }, 'quota'],
    [{ status: 402, message: 'Payment Required' }, 'quota'],
    [{ status: 403, message: '该令牌无权使用模型：gpt-4o' }, 'not-allowed'],
    [{ status: 413, message: 'Request Entity Too Large' }, 'too-large'],
    [{ status: 400, type: 'request_too_large', message: 'Request exceeds the maximum size' }, 'too-large'],
    [{ status: 401, message: '无效的令牌' }, 'auth'],
    [{ status: 500, message: 'upstream error' }, 'other'],
    [{ status: 200, code: 'model_not_found', message: '当前分组上游负载已饱和，请稍后再试' }, 'other'],
  ];
  for (const [e, cause] of cases) it(`${e.status} ${e.message.slice(0, 40)} → ${cause}`, () => assert.equal(failureCause(e), cause));
});

describe('configSetLine', () => {
  const cases: [string, string | undefined, string, boolean, string][] = [
    ['base-url', 'https://h/v1', 'default', false, 'imgdesc config set base-url https://h/v1'],
    ['model', 'gpt-4o', 'work', true, 'imgdesc config set model gpt-4o --profile work'],
    ['model', 'a model', 'default', false, "imgdesc config set model 'a model'"],
    ['token', undefined, 'default', false, 'imgdesc config set token'],
  ];
  for (const [key, value, profile, explicit, line] of cases)
    it(line, () => assert.equal(configSetLine(key, value, profile, explicit), line));
});

describe('configCheck', () => {
  const base: ConfigFacts = {
    profile: 'default',
    profileExplicit: false,
    profileExists: true,
    baseUrl: 'https://h/v1',
    token: 'sk-x',
    model: 'gpt-4o',
    sources: { 'base-url': 'profile', token: 'env', model: 'openai-env' },
    file: { path: '/home/u/.config/imgdesc/config.json', mode: 0o600, dirMode: 0o700 },
  };
  const cases: [string, Partial<ConfigFacts>, Check['verdict'], string | undefined][] = [
    ['all set, owner-only', {}, 'pass', undefined],
    ['no base URL, no profile yet', { baseUrl: undefined, profileExists: false }, 'fail', 'imgdesc init'],
    ['no base URL in a profile', { baseUrl: undefined }, 'fail', 'imgdesc config set base-url https://relay.example.com'],
    [
      'no token in a named profile',
      { token: undefined, profile: 'w', profileExplicit: true },
      'fail',
      'printf %s "$TOKEN" | imgdesc config set token --profile w',
    ],
    [
      'file readable by others',
      { file: { path: '/c/imgdesc/config.json', mode: 0o644, dirMode: 0o700 } },
      'fail',
      'chmod 600 /c/imgdesc/config.json',
    ],
    ['folder open to others', { file: { path: '/c/imgdesc/config.json', mode: 0o600, dirMode: 0o755 } }, 'fail', 'chmod 700 /c/imgdesc'],
    ['no file: settings from the environment', { file: { path: '/c/imgdesc/config.json', mode: null, dirMode: null } }, 'pass', undefined],
  ];
  for (const [name, facts, verdict, fix] of cases) {
    it(name, () => {
      const c = configCheck({ ...base, ...facts });
      assert.equal(c.verdict, verdict);
      assert.equal(c.fix, fix);
    });
  }
  it('says when the file was loose and got tightened', () =>
    assert.match(
      configCheck({ ...base, file: { ...base.file, modeBefore: 0o644 } }).details?.join('\n') ?? '',
      /config\.json \(0600\), was 0644: imgdesc tightened it/,
    ));
  it('says where each setting came from', () =>
    assert.match(configCheck(base).finding, /the profile, IMGDESC_TOKEN, OPENAI_BASE_URL|the profile, IMGDESC_TOKEN/));
});

describe('baseUrlFor / urlVariants', () => {
  const forCases: [string, string | null][] = [
    ['https://h/v1', 'https://h/v1'],
    ['https://h/relay/v1', 'https://h/relay/v1'],
    ['https://h', 'https://h/chat/completions'],
    ['https://h/api', 'https://h/api/chat/completions'],
    ['https://h/v1beta/openai', 'https://h/v1beta/openai'],
  ];
  for (const [root, stored] of forCases) it(`baseUrlFor ${root} → ${stored}`, () => assert.equal(baseUrlFor(root), stored));
  const variantCases: [string, string[]][] = [
    ['https://h/v1', ['https://h/chat/completions']],
    ['https://h/api/v1', ['https://h/api/chat/completions', 'https://h', 'https://h/chat/completions']],
    ['https://h/openai', ['https://h/openai/v1', 'https://h/chat/completions', 'https://h']],
    ['https://h/api/v3', ['https://h/api/v3/v1', 'https://h/api/chat/completions', 'https://h', 'https://h/chat/completions']],
    // a dashboard's address: the host's own /v1 (stored as the bare host), then the host
    ['https://h/token/v1', ['https://h/token/chat/completions', 'https://h', 'https://h/chat/completions']],
    ['https://h/console/token/v1', ['https://h/console/token/chat/completions', 'https://h', 'https://h/chat/completions']],
  ];
  for (const [root, stored] of variantCases)
    it(`urlVariants ${root} → ${stored.join(', ')}`, () =>
      assert.deepEqual(
        urlVariants(root).map((v) => v.baseUrl),
        stored,
      ));
});

describe('baseUrlCheck', () => {
  const facts = {
    baseUrl: 'https://h/api',
    modelsUrl: 'https://h/api/v1/models',
    variants: [],
    proxy: null,
    profile: 'default',
    profileExplicit: false,
  };
  const cases: [string, Partial<Parameters<typeof baseUrlCheck>[0]>, Check['verdict'], RegExp][] = [
    ['401 still reaches the API', { outcome: http(401) }, 'pass', /h reachable, TLS valid \(HTTP 401/],
    [
      '404, a variant answers',
      { outcome: http(404), variants: [{ root: 'https://h/api', baseUrl: 'https://h/api/chat/completions', outcome: http(200) }] },
      'fail',
      /answered 404; https:\/\/h\/api\/models is the API/,
    ],
    [
      'a web page at 200 is not the API',
      { outcome: http(200, { notApi: true, message: 'expected JSON, got New API' }), variants: [] },
      'fail',
      /answered 200 with expected JSON, got New API/,
    ],
    [
      '404 everywhere',
      { outcome: http(404), variants: [{ root: 'https://h', baseUrl: 'https://h/chat/completions', outcome: http(404) }] },
      'fail',
      /and so did https:\/\/h\/models/,
    ],
    ['TLS', { outcome: { kind: 'tls', message: 'CERT_HAS_EXPIRED' } }, 'fail', /TLS failed for h: CERT_HAS_EXPIRED/],
    ['refused', { outcome: { kind: 'network', message: 'could not connect to h:443: ECONNREFUSED' } }, 'fail', /h not reachable/],
  ];
  for (const [name, f, verdict, finding] of cases) {
    it(name, () => {
      const c = baseUrlCheck({ ...facts, outcome: http(200), ...f });
      assert.equal(c.verdict, verdict);
      assert.match(c.finding, finding);
    });
  }
  it('the fix of a working variant is the exact config set line', () =>
    assert.equal(
      baseUrlCheck({
        ...facts,
        outcome: http(404),
        variants: [{ root: 'https://h/api', baseUrl: 'https://h/api/chat/completions', outcome: http(401) }],
      }).fix,
      'imgdesc config set base-url https://h/api/chat/completions',
    ));
  it('a connection failure through a proxy names the proxy', () =>
    assert.match(
      baseUrlCheck({ ...facts, proxy: 'http://p:3128', outcome: { kind: 'network', message: 'x' } }).fix ?? '',
      /proxy http:\/\/p:3128/,
    ));
});

describe('tokenCheck', () => {
  const cases: [Outcome, Check['verdict'], Check['blame']][] = [
    [http(200), 'pass', undefined],
    [http(401, { message: '无效的令牌' }), 'fail', 'config'],
    [http(403, { message: '用户已被封禁' }), 'fail', 'config'],
    [http(502, { message: 'Bad Gateway' }), 'fail', 'relay'],
    [http(404), 'skip', undefined],
    [{ kind: 'network', message: 'ECONNREFUSED' }, 'skip', undefined],
  ];
  for (const [o, verdict, blame] of cases)
    it(`${JSON.stringify(o)} → ${verdict}`, () => {
      const c = tokenCheck(o, 'the profile');
      assert.equal(c.verdict, verdict);
      assert.equal(c.blame, blame);
    });
});

describe('modelsCheck', () => {
  const f: ModelsFacts = {
    ids: ['claude-sonnet-4-5-20250929', 'gpt-4o', 'text-embedding-3-small'],
    vision: ['claude-sonnet-4-5-20250929', 'gpt-4o'],
    model: 'gpt-4o',
    closest: [],
    profile: 'default',
    profileExplicit: false,
  };
  const cases: [string, Partial<ModelsFacts>, Check['verdict'], string | undefined][] = [
    ['listed', {}, 'pass', undefined],
    ['none configured', { model: undefined }, 'pass', undefined],
    ['not listed: the closest one', { model: 'gpt-4o-2024-05-13', closest: ['gpt-4o'] }, 'fail', 'imgdesc config set model gpt-4o'],
    ['not listed, nothing close: the first vision model', { model: 'x' }, 'fail', 'imgdesc config set model claude-sonnet-4-5-20250929'],
    ['an empty list', { ids: [], vision: [] }, 'skip', undefined],
    [
      'listed, but takes no images',
      { ids: [...f.ids, 'deepseek-chat'], model: 'deepseek-chat', closest: ['gpt-4o'] },
      'fail',
      'imgdesc config set model gpt-4o',
    ],
  ];
  for (const [name, facts, verdict, fix] of cases) {
    it(name, () => {
      const c = modelsCheck({ ...f, ...facts });
      assert.equal(c.verdict, verdict);
      assert.equal(c.fix, fix);
    });
  }
});

describe('modelsCheck: a model not listed is one finding, "did you mean"', () => {
  const c = modelsCheck({
    ids: ['claude-sonnet-4-5-20250929', 'gpt-4o'],
    vision: ['claude-sonnet-4-5-20250929', 'gpt-4o'],
    model: 'claude-sonet-4-5',
    closest: ['claude-sonnet-4-5-20250929', 'gpt-4o'],
    profile: 'default',
    profileExplicit: false,
  });
  it('names the one meant', () => assert.match(c.finding, /claude-sonet-4-5 is not listed: did you mean claude-sonnet-4-5-20250929\?$/));
});

describe('probeSkipReason: one line per case', () => {
  const ids = ['gpt-4o', 'deepseek-chat'];
  const cases: [string, string[], string | undefined, string | undefined][] = [
    ['a listed model is probed', ids, 'gpt-4o', undefined],
    ['no model: nothing to skip for', ids, undefined, undefined],
    ['a model the relay does not list is not probed', ids, 'claude-sonet-4-5', "not sent: claude-sonet-4-5 is not in the relay's list"],
    ['a relay that lists nothing: probed (it may still answer)', [], 'gpt-4o', undefined],
    ['a model that takes no images is not probed', ids, 'deepseek-chat', 'not sent: deepseek-chat takes no images'],
  ];
  for (const [name, list, model, want] of cases) it(name, () => assert.equal(probeSkipReason(list, model), want));
});

describe('probeCheck', () => {
  const fail = (extra: Partial<Extract<ProbeOutcome, { ok: false }>>): ProbeOutcome => ({ ok: false, ms: 12, message: 'x', ...extra });
  const cases: [string, ProbeOutcome | null, Check['verdict'], Check['blame'], RegExp][] = [
    ['skipped', null, 'skip', undefined, /--no-probe/],
    [
      'works',
      { ok: true, ms: 812.4, finishReason: 'length', usage: { prompt_tokens: 90, completion_tokens: 1 } },
      'pass',
      undefined,
      /812 ms \(finish_reason length, 90 prompt \+ 1 completion tokens\)/,
    ],
    ['no channel', fail({ status: 503, message: '当前分组 default 下对于模型 m 无可用渠道' }), 'fail', 'relay', /HTTP 503: 当前分组/],
    ['quota', fail({ status: 403, code: 'insufficient_user_quota', message: '用户额度不足' }), 'fail', 'config', /HTTP 403/],
    ['timeout', fail({ message: 'timed out after 300 s' }), 'fail', 'relay', /failed after 12 ms: timed out/],
  ];
  for (const [name, o, verdict, blame, finding] of cases) {
    it(name, () => {
      const c = probeCheck('m', o, ['m2'], 'default', false);
      assert.equal(c.verdict, verdict);
      assert.equal(c.blame, blame);
      assert.match(c.finding, finding);
    });
  }
  it('model not found: the closest id as a config set line', () =>
    assert.match(
      probeCheck('m', fail({ status: 404, code: 'model_not_found', message: 'no such model' }), ['m2'], 'default', false).fix ?? '',
      /^imgdesc config set model m2/,
    ));
});

describe('quota', () => {
  it('quotaUrls beside /v1 and at the relay root', () =>
    assert.deepEqual(quotaUrls('https://h/relay/v1'), {
      subscription: 'https://h/relay/v1/dashboard/billing/subscription',
      usage: 'https://h/relay/v1/dashboard/billing/usage',
      tokenUsage: 'https://h/relay/api/usage/token',
    }));
  it('no token usage URL for a root without /v1', () => assert.equal(quotaUrls('https://h/v1beta/openai').tokenUsage, null));
  const sub = (limit: number, until = 0) => ({
    object: 'billing_subscription',
    has_payment_method: true,
    soft_limit_usd: limit,
    hard_limit_usd: limit,
    system_hard_limit_usd: limit,
    access_until: until,
  });
  const now = 1_800_000_000;
  const cases: [string, ReturnType<typeof readBilling>, Check['verdict'], RegExp][] = [
    [
      'billing: remaining = total − used',
      readBilling(sub(15), { object: 'list', total_usage: 250 }),
      'pass',
      /^12\.50 of 15 left, 2\.50 used/,
    ],
    ['billing: used up', readBilling(sub(5), { object: 'list', total_usage: 500 }), 'fail', /^used up/],
    ['billing: unlimited', readBilling(sub(100000000), { object: 'list', total_usage: 1 }), 'pass', /^unlimited/],
    ['billing without usage', readBilling(sub(15), null), 'pass', /^limit 15/],
    ['billing: expired', readBilling(sub(15, now - 86400), { object: 'list', total_usage: 0 }), 'fail', /expired/],
    [
      'token usage',
      readTokenUsage({
        code: true,
        message: 'ok',
        data: { object: 'token_usage', total_granted: 100, total_used: 40, total_available: 60, unlimited_quota: false, expires_at: 0 },
      }),
      'pass',
      /^60 of 100 quota units left \(≈ \$0\.00 at new-api's default 500000 a dollar\), 40 quota units used/,
    ],
    [
      'token usage: unlimited',
      readTokenUsage({ code: true, data: { object: 'token_usage', total_available: 0, unlimited_quota: true } }),
      'pass',
      /^unlimited/,
    ],
    ['not offered', readBilling({ error: { message: 'x' } }, null) ?? readTokenUsage('<html>'), 'skip', /^not offered by this relay$/],
  ];
  for (const [name, q, verdict, finding] of cases) {
    it(name, () => {
      const c = quotaCheck(q, now);
      assert.equal(c.verdict, verdict);
      assert.match(c.finding, finding);
    });
  }
});

describe('proxyFor', () => {
  const cases: [string, Record<string, string>, string | null, string | null][] = [
    ['https://h/v1', {}, null, null],
    ['https://h/v1', { HTTPS_PROXY: 'http://p:1' }, 'http://p:1', null],
    ['https://h/v1', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1' }, 'http://lower:1', null],
    ['https://h/v1', { HTTP_PROXY: 'http://p:2' }, 'http://p:2', null],
    ['http://h/v1', { HTTPS_PROXY: 'http://p:1' }, null, null],
    ['https://api.h.com/v1', { HTTPS_PROXY: 'http://p:1', NO_PROXY: '.h.com' }, null, 'NO_PROXY (.h.com)'],
    ['https://h:8443/v1', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'h:443' }, 'http://p:1', null],
    ['https://h/v1', { HTTPS_PROXY: 'http://p:1', no_proxy: '*' }, null, 'no_proxy=*'],
  ];
  for (const [url, env, proxy, bypassed] of cases) {
    it(`${url} ${JSON.stringify(env)} → ${proxy ?? bypassed ?? 'direct'}`, () => {
      const p = proxyFor(url, env);
      assert.equal(p.proxy, proxy);
      assert.equal(p.bypassed, bypassed);
    });
  }
  it('a proxy password is hidden', () => assert.equal(safeProxy('http://u:secret@p:3128'), 'http://u:***@p:3128'));
});

describe('hintWithDoctor', () => {
  const noChannel = { status: 503, message: '当前分组 default 下对于模型 m 无可用渠道' };
  const cases: [string, Parameters<typeof hintWithDoctor>[0], string | undefined, string | undefined][] = [
    ['no channel, no hint', noChannel, undefined, RUN_DOCTOR],
    ['no channel, a hint', noChannel, 'try another model', `try another model; ${RUN_DOCTOR}`],
    ['already says it', noChannel, `closest: x; ${RUN_DOCTOR}`, `closest: x; ${RUN_DOCTOR}`],
    ['413', { status: 413, message: 'Request Entity Too Large' }, 'lower --max-bytes', `lower --max-bytes; ${RUN_DOCTOR}`],
    ["a bad token is not doctor's", { status: 401, message: '无效的令牌' }, 'set the token', 'set the token'],
  ];
  for (const [name, e, hint, want] of cases) it(name, () => assert.equal(hintWithDoctor(e, hint), want));
});
