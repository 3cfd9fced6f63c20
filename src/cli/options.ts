// Options as commander sees them, built from their declarations: settings from config/keys.ts
// (SETTING_KEYS), the rest from the shared tables below. A flag is written once here or there and
// every command that takes it, its help, completions and the man page come from that.
import { Option, type Command } from 'commander';
import { HELP_GROUPS, SETTING_KEYS, formatDefault, parseSetting, type HelpGroup, type KeySpec, type SettingKey } from '../config/keys.ts';
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
  /** --refresh: ask again and replace the cached answer. */
  refresh: boolean;
  /** --raw: the answer byte for byte (terminal control in it kept) on stdout and in sidecars. */
  raw: boolean;
}

/** A heading as commander prints it. */
const heading = (group: HelpGroup): string => `${group}:`;

/**
 * commander's Help.groupItems, with the headings in HELP_GROUPS order (most used first) whatever
 * order a command added its options in; other headings (Options:, Commands:) after them.
 */
export function groupInOrder<T>(groups: Map<string, T[]>): Map<string, T[]> {
  const rank = (h: string) => {
    const i = (HELP_GROUPS as readonly string[]).indexOf(h.replace(/:$/, ''));
    return i < 0 ? HELP_GROUPS.length : i;
  };
  return new Map([...groups].sort(([a], [b]) => rank(a) - rank(b)));
}

/** The option of a declared setting: its flag, help line, default, choices and heading. */
export function settingOption(key: SettingKey): Option {
  const spec: KeySpec = SETTING_KEYS[key];
  if (!spec.flag) throw new Error(`setting ${key} has no flag`);
  const def = formatDefault(spec);
  // A bool's default is in its flag (`--no-resize`); the default prompt is a sentence of its own.
  const shown = def !== undefined && spec.type !== 'bool' && key !== 'prompt' ? ` (default ${def})` : '';
  const option = new Option(spec.flag, (spec.flagHelp ?? spec.description) + shown);
  if (typeof spec.type === 'object') option.choices(spec.type.enum);
  if (spec.hidden) option.hideHelp();
  if (spec.group) option.helpGroup(heading(spec.group));
  return option;
}

/** Adds the options of these settings, in this order. */
export function addSettings(cmd: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) cmd.addOption(settingOption(key));
  return cmd;
}

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

/** An option that is not a setting, declared once for every command that takes it. */
interface FlagSpec {
  flags: string;
  help: string;
  group?: HelpGroup;
  hidden?: boolean;
  choices?: readonly string[];
}

export const FLAGS = {
  quiet: { flags: '-q, --quiet', help: 'no spinner, progress or warnings; errors only' },
  verbose: { flags: '-v, --verbose', help: 'more detail on stderr (image preparation, retries, stack traces)' },
  color: { flags: '--no-color', help: 'no colour' },
  profile: { flags: '--profile <name>', help: 'config profile to use (config: the one to change)' },
  promptFile: { flags: '--prompt-file <file>', help: 'read the prompt from a file (as -p @file)', group: 'Prompt and model' },
  json: { flags: '--json', help: 'print the raw response body', group: 'Output' },
  dryRun: { flags: '--dry-run', help: 'print the request that would be sent, send nothing', group: 'Output' },
  refresh: { flags: '--refresh', help: 'ask again even when the answer is cached, and store the new one', group: 'Output' },
  raw: {
    flags: '--raw',
    help: 'the answer byte for byte (by default terminal escape sequences and control characters are removed)',
    group: 'Output',
  },
  recursive: { flags: '-r, --recursive', help: 'descend into sub-folders', group: 'Input' },
  filesFrom: { flags: '--files-from <file>', help: 'read paths from a file, or - for stdin', group: 'Input' },
  null: { flags: '-0, --null', help: 'paths in --files-from are NUL-separated', group: 'Input' },
  manifest: {
    flags: '--manifest <file>',
    help: 'a table of images (.jsonl, .csv, .tsv, or - for stdin) instead of inputs',
    group: 'Input',
  },
  imageCol: {
    flags: '--image-col <name>',
    help: 'the column with the image: a path relative to the manifest, an http(s) or data: URL',
    group: 'Input',
  },
  idCol: { flags: '--id-col <name>', help: 'a column with a unique id per row: results are named and merged by it', group: 'Input' },
  keepCols: { flags: '--keep-cols <a,b>', help: 'the columns carried into each record under "row" (default: all others)', group: 'Input' },
  imageRoot: {
    flags: '--image-root <dir>',
    help: "the dataset folder: rows' relative paths start here and every row's file must be inside it (default: the manifest's folder)",
    group: 'Input',
  },
  allowOutsideRoot: {
    flags: '--allow-outside-root',
    help: 'let manifest rows name files outside the dataset folder (absolute paths, .., links out of it)',
    group: 'Input',
  },
  shardCount: {
    flags: '--shard-count <n>',
    help: 'shard count for an engine index (JOB_COMPLETION_INDEX, a resubmitted SLURM task)',
    group: 'Scale',
  },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

/** The option of a shared flag; `help` replaces its help line where a command means more by it. */
export function flagOption(name: FlagName, help?: string): Option {
  const spec: FlagSpec = FLAGS[name];
  const option = new Option(spec.flags, help ?? spec.help);
  if (spec.choices) option.choices(spec.choices);
  if (spec.hidden) option.hideHelp();
  if (spec.group) option.helpGroup(heading(spec.group));
  return option;
}

export function addFlags(cmd: Command, names: readonly FlagName[]): Command {
  for (const name of names) cmd.addOption(flagOption(name));
  return cmd;
}

/** The options every command takes, given once on the program (before or after the command). */
export function addGlobalOptions(program: Command): Command {
  addFlags(program, ['quiet', 'verbose', 'color', 'profile']);
  return addSettings(program, GLOBAL_SETTINGS);
}

// commander's attribute name of each setting with a flag (`--no-resize` → resize, `-n` → n)
let attributes: [SettingKey, string][] | undefined;
function settingAttributes(): [SettingKey, string][] {
  attributes ??= (Object.entries(SETTING_KEYS) as [SettingKey, KeySpec][])
    .filter(([, spec]) => spec.flag !== undefined)
    .map(([key, spec]) => [key, new Option(spec.flag as string).attributeName()]);
  return attributes;
}

/** Setting values that were given on the command line (not commander's defaults), parsed by their rules. */
export function flagSettings(cmd: Command): Profile {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const out: Profile = {};
  for (const [key, name] of settingAttributes()) {
    if (cmd.getOptionValueSourceWithGlobals(name) !== 'cli') continue;
    const v = opts[name];
    const spec: KeySpec = SETTING_KEYS[key];
    if (spec.type === 'bool') out[key] = v === true;
    else if (typeof v === 'string') out[key] = parseSetting(key, v, key.length === 1 ? `-${key}` : `--${key}`);
  }
  return out;
}

export function runFlags(cmd: Command): RunFlags {
  const o = cmd.optsWithGlobals<Record<string, unknown>>();
  return {
    profile: typeof o.profile === 'string' ? o.profile : undefined,
    json: o.json === true,
    dryRun: o.dryRun === true,
    quiet: o.quiet === true,
    verbose: o.verbose === true,
    noColor: o.color === false,
    promptFile: typeof o.promptFile === 'string' ? o.promptFile : undefined,
    refresh: o.refresh === true,
    raw: o.raw === true,
  };
}
