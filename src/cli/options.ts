// Options shared by describe and batch, and their translation into setting values.
// Values are parsed by the same rules as `config set`, so a flag and a profile default agree.
import { Option, type Command } from 'commander';
import { parseSetting, type SettingKey } from '../config/keys.ts';
import type { Profile } from '../config/store.ts';

/** Options that are not settings: they shape this one run only. */
export interface RunFlags {
  profile: string | undefined;
  json: boolean;
  dryRun: boolean;
  quiet: boolean;
  verbose: boolean;
  noColor: boolean;
  /** --prompt-file: the prompt is read from this file. */
  promptFile: string | undefined;
}

// flag attribute name (as commander stores it) → setting key
const VALUE_FLAGS: Record<string, SettingKey> = {
  model: 'model',
  system: 'system',
  prompt: 'prompt',
  maxTokens: 'max-tokens',
  temperature: 'temperature',
  detail: 'detail',
  baseUrl: 'base-url',
  timeout: 'timeout',
  retries: 'retries',
  maxEdge: 'max-edge',
  maxBytes: 'max-bytes',
  maxInputBytes: 'max-input-bytes',
  schema: 'schema',
  schemaMode: 'schema-mode',
  reasoningEffort: 'reasoning-effort',
  n: 'n',
  concurrency: 'concurrency',
  sidecarName: 'sidecar-name',
  maxRps: 'max-rps',
};
const BOOL_FLAGS: Record<string, SettingKey> = {
  resize: 'resize',
  keepMetadata: 'keep-metadata',
  passUrl: 'pass-url',
  stream: 'stream',
  inline: 'inline',
  validate: 'validate',
  showReasoning: 'show-reasoning',
};

export function addSharedOptions(cmd: Command, kind: 'describe' | 'batch'): Command {
  return cmd
    .option('-m, --model <id>', "model id (default: picked from the relay's model list)")
    .option('-s, --system <text>', 'system message')
    .option(
      '-p, --prompt <text>',
      `${kind === 'describe' ? 'prompt, instead of the second argument' : 'prompt for every image; may use {name}, {stem}, {dir}, {path}'}; @file reads it from a file, - from stdin, :name is one saved with config set prompt.name`,
    )
    .option('--prompt-file <file>', 'read the prompt from a file (as -p @file)')
    .option('--max-tokens <n>', 'max_tokens of the answer')
    .option('--temperature <t>', 'sampling temperature, 0-2')
    .addOption(new Option('--detail <level>', 'image detail hint').choices(['low', 'high', 'auto']))
    .option('--profile <name>', 'config profile to use')
    .option('--base-url <url>', 'relay base URL (overrides the profile)')
    .option('--timeout <s>', 'seconds per attempt (default 300)')
    .option('--retries <n>', 'retries on transient failures (default 2)')
    .option('--max-edge <px>', 'longest image edge sent (default 1568)')
    .option('--max-bytes <n>', 'largest base64 image sent (default 5M)')
    .option('--max-input-bytes <n>', 'largest input read (default 50M)')
    .option('--no-resize', 'send the original bytes or fail; never re-encode')
    .option('--keep-metadata', 'keep EXIF metadata, including GPS location')
    .option('--stream', 'stream transport (stream: true), assembled into one answer; --json prints the assembled chat.completion')
    .option('--pass-url', 'send http(s) image URLs as given (the relay fetches them) instead of fetching them here')
    .option('--inline', 'accepted for compatibility: URLs are fetched here by default')
    .option('--schema <schema>', "structured answer: JSON Schema, a file, or 'caption, tags string[]'")
    .addOption(
      new Option('--schema-mode <mode>', 'how the schema is sent: auto (response_format and the prompt), json_schema, prompt').choices([
        'auto',
        'json_schema',
        'prompt',
      ]),
    )
    .option('--no-validate', 'do not validate structured answers')
    .addOption(new Option('--reasoning-effort <level>', 'reasoning_effort for reasoning models').choices(['low', 'medium', 'high']))
    .option('--show-reasoning', 'print the model reasoning to stderr')
    .option('-n <count>', 'number of candidate answers')
    .option('--json', 'print the raw response body')
    .option('--dry-run', 'print the request that would be sent, send nothing')
    .option('-q, --quiet', 'no spinner, progress or warnings')
    .option('-v, --verbose', 'more detail on stderr (image preparation, retries, stack traces)')
    .option('--no-color', 'no colour');
}

/** Setting values that were given on the command line (not commander's defaults). */
export function flagSettings(cmd: Command): Profile {
  const opts = cmd.opts<Record<string, unknown>>();
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  const out: Profile = {};
  for (const [name, key] of Object.entries(VALUE_FLAGS)) {
    const v = opts[name];
    if (given(name) && typeof v === 'string') out[key] = parseSetting(key, v, key.length === 1 ? `-${key}` : `--${key}`);
  }
  for (const [name, key] of Object.entries(BOOL_FLAGS)) {
    if (given(name)) out[key] = opts[name] === true;
  }
  return out;
}

export function runFlags(cmd: Command): RunFlags {
  const o = cmd.opts<Record<string, unknown>>();
  return {
    profile: typeof o.profile === 'string' ? o.profile : undefined,
    json: o.json === true,
    dryRun: o.dryRun === true,
    quiet: o.quiet === true,
    verbose: o.verbose === true,
    noColor: o.color === false,
    promptFile: typeof o.promptFile === 'string' ? o.promptFile : undefined,
  };
}
