// The typed layer under every command's declaration: a flag or an argument carries the type of the
// value `run` gets for it, so a command's options object is derived from its declaration
// (`OptionsOf`) instead of converted by hand. No commander here: the declarations
// (commands.ts) load without it, and options.ts turns them into commander commands.
import type { HelpGroup, SettingKey } from '../config/keys.ts';

export type FlagKind = 'text' | 'switch' | 'negated' | 'optional' | 'list' | 'choice';

/** One flag and, as a type, the value `run` gets for it. */
export interface Flag<V> {
  readonly flags: string;
  readonly help: string;
  readonly kind: FlagKind;
  readonly choices?: readonly string[];
  /** Old spellings still accepted, never offered (help, completions): old → current. */
  readonly aliases?: Readonly<Record<string, string>>;
  readonly group?: HelpGroup;
  readonly hidden?: boolean;
  /** Never set: carries the value type. */
  readonly value?: V;
}

type Extra = { group?: HelpGroup; hidden?: boolean };
const make = <V>(flags: string, help: string, kind: FlagKind, extra: Extra = {}, more: object = {}): Flag<V> =>
  ({ flags, help, kind, ...extra, ...more }) as Flag<V>;

export const flag = {
  /** `-o, --output <file>`: the text, or undefined. */
  text: (flags: string, help: string, extra?: Extra) => make<string | undefined>(flags, help, 'text', extra),
  /** `--overwrite`: given or not. */
  switch: (flags: string, help: string, extra?: Extra) => make<boolean>(flags, help, 'switch', extra),
  /** `--no-backup`: true unless given. */
  negated: (flags: string, help: string, extra?: Extra) => make<boolean>(flags, help, 'negated', extra),
  /** `--sidecar [ext]`: the text, true when given bare, or undefined. */
  optional: (flags: string, help: string, extra?: Extra) => make<string | true | undefined>(flags, help, 'optional', extra),
  /** `--input <path>`, repeatable: every value, in order. */
  list: (flags: string, help: string, extra?: Extra) => make<string[]>(flags, help, 'list', extra),
  /** `--existing <mode>` with its choices (and old spellings mapped to them). */
  choice: <const C extends readonly string[]>(
    flags: string,
    choices: C,
    help: string,
    extra?: Extra & { aliases?: Readonly<Record<string, C[number]>> },
  ) => {
    const { aliases, ...rest } = extra ?? {};
    return make<C[number] | undefined>(flags, help, 'choice', rest, { choices, aliases });
  },
};

export type Flags = Readonly<Record<string, Flag<unknown>>>;
/** The values `run` gets for these flags. */
export type Values<F extends Flags> = { -readonly [K in keyof F]: F[K] extends Flag<infer V> ? V : never };

/** One positional argument, named as commander spells it (`<image>`, `[prompt]`, `<inputs...>`). */
export interface Arg<V> {
  readonly name: string;
  readonly help: string;
  /** Never set: carries the value type. */
  readonly value?: V;
}
export const arg = {
  required: (name: `<${string}>`, help = '') => ({ name, help }) as Arg<string>,
  optional: (name: `[${string}]`, help = '') => ({ name, help }) as Arg<string | undefined>,
  /** `<parts...>` or `[inputs...]`: every value, in order (none for an optional one left out). */
  many: (name: `<${string}...>` | `[${string}...]`, help = '') => ({ name, help }) as Arg<string[]>,
};
export type Args = Readonly<Record<string, Arg<unknown>>>;
type ArgValues<A extends Args> = { -readonly [K in keyof A]: A[K] extends Arg<infer V> ? V : never };

/** Flags that are not settings, declared once for every command that takes them. */
export const FLAGS = {
  quiet: flag.switch('-q, --quiet', 'no spinner, progress or warnings; errors only'),
  verbose: flag.switch('-v, --verbose', 'more detail on stderr (image preparation, retries, stack traces)'),
  color: flag.negated('--no-color', 'no colour'),
  profile: flag.text('--profile <name>', 'config profile to use (config: the one to change)'),
  promptFile: flag.text('--prompt-file <file>', 'read the prompt from a file (as -p @file)', { group: 'Prompt and model' }),
  json: flag.switch('--json', 'print the raw response body', { group: 'Output' }),
  dryRun: flag.switch('--dry-run', 'print the request that would be sent, send nothing', { group: 'Output' }),
  refresh: flag.switch('--refresh', 'ask again even when the answer is cached, and store the new one', { group: 'Output' }),
  raw: flag.switch('--raw', 'the answer byte for byte (default: terminal escapes and control characters removed)', { group: 'Output' }),
  recursive: flag.switch('-r, --recursive', 'descend into sub-folders', { group: 'Input' }),
  filesFrom: flag.text('--files-from <file>', 'read paths from a file, or - for stdin', { group: 'Input' }),
  nul: flag.switch('-0, --null', 'paths in --files-from are NUL-separated', { group: 'Input' }),
  manifest: flag.text('--manifest <file>', 'a table of images (.jsonl, .csv, .tsv, or - for stdin) instead of inputs', { group: 'Input' }),
  imageCol: flag.text('--image-col <name>', 'the column with the image: a path relative to the manifest, an http(s) or data: URL', {
    group: 'Input',
  }),
  idCol: flag.text('--id-col <name>', 'a column with a unique id per row: results are named and merged by it', { group: 'Input' }),
  keepCols: flag.text('--keep-cols <a,b>', 'the columns carried into each record under "row" (default: all others)', { group: 'Input' }),
  imageRoot: flag.text(
    '--image-root <dir>',
    "the dataset folder: rows' relative paths start here and every row's file must be inside it (default: the manifest's folder)",
    { group: 'Input' },
  ),
  allowOutsideRoot: flag.switch(
    '--allow-outside-root',
    'let manifest rows name files outside the dataset folder (absolute paths, .., links out of it)',
    { group: 'Input' },
  ),
  shardCount: flag.text('--shard-count <n>', 'shard count for an engine index (JOB_COMPLETION_INDEX, a resubmitted SLURM task)', {
    group: 'Scale',
  }),
} as const satisfies Flags;
export type FlagName = keyof typeof FLAGS;

/** What one describe request takes: the settings of describe, batch and map alike. */
export const REQUEST_SETTINGS = [
  'model',
  'prompt',
  'system',
  'max-tokens',
  'temperature',
  'detail',
  'schema',
  'schema-mode',
  'validate',
  'reasoning-effort',
  'show-reasoning',
  'n',
  'max-edge',
  'max-bytes',
  'max-input-bytes',
  'resize',
  'keep-metadata',
  'prepare-timeout',
  'pass-url',
  'allow-private-urls',
  'inline',
  'timeout',
  'retries',
  'stream',
  'cache',
  'log',
] as const satisfies readonly SettingKey[];

/** Many requests (batch, map): a request's settings and the pace. */
export const MANY_SETTINGS = [...REQUEST_SETTINGS, 'concurrency', 'max-rps'] as const satisfies readonly SettingKey[];

/** The settings given on the program, before or after the command. */
export const GLOBAL_SETTINGS = ['base-url', 'token-command'] as const satisfies readonly SettingKey[];

/**
 * A command: its arguments, the settings and shared flags it takes, its own flags and its help.
 * Its options object (`OptionsOf`) is what its `run(opts, f)` gets.
 */
export interface CommandSpec<A extends Args = Args, F extends Flags = Flags, N extends FlagName = FlagName> {
  readonly name: string;
  readonly description: string;
  /** The short line in a list of commands (description when absent). */
  readonly summary?: string;
  readonly args?: A;
  readonly settings?: readonly SettingKey[];
  /** Shared flags (FLAGS) it takes; `help` replaces a shared flag's line where the command means more by it. */
  readonly shared?: readonly N[];
  readonly sharedHelp?: Partial<Record<N, string>>;
  readonly flags?: F;
  /** Shown after the options (placeholders, examples, exit codes). */
  readonly help?: string;
  readonly hidden?: boolean;
}

/**
 * Declares a command (the identity, for inference): `OptionsOf<typeof x>` is then exact.
 * Shared flags are named here, at the declaration, so their types are known.
 */
export function command<
  const A extends Args = Record<never, never>,
  const F extends Flags = Record<never, never>,
  const N extends FlagName = never,
>(spec: CommandSpec<A, F, N>): CommandSpec<A, F, N> {
  return spec;
}

/**
 * What a command's `run` gets: its arguments and flags (its own and the shared ones it takes),
 * typed, and `settings`, the setting values given as flags (parsed by config/keys.ts's rules).
 */
export type OptionsOf<S> =
  S extends CommandSpec<infer A, infer F, infer N>
    ? ArgValues<A> & Values<F> & Values<Pick<typeof FLAGS, N>> & { settings: import('../config/store.ts').Profile }
    : never;

export const EXIT_CODES = `
Exit codes:
  0 success · 1 internal error (a bug) · 2 usage or input error, nothing sent
  3 configuration or authentication (no base URL or token, 401/403)
  4 API or network failure after retries · 5 batch finished but some images failed
  6 results could not be written (disk full, read-only, stdout failed); nothing more was sent
  130 interrupted (Ctrl-C) · 143 terminated (SIGTERM) · 129 hung up (SIGHUP)`;
