// Settings resolution: flag > IMGDESC_* env > active profile > OPENAI_* env > built-in defaults.
import { ConfigError, type ImageDetail } from '../types.ts';
import {
  DEFAULT_PROMPT,
  SETTING_KEYS,
  isSavedPromptKey,
  isSettingKey,
  parseSetting,
  parseStoredValue,
  specKey,
  type KeySpec,
  type SettingKey,
  type SettingValue,
} from './keys.ts';
import type { Profile } from './store.ts';

export { DEFAULT_PROMPT };

/** Each declared setting's column (default, env variable), as a table by key. */
function column<T>(pick: (spec: KeySpec) => T | undefined): Partial<Record<SettingKey, T>> {
  const out: Partial<Record<SettingKey, T>> = {};
  for (const [key, spec] of Object.entries(SETTING_KEYS) as [SettingKey, KeySpec][]) {
    const v = pick(spec);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

const DEFAULTS = column((s) => s.default);
/** The environment variables (docs/config.md, settings precedence), by the setting they carry. */
export const IMGDESC_ENV = column((s) => s.env);
export const OPENAI_ENV = column((s) => s.openaiEnv);

export type SettingSource = 'flag' | 'env' | 'profile' | 'openai-env' | 'default' | 'token-command';

export interface Settings {
  profile: string;
  baseUrl: string | undefined;
  token: string | undefined;
  /** A command that prints the token (run by the CLI, which then sets `token`). */
  tokenCommand: string | undefined;
  /** undefined: none set; one is picked from the relay's model list (core/models.ts). */
  model: string | undefined;
  prompt: string;
  system: string | undefined;
  maxTokens: number | undefined;
  temperature: number | undefined;
  detail: ImageDetail | undefined;
  /** 0 = no timeout (`--timeout 0`). */
  timeoutMs: number;
  retries: number;
  maxEdge: number;
  maxBytes: number;
  maxInputBytes: number;
  resize: boolean;
  keepMetadata: boolean;
  /** Deadline for preparing one image (--prepare-timeout); 0 = none; undefined = by its size. */
  prepareTimeoutMs: number | undefined;
  /** Send http(s) image URLs as given instead of fetching them here. */
  passUrl: boolean;
  /** Fetch image URLs from loopback, private and link-local addresses too. */
  allowPrivateUrls: boolean;
  /** stream: true, the events assembled into one answer. */
  stream: boolean;
  concurrency: number;
  sidecarName: 'stem' | 'full';
  /** Requests started per second, at most (--max-rps); undefined = no limit. */
  maxRps: number | undefined;
  schema: string | undefined;
  schemaMode: 'auto' | 'json_schema' | 'prompt';
  validate: boolean;
  reasoningEffort: 'low' | 'medium' | 'high' | undefined;
  showReasoning: boolean;
  n: number | undefined;
  /** The answer cache is read and written. */
  cache: boolean;
  cacheMaxSize: number;
  /** Answers are written to the history. */
  log: boolean;
  /** Where each value came from, for `-v` and for messages such as "token from OPENAI_API_KEY". */
  sources: Partial<Record<SettingKey, SettingSource>>;
  /** Each value in effect, by key (what `config get --effective` prints). */
  values: Partial<Record<SettingKey, SettingValue>>;
}

export interface SettingsInput {
  flags: Profile;
  env: Record<string, string | undefined>;
  profileName: string;
  profile: Profile | undefined;
}

/** Pure: the same inputs always give the same settings. */
export function resolveSettings({ flags, env, profileName, profile }: SettingsInput): Settings {
  const sources: Settings['sources'] = {};
  const values: Settings['values'] = {};
  const pick = (key: SettingKey): SettingValue | undefined => {
    const layers: [SettingSource, () => SettingValue | undefined][] = [
      ['flag', () => flags[key]],
      ['env', () => fromEnv(env, IMGDESC_ENV[key], key)],
      ['profile', () => profile?.[key]],
      ['openai-env', () => fromEnv(env, OPENAI_ENV[key], key)],
      ['default', () => DEFAULTS[key]],
    ];
    for (const [source, get] of layers) {
      const v = get();
      if (v !== undefined) {
        sources[key] = source;
        values[key] = v;
        return v;
      }
    }
    return undefined;
  };
  const str = (k: SettingKey) => {
    const v = pick(k);
    return v === undefined ? undefined : String(v);
  };
  const num = (k: SettingKey) => {
    const v = pick(k);
    return v === undefined ? undefined : Number(v);
  };
  const bool = (k: SettingKey) => pick(k) === true;
  /** A setting with a declared default always has a value. */
  const numOr = (k: SettingKey) => {
    const v = num(k);
    if (v === undefined) throw new Error(`setting ${k} has no default`);
    return v;
  };

  return {
    profile: profileName,
    baseUrl: str('base-url'),
    token: str('token'),
    tokenCommand: str('token-command'),
    model: str('model'),
    prompt: str('prompt') ?? DEFAULT_PROMPT,
    system: str('system'),
    maxTokens: num('max-tokens'),
    temperature: num('temperature'),
    detail: str('detail') as ImageDetail | undefined,
    timeoutMs: Math.round(numOr('timeout') * 1000),
    retries: numOr('retries'),
    maxEdge: numOr('max-edge'),
    maxBytes: numOr('max-bytes'),
    maxInputBytes: numOr('max-input-bytes'),
    resize: bool('resize'),
    keepMetadata: bool('keep-metadata'),
    prepareTimeoutMs: (() => {
      const s = num('prepare-timeout');
      return s === undefined ? undefined : Math.round(s * 1000);
    })(),
    passUrl: bool('pass-url'),
    allowPrivateUrls: bool('allow-private-urls'),
    stream: bool('stream'),
    concurrency: numOr('concurrency'),
    sidecarName: str('sidecar-name') as Settings['sidecarName'],
    maxRps: num('max-rps'),
    schema: str('schema'),
    schemaMode: str('schema-mode') as Settings['schemaMode'],
    validate: bool('validate'),
    reasoningEffort: str('reasoning-effort') as Settings['reasoningEffort'],
    showReasoning: bool('show-reasoning'),
    n: num('n'),
    cache: bool('cache'),
    cacheMaxSize: numOr('cache-max-size'),
    log: bool('log'),
    sources,
    values,
  };
}

function fromEnv(env: Record<string, string | undefined>, name: string | undefined, key: SettingKey): SettingValue | undefined {
  if (!name) return undefined;
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return SETTING_KEYS[key].type === 'string' && key !== 'token' && key !== 'base-url' ? raw.trim() : parseSetting(key, raw, name);
}

/**
 * A profile as read from the config file, every value checked as `config set` would have: a
 * hand-edited `"max-edge": -3` is a configuration error naming the key, not an image error later.
 * Keys this version does not know are left alone (a newer version may have written them).
 */
export function checkProfile(name: string, profile: Record<string, unknown> | undefined, file: string): Profile | undefined {
  if (profile === undefined) return undefined;
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) {
    throw new ConfigError(`profile '${name}' in ${file} is not a JSON object`, { hint: 'fix it with imgdesc config edit' });
  }
  const out: Profile = {};
  for (const [key, raw] of Object.entries(profile)) {
    if (!isSettingKey(key) && !isSavedPromptKey(key)) continue;
    const got = parseStoredValue(specKey(key), raw);
    if ('problem' in got) {
      throw new ConfigError(`config key '${key}' in profile '${name}': ${got.problem}`, {
        hint: `fix it with: imgdesc config set ${key} <value>${name === 'default' ? '' : ` --profile ${name}`} (or imgdesc config edit)`,
      });
    }
    if (isSavedPromptKey(key)) out[key] = String(got.value);
    else out[key] = got.value;
  }
  return out;
}

/** Where a value came from, in words: `IMGDESC_MODEL`, `profile 'work'`, `built-in default`. */
export function describeSource(key: SettingKey, source: SettingSource, profileName: string): string {
  switch (source) {
    case 'flag':
      return 'the command line';
    case 'env':
      return IMGDESC_ENV[key] ?? 'the environment';
    case 'openai-env':
      return OPENAI_ENV[key] ?? 'the environment';
    case 'profile':
      return `profile '${profileName}'`;
    case 'token-command':
      return `the token-command of profile '${profileName}'`;
    case 'default':
      return 'built-in default';
  }
}

/** Which profile is in force: --profile > IMGDESC_PROFILE > the store's active one. */
export function chooseProfile(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  active: string,
): { name: string; explicit: boolean } {
  if (flag) return { name: flag, explicit: true };
  const fromEnvName = env.IMGDESC_PROFILE?.trim();
  if (fromEnvName) return { name: fromEnvName, explicit: true };
  return { name: active, explicit: false };
}

/** `sk-abcdefgh1234cdef` → `sk-…cdef`: enough to tell tokens apart, not enough to use one. */
export function maskToken(token: string): string {
  const t = token.trim();
  if (t.length <= 8) return '…' + t.slice(-2);
  const dash = t.indexOf('-');
  const prefix = dash > 0 && dash <= 4 ? t.slice(0, dash + 1) : '';
  return `${prefix}…${t.slice(-4)}`;
}
