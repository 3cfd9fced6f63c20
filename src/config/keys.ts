// The settings a profile may hold, with how a stored string becomes a typed value.
// Keys are spelled as the long flags (`max-tokens`), so `config set max-tokens 300`
// and `--max-tokens 300` mean the same thing.
import { UsageError } from '../types.ts';

export type KeyType = 'string' | 'int' | 'number' | 'bool' | 'bytes' | { enum: readonly string[] };

export interface KeySpec {
  type: KeyType;
  description: string;
  /** Validates a number beyond its type, e.g. `n > 0`. Returns a problem or null. */
  check?: (n: number) => string | null;
}

const positive = (n: number) => (n > 0 ? null : 'must be greater than 0');
const nonNegative = (n: number) => (n >= 0 ? null : 'must be 0 or more');

export const SETTING_KEYS = {
  'base-url': { type: 'string', description: 'relay base URL, e.g. https://relay.example.com/v1' },
  token: { type: 'string', description: 'API token (set it from stdin or a hidden prompt)' },
  model: { type: 'string', description: 'model id' },
  system: { type: 'string', description: 'system message' },
  prompt: { type: 'string', description: 'default prompt' },
  'max-tokens': { type: 'int', description: 'max_tokens of the answer', check: positive },
  temperature: { type: 'number', description: 'sampling temperature (0-2)', check: (n) => (n >= 0 && n <= 2 ? null : 'must be between 0 and 2') },
  detail: { type: { enum: ['low', 'high', 'auto'] }, description: 'image detail hint' },
  timeout: { type: 'number', description: 'seconds per attempt', check: positive },
  retries: { type: 'int', description: 'retries on transient failures', check: nonNegative },
  'max-edge': { type: 'int', description: 'longest image edge sent, px', check: positive },
  'max-bytes': { type: 'bytes', description: 'largest base64 image sent', check: positive },
  'max-input-bytes': { type: 'bytes', description: 'largest input read', check: positive },
  resize: { type: 'bool', description: 'prepare images that need it (false = --no-resize)' },
  'keep-metadata': { type: 'bool', description: 'keep EXIF/GPS metadata' },
  inline: { type: 'bool', description: 'download URL images and embed them' },
  concurrency: { type: 'int', description: 'batch requests in flight', check: positive },
  schema: { type: 'string', description: 'JSON schema (inline, file or short form) for structured answers' },
  'schema-mode': { type: { enum: ['json_schema', 'prompt'] }, description: 'how the schema is sent' },
  validate: { type: 'bool', description: 'validate structured answers (false = --no-validate)' },
  'reasoning-effort': { type: { enum: ['low', 'medium', 'high'] }, description: 'reasoning_effort sent to the model' },
  'show-reasoning': { type: 'bool', description: 'print reasoning to stderr' },
  n: { type: 'int', description: 'number of candidates', check: positive },
} as const satisfies Record<string, KeySpec>;

export type SettingKey = keyof typeof SETTING_KEYS;
export type SettingValue = string | number | boolean;

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_KEYS, key);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "5MiB", "512k", "1048576" → bytes. Units are binary, as users of `--max-bytes 5M` expect. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  return Math.round(Number(m[1]) * unit);
}

/** Parses a value given as text (flag or `config set`) for `key`; throws a one-line UsageError. */
export function parseSetting(key: SettingKey, text: string, from = `--${key}`): SettingValue {
  const spec: KeySpec = SETTING_KEYS[key];
  const bad = (why: string) => new UsageError(`${from}: ${why} (got '${text}')`);
  const t = spec.type;
  let value: SettingValue;
  if (t === 'string') return text;
  if (t === 'bool') {
    const v = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw bad('expected true or false');
  }
  if (typeof t === 'object') {
    if (!t.enum.includes(text)) throw bad(`expected one of ${t.enum.join(', ')}`);
    return text;
  }
  if (t === 'bytes') {
    const n = parseBytes(text);
    if (n === null) throw bad('expected a size such as 5242880, 512K or 5M');
    value = n;
  } else {
    const n = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(n)) throw bad('expected a number');
    if (t === 'int' && !Number.isInteger(n)) throw bad('expected a whole number');
    value = n;
  }
  const problem = spec.check?.(value);
  if (problem) throw bad(problem);
  return value;
}
