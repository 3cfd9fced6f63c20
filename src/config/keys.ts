// The settings a profile may hold, with how a stored string becomes a typed value.
// Keys are spelled as the long flags (`max-tokens`), so `config set max-tokens 300`
// and `--max-tokens 300` mean the same thing.
import { UsageError } from '../types.ts';

export type KeyType = 'string' | 'int' | 'number' | 'bool' | 'bytes' | { enum: readonly string[] };

/** The headings options are grouped under in `--help`, most used first. */
export const HELP_GROUPS = [
  'Input',
  'Prompt and model',
  'Output',
  'Captions and datasets',
  'Photo metadata',
  'Rate and retries',
  'Scale',
] as const;
export type HelpGroup = (typeof HELP_GROUPS)[number];

/**
 * One setting, declared once: its type and limits, its help line, its default, the environment
 * variables that carry it and its flag. The profile key is the name it is declared under (spelled
 * as the long flag, so `config set max-tokens 300` and `--max-tokens 300` mean the same thing).
 * Flags, defaults, `config set --help`, completions, the man page and README's table of keys are
 * all derived from this.
 */
export interface KeySpec {
  type: KeyType;
  /** The help line, for the flag and for `config set --help`. */
  description: string;
  /** Inclusive limits of a number; every number has both, so a typo never becomes 1e30. */
  min?: number;
  max?: number;
  /** What 0 means when it is allowed below `min` (e.g. timeout 0 = no timeout). */
  zero?: string;
  /** A string that may not be empty (`config set model ''` would be sent as is). */
  nonEmpty?: boolean;
  /** The built-in default (the last layer of the precedence). */
  default?: SettingValue;
  /** The IMGDESC_* variable that sets it (above the profile). */
  env?: string;
  /** The OPENAI_* variable that sets it (below the profile). */
  openaiEnv?: string;
  /**
   * Its flag as commander spells it (`-m, --model <id>`); a bool that is on by default is turned
   * off with `--no-<key>`. None: no flag (the token would land in shell history and ps).
   */
  flag?: string;
  /** The help line of a `--no-…` flag, which says the opposite of `description`. */
  flagHelp?: string;
  /** Its heading in `--help`; none: among the options that apply to every command. */
  group?: HelpGroup;
  /** Still accepted, never shown in help or completions. */
  hidden?: boolean;
}

const MiB = 1024 * 1024;

export const DEFAULT_PROMPT = 'What is in this picture? Please describe it in detail.';

export const SETTING_KEYS = {
  'base-url': {
    type: 'string',
    description: 'relay base URL, e.g. https://relay.example.com/v1',
    nonEmpty: true,
    env: 'IMGDESC_BASE_URL',
    openaiEnv: 'OPENAI_BASE_URL',
    flag: '--base-url <url>',
  },
  token: {
    type: 'string',
    description: 'API token (set it from stdin or a hidden prompt)',
    nonEmpty: true,
    env: 'IMGDESC_TOKEN',
    openaiEnv: 'OPENAI_API_KEY',
  },
  'token-command': {
    type: 'string',
    description: "command printing the token, run at each use (e.g. 'pass show relay')",
    nonEmpty: true,
    flag: '--token-command <cmd>',
  },
  model: {
    type: 'string',
    description: "model id (default: picked from the relay's model list)",
    nonEmpty: true,
    env: 'IMGDESC_MODEL',
    flag: '-m, --model <id>',
    group: 'Prompt and model',
  },
  prompt: {
    type: 'string',
    description:
      'the prompt (describe: instead of the second argument); @file reads a file, - stdin, :name one saved with config set prompt.name',
    nonEmpty: true,
    default: DEFAULT_PROMPT,
    flag: '-p, --prompt <text>',
    group: 'Prompt and model',
  },
  system: { type: 'string', description: 'system message', flag: '-s, --system <text>', group: 'Prompt and model' },
  'max-tokens': {
    type: 'int',
    description: 'max_tokens of the answer',
    min: 1,
    max: 1_000_000,
    flag: '--max-tokens <n>',
    group: 'Prompt and model',
  },
  temperature: {
    type: 'number',
    description: 'sampling temperature',
    min: 0,
    max: 2,
    flag: '--temperature <t>',
    group: 'Prompt and model',
  },
  detail: {
    type: { enum: ['low', 'high', 'auto'] },
    description: 'image detail hint',
    flag: '--detail <level>',
    group: 'Prompt and model',
  },
  schema: {
    type: 'string',
    description: "structured answer: JSON Schema, a file, or a short form 'caption, tags string[]'",
    nonEmpty: true,
    flag: '--schema <schema>',
    group: 'Prompt and model',
  },
  'schema-mode': {
    type: { enum: ['auto', 'json_schema', 'prompt'] },
    description: 'how the schema is sent (auto: response_format and in the prompt)',
    default: 'auto',
    flag: '--schema-mode <mode>',
    group: 'Prompt and model',
  },
  validate: {
    type: 'bool',
    description: 'validate structured answers',
    default: true,
    flag: '--no-validate',
    flagHelp: 'do not validate structured answers',
    group: 'Prompt and model',
  },
  'reasoning-effort': {
    type: { enum: ['low', 'medium', 'high'] },
    description: 'reasoning_effort sent to reasoning models',
    flag: '--reasoning-effort <level>',
    group: 'Prompt and model',
  },
  'show-reasoning': {
    type: 'bool',
    description: 'print the model reasoning to stderr',
    default: false,
    flag: '--show-reasoning',
    group: 'Prompt and model',
  },
  n: { type: 'int', description: 'number of candidate answers', min: 1, max: 128, flag: '-n <count>', group: 'Prompt and model' },
  cache: {
    type: 'bool',
    description: 'answer cache: the same request again is answered from it, and sends nothing',
    default: true,
    flag: '--no-cache',
    flagHelp: 'neither read nor store answers in the answer cache',
    group: 'Output',
  },
  'cache-max-size': {
    type: 'bytes',
    description: 'largest the answer cache grows before the least recently used answers go',
    min: MiB,
    max: 1024 * 1024 * MiB,
    default: 500 * MiB,
  },
  log: {
    type: 'bool',
    description: 'history of answers, for imgdesc log',
    default: true,
    flag: '--no-log',
    flagHelp: 'write nothing to the history (imgdesc log)',
    group: 'Output',
  },
  'max-edge': {
    type: 'int',
    description: 'longest image edge sent, px',
    min: 16,
    max: 16_384,
    default: 1568,
    flag: '--max-edge <px>',
    group: 'Input',
  },
  'max-bytes': {
    type: 'bytes',
    description: 'largest base64 image sent',
    min: 1024,
    max: 1024 * MiB,
    default: 5 * MiB,
    flag: '--max-bytes <n>',
    group: 'Input',
  },
  'max-input-bytes': {
    type: 'bytes',
    description: 'largest input read',
    min: 1,
    max: 2048 * MiB,
    default: 50 * MiB,
    flag: '--max-input-bytes <n>',
    group: 'Input',
  },
  resize: {
    type: 'bool',
    description: 'prepare images that need it (false: send the original bytes or fail)',
    default: true,
    flag: '--no-resize',
    flagHelp: 'send the original bytes or fail; never re-encode',
    group: 'Input',
  },
  'keep-metadata': {
    type: 'bool',
    description: 'keep EXIF metadata, including GPS location',
    default: false,
    flag: '--keep-metadata',
    group: 'Input',
  },
  'prepare-timeout': {
    type: 'number',
    description: 'seconds to prepare one image before giving up (default: 5 per megapixel sent, at least 10)',
    min: 0.1,
    max: 86_400,
    zero: 'no deadline',
    flag: '--prepare-timeout <s>',
    group: 'Input',
  },
  'pass-url': {
    type: 'bool',
    description: 'send http(s) image URLs as given (the relay fetches them) instead of fetching them here',
    default: false,
    flag: '--pass-url',
    group: 'Input',
  },
  'allow-private-urls': {
    type: 'bool',
    description: 'fetch image URLs from loopback, private and link-local addresses too (refused by default)',
    default: false,
    flag: '--allow-private-urls',
    group: 'Input',
  },
  inline: {
    type: 'bool',
    description: 'accepted for compatibility: URLs are fetched here by default',
    flag: '--inline',
    hidden: true,
  },
  // setTimeout cannot wait longer than 2^31-1 ms (24.8 days); a day is already more than any request.
  timeout: {
    type: 'number',
    description: 'seconds per attempt',
    min: 0.1,
    max: 86_400,
    zero: 'no timeout',
    default: 300,
    flag: '--timeout <s>',
    group: 'Rate and retries',
  },
  retries: {
    type: 'int',
    description: 'retries on transient failures',
    min: 0,
    max: 20,
    default: 2,
    flag: '--retries <n>',
    group: 'Rate and retries',
  },
  stream: {
    type: 'bool',
    description: 'stream transport, assembled into one answer (survives relays that cut long non-stream requests)',
    default: false,
    flag: '--stream',
    group: 'Rate and retries',
  },
  concurrency: {
    type: 'int',
    description: 'requests in flight, at most',
    min: 1,
    max: 64,
    default: 4,
    flag: '-c, --concurrency <n>',
    group: 'Rate and retries',
  },
  'max-rps': {
    type: 'number',
    description: 'requests started per second, at most (a fleet shares the relay limit: limit ÷ tasks)',
    min: 0.001,
    max: 10_000,
    env: 'IMGDESC_MAX_RPS',
    flag: '--max-rps <n>',
    group: 'Rate and retries',
  },
  'sidecar-name': {
    type: { enum: ['stem', 'full'] },
    description: 'sidecar names: photo.txt (stem) or photo.jpg.txt (full, when a.jpg and a.png share a folder)',
    default: 'stem',
    flag: '--sidecar-name <how>',
    group: 'Captions and datasets',
  },
} as const satisfies Record<string, KeySpec>;

export type SettingKey = keyof typeof SETTING_KEYS;
export type SettingValue = string | number | boolean;

/** A prompt saved by name (`config set prompt.alt "…"`, used as `-p :alt`). */
export type SavedPromptKey = `prompt.${string}`;
/** Any key a profile may hold. */
export type ConfigKey = SettingKey | SavedPromptKey;

export function isSavedPromptKey(key: string): key is SavedPromptKey {
  return /^prompt\.[A-Za-z][\w-]*$/.test(key);
}

/** The rules a key's values follow: a saved prompt is a prompt. */
export function specKey(key: ConfigKey): SettingKey {
  return isSavedPromptKey(key) ? 'prompt' : key;
}

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_KEYS, key);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** "5MiB", "512k", "1048576" → bytes. Units are binary, as users of `--max-bytes 5M` expect. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  return Math.round(Number(m[1]) * unit);
}

/**
 * A pasted token as the relay wants it: surrounding whitespace and a `Bearer ` prefix dropped.
 * Anything that cannot travel in an HTTP header (a second line, a space, a control character,
 * non-ASCII) is refused rather than stored and failed on later as a 401 or an undici error.
 */
export function cleanToken(text: string): string | { problem: string } {
  const token = text.trim().replace(/^bearer(\s+|$)/i, '');
  if (token === '') return { problem: 'empty token' };
  if (/[\r\n]/.test(token)) return { problem: 'the token spans several lines; paste the token alone' };
  if (/\s/.test(token)) return { problem: 'the token contains a space; paste the token alone' };
  if (/[^\x21-\x7e]/.test(token)) return { problem: 'the token contains a control or non-ASCII character' };
  return token;
}

/** `between 1 and 64`, `0 (no timeout) or between 0.1 and 86400`: the limits as a message says them. */
export function describeLimits(spec: KeySpec): string {
  const show = (n: number) => (spec.type === 'bytes' ? formatSize(n) : String(n));
  const range = `between ${show(spec.min ?? 0)} and ${show(spec.max ?? Number.MAX_SAFE_INTEGER)}`;
  return spec.zero ? `0 (${spec.zero}) or ${range}` : range;
}

function formatSize(n: number): string {
  for (const [unit, size] of [
    ['G', 1024 ** 3],
    ['M', MiB],
    ['K', 1024],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  return String(n);
}

/** Is a typed number within the key's limits? Returns the problem, or null. */
export function checkNumber(key: SettingKey, n: number): string | null {
  const spec: KeySpec = SETTING_KEYS[key];
  if (!Number.isFinite(n)) return `expected a number ${describeLimits(spec)}`;
  if (spec.type === 'int' && !Number.isInteger(n)) return `expected a whole number ${describeLimits(spec)}`;
  if (n === 0 && spec.zero) return null;
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return `must be ${describeLimits(spec)}`;
  return null;
}

/** Parses a value given as text (flag or `config set`) for `key`; throws a one-line UsageError. */
export function parseSetting(key: SettingKey, text: string, from = `--${key}`): SettingValue {
  const spec: KeySpec = SETTING_KEYS[key];
  // The token's text is never repeated in a message.
  const bad = (why: string) => new UsageError(`${from}: ${why}${key === 'token' ? '' : ` (got '${text}')`}`);
  const t = spec.type;
  if (key === 'token') {
    const token = cleanToken(text);
    if (typeof token !== 'string') throw bad(token.problem);
    return token;
  }
  if (t === 'string') {
    if (spec.nonEmpty && text.trim() === '') throw bad('may not be empty');
    // A pasted URL with a second word, a quote or a bracket after it would become part of the path.
    if (key === 'base-url' && /[\s"'<>\\`^{|}]/.test(text.trim())) throw bad('a URL cannot contain spaces, quotes or brackets');
    if (key === 'base-url') return text.trim();
    return text;
  }
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
  let value: number;
  if (t === 'bytes') {
    const n = parseBytes(text);
    if (n === null) throw bad(`expected a size such as 5242880, 512K or 5M, ${describeLimits(spec)}`);
    value = n;
  } else if (t === 'int') {
    // Digits only: `1e6` and `99999999999999999999` are typos or overflows, not counts.
    if (!/^\s*\d+\s*$/.test(text)) throw bad(`expected a whole number ${describeLimits(spec)}`);
    value = Number(text);
  } else {
    value = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(value)) throw bad(`expected a number ${describeLimits(spec)}`);
  }
  const problem = checkNumber(key, value);
  if (problem) throw bad(problem);
  return value;
}

/**
 * A value read back from the config file (hand-edited, or written by an older version), checked by
 * the same rules as `config set`: text is parsed as if typed, a number checked against the limits.
 * Returns the typed value, or the problem as text.
 */
export function parseStoredValue(key: SettingKey, value: unknown): { value: SettingValue } | { problem: string } {
  const t: KeyType = SETTING_KEYS[key].type;
  const expected =
    typeof t === 'object' ? `one of ${t.enum.join(', ')}` : t === 'bool' ? 'true or false' : t === 'string' ? 'text' : 'a number';
  if (typeof value === 'string') {
    try {
      return { value: parseSetting(key, value, key) };
    } catch (error) {
      return { problem: (error as Error).message.slice(key.length + 2) };
    }
  }
  if (typeof value === 'number' && (t === 'int' || t === 'number' || t === 'bytes')) {
    const problem = checkNumber(key, value);
    return problem ? { problem: `${problem} (got ${value})` } : { value };
  }
  if (typeof value === 'boolean' && t === 'bool') return { value };
  return { problem: `expected ${expected} (got ${JSON.stringify(value) ?? String(value)})` };
}

/** A key's values in words: `low|high|auto`, `true|false`, `int, between 1 and 64`. */
export function describeType(spec: KeySpec): string {
  const t = spec.type;
  if (typeof t === 'object') return t.enum.join('|');
  if (t === 'bool') return 'true|false';
  if (t === 'string') return 'text';
  return `${t === 'bytes' ? 'size' : t}, ${describeLimits(spec)}`;
}

/** A default as it would be typed: `5M`, `300`, `true`. */
export function formatDefault(spec: KeySpec): string | undefined {
  const d = spec.default;
  if (d === undefined) return undefined;
  return spec.type === 'bytes' && typeof d === 'number' ? formatSize(d) : String(d);
}

const declared = () => Object.entries(SETTING_KEYS as Record<string, KeySpec>).filter(([, spec]) => !spec.hidden);

/** `config set --help`: every key, its type and limits, its default and its variable. */
export function keysHelp(): string {
  const rows = declared().map(([key, spec]) => {
    const def = formatDefault(spec);
    const extra = [describeType(spec), def !== undefined && spec.type !== 'bool' ? `default ${def}` : '', spec.env ?? '']
      .filter(Boolean)
      .join('; ');
    return `  ${key.padEnd(17)} ${spec.description} (${extra})`;
  });
  return `\nKeys:\n${rows.join('\n')}\n`;
}

/** README's table of profile keys (a test keeps the README's copy the same). */
export function keysTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = declared().map(([key, spec]) => {
    const flag = spec.flag ? `\`${spec.flag.replace(/ <.*$/, '')}\`` : '';
    const env = [spec.env, spec.openaiEnv]
      .filter(Boolean)
      .map((e) => `\`${e}\``)
      .join(', ');
    const def = formatDefault(spec);
    return `| \`${key}\` | ${cell(describeType(spec))} | ${def === undefined ? '' : cell(def)} | ${flag} | ${env} | ${cell(spec.description)} |`;
  });
  return (
    ['| key | values | default | flag | environment | what it is |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n'
  );
}
