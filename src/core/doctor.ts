// `doctor` and `init`: what each finding means and what to do about it. Pure: facts in, verdicts
// out; the requests that gather the facts are in doctor-run.ts.
import { APIError, isModelDenied, isModelNotFound, isNoChannel, isQuotaError, resolveEndpoints, takesNoImages } from '../api/index.ts';
import type { CliError } from '../types.ts';
import { IMGDESC_ENV, OPENAI_ENV, type SettingSource } from '../config/settings.ts';

/** ✓ / ✗ / – */
export type Verdict = 'pass' | 'fail' | 'skip';
export type CheckId = 'config' | 'base-url' | 'token' | 'models' | 'probe' | 'quota' | 'proxy';

export interface Check {
  id: CheckId;
  verdict: Verdict;
  /** One line: what was found. */
  finding: string;
  /** For a failure: what to do, as a command where there is one. */
  fix?: string | undefined;
  /** Which exit code a failure means: 3 for configuration or authentication, 4 for the relay. */
  blame?: 'config' | 'relay' | undefined;
  /** More lines under the finding (where each setting came from ...). */
  details?: string[] | undefined;
}

/** What one HTTP request came to, as far as the checks care. */
export type Outcome =
  | {
      kind: 'http';
      status: number;
      message?: string | undefined;
      hint?: string | undefined;
      /** A 2xx that is not an API answer (an HTML page: the relay's web UI behind a wrong path). */
      notApi?: boolean | undefined;
    }
  | { kind: 'tls'; message: string }
  | { kind: 'network'; message: string };

/** 0 when every check passed (or was skipped), 3 when configuration or authentication failed, 4 when the relay or the probe did. */
export function doctorExitCode(checks: Check[]): 0 | 3 | 4 {
  const failed = checks.filter((c) => c.verdict === 'fail');
  if (failed.some((c) => c.blame === 'config')) return 3;
  return failed.length ? 4 : 0;
}

// ---------------------------------------------------------------------------------------------
// configuration

/** `IMGDESC_BASE_URL`, `the profile` ...: where a setting came from, in the words the user set it with. */
export function sourceWords(key: 'base-url' | 'token' | 'model', source: SettingSource | undefined): string {
  switch (source) {
    case undefined:
      return 'not set';
    case 'flag':
      return `--${key}`;
    case 'env':
      return IMGDESC_ENV[key] ?? 'the environment';
    case 'openai-env':
      return OPENAI_ENV[key] ?? 'the environment';
    case 'profile':
      return 'the profile';
    case 'token-command':
      return "the profile's token-command";
    case 'default':
      return 'the built-in default';
  }
}

export interface ConfigFacts {
  profile: string;
  /** The profile was named by --profile or IMGDESC_PROFILE (then fixes name it too). */
  profileExplicit: boolean;
  profileExists: boolean;
  baseUrl: string | undefined;
  token: string | undefined;
  model: string | undefined;
  sources: Partial<Record<'base-url' | 'token' | 'model', SettingSource>>;
  /** Modes now, and the file's mode before imgdesc opened it (it tightens a loose one when it can). */
  file: { path: string; mode: number | null; dirMode: number | null; modeBefore?: number | null | undefined };
}

/** `imgdesc config set KEY VALUE [--profile NAME]`, the exact line a fix asks for. */
export function configSetLine(key: string, value: string | undefined, profile: string, explicit: boolean): string {
  const v = value === undefined ? '' : ` ${/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`}`;
  return `imgdesc config set ${key}${v}${explicit ? ` --profile ${profile}` : ''}`;
}

const octal = (mode: number) => '0' + (mode & 0o777).toString(8);

export function configCheck(f: ConfigFacts): Check {
  const details = [
    `base URL: ${f.baseUrl ?? 'not set'} (${sourceWords('base-url', f.sources['base-url'])})`,
    `token: ${f.token ? 'set' : 'not set'} (${sourceWords('token', f.sources.token)})`,
    `model: ${f.model ?? 'not set'} (${sourceWords('model', f.sources.model)})`,
    `config file: ${f.file.path}${f.file.mode === null ? ' (does not exist)' : ` (${octal(f.file.mode)})`}${
      f.file.modeBefore != null && f.file.mode !== null && f.file.modeBefore !== f.file.mode
        ? `, was ${octal(f.file.modeBefore)}: imgdesc tightened it`
        : ''
    }`,
  ];
  const profileWords = `profile ${f.profile}${f.profileExists ? '' : ' (not saved yet)'}`;
  const fail = (finding: string, fix: string): Check => ({
    id: 'config',
    verdict: 'fail',
    finding: `${profileWords}: ${finding}`,
    fix,
    blame: 'config',
    details,
  });
  if (!f.baseUrl)
    return fail(
      'no base URL',
      f.profileExists ? configSetLine('base-url', 'https://relay.example.com', f.profile, f.profileExplicit) : 'imgdesc init',
    );
  if (!f.token)
    return fail(
      'no token',
      f.profileExists ? `printf %s "$TOKEN" | ${configSetLine('token', undefined, f.profile, f.profileExplicit)}` : 'imgdesc init',
    );
  // The file holds the token: nobody but its owner may read it (ProfileStore tightens it when it can).
  const loose = [
    f.file.mode !== null && (f.file.mode & 0o077) !== 0 ? `chmod 600 ${f.file.path}` : '',
    f.file.dirMode !== null && (f.file.dirMode & 0o077) !== 0 ? `chmod 700 ${f.file.path.replace(/[/\\][^/\\]*$/, '')}` : '',
  ].filter(Boolean);
  if (loose.length)
    return fail(
      `others can read the config file or its folder (${octal(f.file.mode ?? 0)}, folder ${octal(f.file.dirMode ?? 0)})`,
      loose.join(' && '),
    );
  return { id: 'config', verdict: 'pass', finding: `${profileWords}; base URL, token and model from ${summary(f)}`, details };
}

function summary(f: ConfigFacts): string {
  const words = (['base-url', 'token', 'model'] as const).map((k) => sourceWords(k, f.sources[k]));
  return [...new Set(words)].join(', ');
}

// ---------------------------------------------------------------------------------------------
// base URL

/**
 * The shortest text that, stored as the base URL, makes imgdesc use this API root (the root is where
 * `/models` and `/chat/completions` live). Null when no stored form leads there.
 */
export function baseUrlFor(root: string): string | null {
  for (const candidate of [root, `${root}/chat/completions`]) {
    try {
      if (resolveEndpoints(candidate).base === root) return candidate;
    } catch {
      // not a URL form the rule accepts
    }
  }
  return null;
}

/**
 * The API roots to try when the configured one answers 404 or a web page: with `/v1` added, with
 * its last path segment removed (`https://h/v1` → `https://h`, a relay that is not versioned), then
 * the host's own `/v1` and the bare host: a pasted dashboard address (`https://h/token`,
 * `https://h/console/token`) is a page of the relay whose API is at `https://h/v1`. Each comes
 * with the base-URL text that selects it (the bare host for `https://h/v1`).
 */
export function urlVariants(root: string): { root: string; baseUrl: string }[] {
  const url = new URL(root);
  const path = url.pathname.replace(/\/+$/, '');
  const roots: string[] = [];
  if (!/\/v1$/.test(path)) roots.push(`${url.origin}${path}/v1`);
  if (path !== '') roots.push(`${url.origin}${path.slice(0, path.lastIndexOf('/'))}`);
  roots.push(`${url.origin}/v1`, url.origin);
  return [...new Set(roots)]
    .filter((r) => r !== root)
    .map((r) => ({ root: r, baseUrl: r === `${url.origin}/v1` ? url.origin : baseUrlFor(r) }))
    .filter((v): v is { root: string; baseUrl: string } => v.baseUrl !== null);
}

export interface BaseUrlFacts {
  baseUrl: string;
  /** `{root}/models`, the URL that was asked. */
  modelsUrl: string;
  outcome: Outcome;
  /** When the root answered 404: what each variant answered, in the order tried. */
  variants: { root: string; baseUrl: string; outcome: Outcome }[];
  /** The proxy the request went through, if any (for the fix of a connection failure). */
  proxy: string | null;
  profile: string;
  profileExplicit: boolean;
}

/** The root is not where the API lives: 404, or a web page instead of JSON. */
export const missesApi = (o: Outcome) => o.kind === 'http' && (o.status === 404 || o.notApi === true);
const answered = (o: Outcome) => o.kind === 'http' && !missesApi(o);

/** The first variant that answers anything but 404 (401 counts: the route exists, the token is another check). */
export function workingVariant<T extends { outcome: Outcome }>(variants: T[]): T | undefined {
  return variants.find((v) => answered(v.outcome));
}

export function baseUrlCheck(f: BaseUrlFacts): Check {
  const o = f.outcome;
  const url = new URL(f.modelsUrl);
  const where = `${url.host}`;
  if (o.kind === 'tls') {
    return {
      id: 'base-url',
      verdict: 'fail',
      finding: `TLS failed for ${where}: ${o.message}`,
      fix: f.proxy
        ? `check the proxy ${f.proxy} and its certificate (NODE_EXTRA_CA_CERTS for a private CA)`
        : 'check the host name in the base URL; a private CA needs NODE_EXTRA_CA_CERTS',
      blame: 'relay',
    };
  }
  if (o.kind === 'network') {
    return {
      id: 'base-url',
      verdict: 'fail',
      finding: `${where} not reachable: ${o.message}`,
      fix: f.proxy
        ? `check the proxy ${f.proxy} (or NO_PROXY), and the host name in the base URL`
        : 'check the host name and port in the base URL, and your network',
      blame: 'relay',
    };
  }
  const tls = url.protocol === 'https:' ? ', TLS valid' : ', plain http';
  if (missesApi(o)) {
    const what = o.status === 404 ? 'answered 404' : `answered ${o.status} with ${o.message ?? 'a web page'}`;
    const good = workingVariant(f.variants);
    if (good) {
      return {
        id: 'base-url',
        verdict: 'fail',
        finding: `${f.modelsUrl} ${what}; ${good.root}/models is the API`,
        fix: configSetLine('base-url', good.baseUrl, f.profile, f.profileExplicit),
        blame: 'config',
      };
    }
    const tried = f.variants.map((v) => `${v.root}/models`).join(', ');
    return {
      id: 'base-url',
      verdict: 'fail',
      finding: `${f.modelsUrl} ${what}${tried ? `, and so did ${tried}` : ''}`,
      fix: "use the API address from the relay's documentation (often ends in /v1); a full …/chat/completions URL is used exactly",
      blame: 'config',
    };
  }
  return { id: 'base-url', verdict: 'pass', finding: `${where} reachable${tls} (HTTP ${o.status} from ${url.pathname})` };
}

// ---------------------------------------------------------------------------------------------
// token

export function tokenCheck(outcome: Outcome, tokenSource: string): Check {
  if (outcome.kind !== 'http' || missesApi(outcome)) {
    return { id: 'token', verdict: 'skip', finding: 'not checked: the relay did not answer GET /models' };
  }
  const { status, message, hint } = outcome;
  if (status >= 200 && status < 300) return { id: 'token', verdict: 'pass', finding: `accepted (GET /models, token from ${tokenSource})` };
  if (status === 401 || status === 403) {
    return {
      id: 'token',
      verdict: 'fail',
      finding: `refused: HTTP ${status}: ${message ?? ''}`.trimEnd(),
      fix: hint ?? 'printf %s "$TOKEN" | imgdesc config set token',
      blame: 'config',
    };
  }
  return {
    id: 'token',
    verdict: 'fail',
    finding: `not checked: GET /models answered HTTP ${status}: ${message ?? ''}`.trimEnd(),
    fix: hint,
    blame: 'relay',
  };
}

// ---------------------------------------------------------------------------------------------
// why a request failed, in the terms of its fix

export type FailureCause = 'model-not-found' | 'no-channel' | 'quota' | 'not-allowed' | 'too-large' | 'auth' | 'other';

/**
 * Sorts a relay's error into the causes doctor can explain, with the api layer's readings of the
 * relays' messages (errors.ts); "no channel" is told apart from "not found" because its fix differs
 * (the relay lists the model, but no channel of the token's group serves it).
 */
export function failureCause(e: {
  status?: number | undefined;
  code?: string | null | undefined;
  type?: string | null | undefined;
  message: string;
}): FailureCause {
  const code = e.code ?? null;
  if (isNoChannel(e.message)) return 'no-channel';
  if (isQuotaError(code, e.message) || e.status === 402) return 'quota';
  if (isModelDenied(code, e.message)) return 'not-allowed';
  if (e.status === 413 || /request_too_large|too large/i.test(`${code ?? ''} ${e.type ?? ''} ${e.message}`)) return 'too-large';
  if (isModelNotFound({ status: e.status, code, type: e.type ?? null, serverMessage: e.message })) return 'model-not-found';
  if (e.status === 401 || e.status === 403) return 'auth';
  return 'other';
}

/** Failures whose fix `imgdesc doctor` finds (which model works, the balance, the size limit). */
export function doctorExplains(cause: FailureCause): boolean {
  return cause === 'model-not-found' || cause === 'no-channel' || cause === 'quota' || cause === 'too-large';
}

const QUOTA_FIX = "top up the account or the token's quota on the relay's site";

function causeFix(cause: FailureCause, model: string, closest: string[], line: (model: string) => string): string | undefined {
  switch (cause) {
    case 'model-not-found':
      return closest[0]
        ? `${line(closest[0])}  (closest the relay lists: ${closest.join(', ')})`
        : 'pick a model the relay lists: imgdesc models';
    case 'no-channel':
      return `the relay lists ${model} but has no working channel for it in your group: pick another (imgdesc doctor --models shows which work) or ask the relay's admin`;
    case 'quota':
      return QUOTA_FIX;
    case 'not-allowed':
      return `the token may not use ${model}: allow it on the relay's token page, or pick another model`;
    case 'too-large':
      return 'something in front of the relay limits the request size: lower it with imgdesc config set max-bytes 1M';
    case 'auth':
      return 'printf %s "$TOKEN" | imgdesc config set token';
    case 'other':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// models

export interface ModelsFacts {
  ids: string[];
  /** The ids the family table marks vision-capable. */
  vision: string[];
  model: string | undefined;
  /** Ids closest to the configured model, best first (used when it is not listed). */
  closest: string[];
  profile: string;
  profileExplicit: boolean;
}

const listed = (ids: string[], max = 6) => (ids.length > max ? `${ids.slice(0, max).join(', ')} …` : ids.join(', '));

export function modelsCheck(f: ModelsFacts): Check {
  const count = `${f.ids.length} model${f.ids.length === 1 ? '' : 's'}, ${f.vision.length} vision-capable${f.vision.length ? ` (${listed(f.vision)})` : ''}`;
  if (f.ids.length === 0)
    return { id: 'models', verdict: 'skip', finding: 'the relay lists no models (some relays hide them; the probe tells)' };
  if (!f.model) return { id: 'models', verdict: 'pass', finding: `${count}; no model configured, imgdesc picks one` };
  const blind = takesNoImages(f.model);
  if (f.ids.includes(f.model) && blind !== undefined) {
    return {
      id: 'models',
      verdict: 'fail',
      finding: `${count}; ${f.model} is listed, but takes no images: it is ${blind}`,
      fix: configSetLine('model', f.closest[0] ?? f.vision[0] ?? f.ids[0], f.profile, f.profileExplicit),
      blame: 'config',
    };
  }
  if (f.ids.includes(f.model)) return { id: 'models', verdict: 'pass', finding: `${count}; ${f.model} is listed` };
  return {
    id: 'models',
    verdict: 'fail',
    finding: `${count}; ${f.model} is not listed${f.closest[0] ? `: did you mean ${f.closest[0]}?` : ''}`,
    fix: configSetLine('model', f.closest[0] ?? f.vision[0] ?? f.ids[0], f.profile, f.profileExplicit),
    blame: 'config',
  };
}

// ---------------------------------------------------------------------------------------------
// vision probe

/**
 * Why no probe is sent: the model is not in the relay's list, so it could only fail, and the models
 * check has said so already (with the id meant). Undefined when the probe should go out (a relay
 * that lists nothing may still answer).
 */
export function probeSkipReason(ids: readonly string[], model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  if (takesNoImages(model) !== undefined) return `not sent: ${model} takes no images`;
  return ids.length > 0 && !ids.includes(model) ? `not sent: ${model} is not in the relay's list` : undefined;
}

export type ProbeOutcome =
  | { ok: true; ms: number; finishReason: string | null; usage: unknown }
  | {
      ok: false;
      ms: number;
      status?: number | undefined;
      code?: string | null | undefined;
      type?: string | null | undefined;
      message: string;
      hint?: string | undefined;
    };

function usageWords(usage: unknown): string {
  if (!usage || typeof usage !== 'object') return 'no usage reported';
  const u = usage as Record<string, unknown>;
  return typeof u.prompt_tokens === 'number'
    ? `${u.prompt_tokens} prompt + ${String(u.completion_tokens ?? 0)} completion tokens`
    : 'no usage reported';
}

export function probeCheck(
  model: string,
  outcome: ProbeOutcome | null,
  closest: string[],
  profile: string,
  profileExplicit: boolean,
): Check {
  if (outcome === null) return { id: 'probe', verdict: 'skip', finding: 'skipped (--no-probe)' };
  const ms = `${Math.round(outcome.ms)} ms`;
  if (outcome.ok) {
    return {
      id: 'probe',
      verdict: 'pass',
      finding: `${model} read the test image in ${ms} (finish_reason ${outcome.finishReason ?? 'none'}, ${usageWords(outcome.usage)})`,
    };
  }
  const cause = failureCause(outcome);
  const head = outcome.status === undefined ? outcome.message : `HTTP ${outcome.status}: ${outcome.message}`;
  return {
    id: 'probe',
    verdict: 'fail',
    finding: `${model} failed after ${ms}: ${head}`,
    fix: causeFix(cause, model, closest, (m) => configSetLine('model', m, profile, profileExplicit)) ?? outcome.hint,
    blame: cause === 'auth' || cause === 'quota' || cause === 'not-allowed' ? 'config' : 'relay',
  };
}

// ---------------------------------------------------------------------------------------------
// quota

/**
 * Where a relay may tell the balance: one-api/new-api's OpenAI-style billing under the API root,
 * and new-api's `/api/usage/token` at the relay's own root (the API root without its `/v1`).
 */
export function quotaUrls(root: string): { subscription: string; usage: string; tokenUsage: string | null } {
  return {
    subscription: `${root}/dashboard/billing/subscription`,
    usage: `${root}/dashboard/billing/usage`,
    tokenUsage: /\/v1$/.test(root) ? `${root.slice(0, -3)}/api/usage/token` : null,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

// one-api and new-api answer an unlimited token with this amount (controller/billing.go).
const UNLIMITED_AMOUNT = 100000000;
const QUOTA_PER_USD = 500000;

export interface Quota {
  source: 'token-usage' | 'billing';
  unlimited: boolean;
  /** In the relay's display unit (USD for billing unless the relay shows tokens; quota units for token-usage). */
  granted: number | undefined;
  used: number | undefined;
  available: number | undefined;
  /** Unix seconds; 0 or absent = never. */
  expiresAt: number | undefined;
}

/**
 * new-api `GET /api/usage/token` (controller/token.go GetTokenUsage):
 * `{"code":true,"message":"ok","data":{"object":"token_usage","total_granted","total_used","total_available","unlimited_quota","expires_at"}}`.
 */
export function readTokenUsage(body: unknown): Quota | null {
  const data = isObj(body) ? body.data : undefined;
  if (!isObj(data) || data.object !== 'token_usage') return null;
  return {
    source: 'token-usage',
    unlimited: data.unlimited_quota === true,
    granted: num(data.total_granted),
    used: num(data.total_used),
    available: num(data.total_available),
    expiresAt: num(data.expires_at),
  };
}

/**
 * one-api / new-api `GET /v1/dashboard/billing/subscription` and `/usage` (controller/billing.go).
 * `hard_limit_usd` is the token's remaining quota plus what it used (the relays' "total"), or the
 * remaining quota alone for relays that count per user; `total_usage` is what was used, in cents.
 */
export function readBilling(subscription: unknown, usage: unknown): Quota | null {
  if (!isObj(subscription) || subscription.object !== 'billing_subscription') return null;
  const limit = num(subscription.hard_limit_usd);
  const cents = isObj(usage) ? num(usage.total_usage) : undefined;
  const used = cents === undefined ? undefined : cents / 100;
  const unlimited = limit === UNLIMITED_AMOUNT;
  return {
    source: 'billing',
    unlimited,
    granted: limit,
    used,
    available: limit !== undefined && used !== undefined && !unlimited ? Math.max(0, limit - used) : undefined,
    expiresAt: num(subscription.access_until),
  };
}

const amount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

export function quotaCheck(quota: Quota | null, nowSeconds: number): Check {
  if (!quota) return { id: 'quota', verdict: 'skip', finding: 'not offered by this relay' };
  const where = quota.source === 'token-usage' ? 'GET /api/usage/token' : 'GET /v1/dashboard/billing';
  if (quota.expiresAt !== undefined && quota.expiresAt > 0 && quota.expiresAt < nowSeconds) {
    return {
      id: 'quota',
      verdict: 'fail',
      finding: `the token expired on ${new Date(quota.expiresAt * 1000).toISOString().slice(0, 10)} (${where})`,
      fix: "extend the token on the relay's site, or make a new one",
      blame: 'config',
    };
  }
  if (quota.unlimited) return { id: 'quota', verdict: 'pass', finding: `unlimited (${where})` };
  const unit = quota.source === 'token-usage' ? ' quota units' : '';
  // new-api counts in quota units; its default is 500 000 to the US dollar (common.QuotaPerUnit).
  const dollars =
    quota.source === 'token-usage' && quota.available !== undefined
      ? ` (≈ $${amount(quota.available / QUOTA_PER_USD)} at new-api's default 500000 a dollar)`
      : '';
  const used = quota.used === undefined ? '' : `, ${amount(quota.used)}${unit} used`;
  if (quota.available === undefined) {
    return {
      id: 'quota',
      verdict: 'pass',
      finding: `limit ${quota.granted === undefined ? 'unknown' : amount(quota.granted)}${unit}${used} (${where})`,
    };
  }
  if (quota.available <= 0) {
    return {
      id: 'quota',
      verdict: 'fail',
      finding: `used up: 0 of ${amount(quota.granted ?? 0)}${unit} left${used} (${where})`,
      fix: QUOTA_FIX,
      blame: 'config',
    };
  }
  return {
    id: 'quota',
    verdict: 'pass',
    finding: `${amount(quota.available)} of ${amount(quota.granted ?? quota.available)}${unit} left${dollars}${used} (${where})`,
  };
}

// ---------------------------------------------------------------------------------------------
// proxy

/** The proxy undici's EnvHttpProxyAgent uses for this URL (its rules: lower-case names first, NO_PROXY by host suffix and port). */
export function proxyFor(
  target: string,
  env: Record<string, string | undefined>,
): { proxy: string | null; variable: string | null; bypassed: string | null } {
  const url = new URL(target);
  const pick = (...names: string[]) => {
    for (const n of names) if (env[n]) return { proxy: env[n] as string, variable: n };
    return null;
  };
  const chosen =
    url.protocol === 'https:' ? pick('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY') : pick('http_proxy', 'HTTP_PROXY');
  if (!chosen) return { proxy: null, variable: null, bypassed: null };
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const entry of noProxy.split(/[,\s]/).filter(Boolean)) {
    if (entry === '*') return { proxy: null, variable: null, bypassed: `${env.no_proxy !== undefined ? 'no_proxy' : 'NO_PROXY'}=*` };
    const m = /^(.+):(\d+)$/.exec(entry);
    const name = (m ? (m[1] as string) : entry).replace(/^\*?\./, '').toLowerCase();
    if (m && Number(m[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`))
      return { proxy: null, variable: null, bypassed: `${env.no_proxy !== undefined ? 'no_proxy' : 'NO_PROXY'} (${entry})` };
  }
  return { ...chosen, bypassed: null };
}

/** A proxy URL with its password hidden: `http://user:***@proxy:8080`. */
export function safeProxy(proxy: string): string {
  try {
    const u = new URL(proxy);
    if (u.password) u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    return proxy;
  }
}

export function proxyCheck(target: string, env: Record<string, string | undefined>): Check {
  const p = proxyFor(target, env);
  if (p.proxy) return { id: 'proxy', verdict: 'pass', finding: `the relay is reached through ${safeProxy(p.proxy)} (${p.variable})` };
  if (p.bypassed)
    return {
      id: 'proxy',
      verdict: 'pass',
      finding: `direct connection: a proxy is set but ${p.bypassed} exempts ${new URL(target).hostname}`,
    };
  return { id: 'proxy', verdict: 'pass', finding: 'direct connection (no HTTPS_PROXY / HTTP_PROXY set)' };
}

/** The words added to a describe or batch failure that doctor can explain further. */
export const RUN_DOCTOR = 'run `imgdesc doctor`';

/** A failure's hint with "run `imgdesc doctor`" added when doctor finds its fix (which model works, the balance, the size limit). */
export function hintWithDoctor(
  e: { status?: number | undefined; code?: string | null | undefined; type?: string | null | undefined; message: string },
  hint: string | undefined,
): string | undefined {
  if (hint?.includes(RUN_DOCTOR) || !doctorExplains(failureCause(e))) return hint;
  return hint ? `${hint}; ${RUN_DOCTOR}` : RUN_DOCTOR;
}

/** The hint to print with a describe or batch failure: its own, plus "run `imgdesc doctor`" where doctor helps. */
export function errorHint(error: CliError): string | undefined {
  return error instanceof APIError ? hintWithDoctor({ ...error, message: error.serverMessage }, error.hint) : error.hint;
}
