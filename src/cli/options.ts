// Options as commander sees them, built from their declarations: settings from config/keys.ts
// (SETTING_KEYS), the rest from the shared tables below. A flag is written once here or there and
// every command that takes it, its help, completions and the man page come from that.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { HELP_GROUPS, SETTING_KEYS, formatDefault, parseSetting, type HelpGroup, type KeySpec, type SettingKey } from '../config/keys.ts';
import type { Profile } from '../config/store.ts';
import type { IO } from '../types.ts';
import type { Factory } from './factory.ts';
import { FLAGS, GLOBAL_SETTINGS, type CommandSpec, type Flag, type FlagName, type Flags, type OptionsOf, type Values } from './spec.ts';

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

/** The option of a shared flag; `help` replaces its help line where a command means more by it. */
export function flagOption(name: FlagName, help?: string): Option {
  return specOption(FLAGS[name], help);
}

/** The commander option of a declared flag (spec.ts): choices, old spellings, repeats, hidden, heading. */
export function specOption(spec: Flag<unknown>, help?: string): Option {
  const option = new Option(spec.flags, help ?? spec.help);
  // Old spellings stay accepted without being offered: checked here instead of by .choices().
  if (spec.choices) option.choices(spec.choices);
  // after .choices(), which completions and help read: its check replaced by one that maps them
  if (spec.choices && spec.aliases) option.argParser(choiceParser(spec.choices, spec.aliases));
  if (spec.kind === 'list') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
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

/**
 * Setting values that were given on the command line (not commander's defaults), parsed by their
 * rules: the settings `keys` names and the program's. Only those: `log -n 0` is log's own count,
 * not the `n` setting.
 */
export function flagSettings(cmd: Command, keys: readonly SettingKey[]): Profile {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const wanted = new Set<SettingKey>([...keys, ...GLOBAL_SETTINGS]);
  const out: Profile = {};
  for (const [key, name] of settingAttributes()) {
    if (!wanted.has(key)) continue;
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

/** A choice flag that also takes old spellings (`--xmp-name ext` = full): each is checked and mapped. */
function choiceParser(choices: readonly string[], aliases: Readonly<Record<string, string>>) {
  return (value: string): string => {
    const v = aliases[value] ?? value;
    if (!choices.includes(v)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return v;
  };
}

/** The typed values of declared flags, as commander parsed them for `cmd` (and its parents). */
export function readValues<F extends Flags>(cmd: Command, flags: F): Values<F> {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(flags)) {
    const v = opts[new Option(spec.flags).attributeName()];
    if (spec.kind === 'switch') out[key] = v === true;
    else if (spec.kind === 'negated') out[key] = v !== false;
    else if (spec.kind === 'list') out[key] = Array.isArray(v) ? v : [];
    else if (spec.kind === 'optional' && v === true) out[key] = true;
    else out[key] = typeof v === 'string' ? v : undefined;
  }
  return out as Values<F>;
}

/** The settings most runs give: first under their heading. */
const LEAD_SETTINGS: readonly SettingKey[] = ['model', 'prompt'];

/** A command's run: its typed options and the factory, to an exit code. */
export type Run<O> = (options: O, f: Factory) => Promise<number>;

/** What the commands added with `addCommand` share: the IO, and where the exit code goes. */
export interface Runner {
  readonly io: IO;
  done(code: number): void;
}

/**
 * Adds a declared command to `parent`: its arguments, settings, shared and own flags and help.
 * When it runs, `load` brings its `run` (the command's file is imported only then), which gets the
 * typed options (arguments, flags, `settings`) and a factory built from the flags given.
 */
// biome-ignore lint/suspicious/noExplicitAny: any declaration, each checked against its own run
export function addCommand<S extends CommandSpec<any, any, any>>(
  parent: Command,
  spec: S,
  load: () => Promise<Run<OptionsOf<S>>>,
  runner: Runner,
  extra: { isDefault?: boolean } = {},
): Command {
  const cmd = parent
    .command(spec.name, { isDefault: extra.isDefault === true, hidden: spec.hidden === true })
    .description(spec.description);
  if (spec.summary) cmd.summary(spec.summary);
  for (const a of Object.values(spec.args ?? {}) as { name: string; help: string }[]) cmd.argument(a.name, a.help);
  pending.set(cmd, () => {
    // Under each heading, most used first: -m and -p, the command's own flags (what it is for:
    // batch's -o, --sidecar), the shared ones (-r, --manifest), then the settings of every request.
    const settings = spec.settings ?? [];
    addSettings(
      cmd,
      LEAD_SETTINGS.filter((k) => settings.includes(k)),
    );
    for (const f of Object.values((spec.flags ?? {}) as Flags)) cmd.addOption(specOption(f));
    for (const name of (spec.shared ?? []) as FlagName[]) cmd.addOption(flagOption(name, spec.sharedHelp?.[name]));
    addSettings(
      cmd,
      settings.filter((k) => !LEAD_SETTINGS.includes(k)),
    );
  });
  if (!hooked.has(parent)) {
    hooked.add(parent);
    parent.hook('preSubcommand', (_parent, sub) => void withOptions(sub));
    // `imgdesc help batch` shows batch's help without dispatching to it
    parent.on('beforeAllHelp', (context: { command: Command }) => void withOptions(context.command));
  }
  if (spec.help) cmd.addHelpText('after', spec.help);
  cmd.action(async (...all: unknown[]) => {
    const c = all.at(-1) as Command;
    const run = await load();
    const { makeFactory } = await import('./factory.ts');
    runner.done(await run(readOptions(c, spec, all.slice(0, -2)) as OptionsOf<S>, makeFactory(runner.io, runFlags(c))));
  });
  return cmd;
}

/**
 * The options of each command addCommand added, not added yet: a run parses one command, and
 * making the Option objects of all of them (~200) cost every run ~6 ms of its start. They are added
 * when commander dispatches to the command (the parent's preSubcommand hook: before it parses its
 * arguments), before its help is shown (beforeAllHelp), or when the program is walked whole
 * (withAllOptions).
 */
const pending = new WeakMap<Command, () => void>();
const hooked = new WeakSet<Command>();

/** The command with its options. */
export function withOptions(cmd: Command): Command {
  const add = pending.get(cmd);
  if (add) {
    pending.delete(cmd);
    add();
  }
  return cmd;
}

/** The command and every command under it with their options: for completions and the man page. */
export function withAllOptions(cmd: Command): Command {
  withOptions(cmd);
  for (const c of cmd.commands) withAllOptions(c);
  return cmd;
}

/** A command that only holds others (`config`, `cache`): its name and help lines. */
export function addGroup(parent: Command, spec: CommandSpec): Command {
  const cmd = parent.command(spec.name).description(spec.description);
  if (spec.summary) cmd.summary(spec.summary);
  return cmd;
}

/** The options object of a declared command: arguments by name, flags typed, settings given. */
export function readOptions(cmd: Command, spec: CommandSpec, args: unknown[]): Record<string, unknown> {
  const shared = Object.fromEntries((spec.shared ?? []).map((n) => [n, FLAGS[n]]));
  const named = Object.fromEntries(Object.keys(spec.args ?? {}).map((k, i) => [k, args[i]]));
  return { ...named, ...readValues(cmd, shared), ...readValues(cmd, spec.flags ?? {}), settings: flagSettings(cmd, spec.settings ?? []) };
}
