// `imgdesc completion bash|zsh|fish`: scripts generated from the commander program itself, so
// every command and option added later completes without touching this file. Profile names and
// config keys are looked up when completing (`imgdesc __complete profiles|keys`).
import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { SETTING_KEYS, type KeySpec } from '../config/keys.ts';
import { configPath, DEFAULT_PROFILE, type StoreData } from '../config/store.ts';
import { ExitCode, UsageError } from '../types.ts';
import type { complete, completion } from './commands.ts';
import type { Factory } from './factory.ts';
import type { OptionsOf } from './spec.ts';

/** What an option's value completes to. */
export type ValueKind = { choices: readonly string[] } | 'file' | 'profile' | 'none';

interface OptionModel {
  names: string[];
  description: string;
  /** null: a switch, no value. */
  value: ValueKind | null;
  /** The value may be left out (`--sidecar [ext]`). */
  optionalValue: boolean;
}

interface CommandModel {
  name: string;
  description: string;
  options: OptionModel[];
  /** What the positional arguments complete to. */
  args: 'file' | 'profile' | 'key' | { choices: readonly string[] } | 'none';
  subcommands: CommandModel[];
}

const FILE_OPTIONS = new Set(['--files-from', '--output', '--prompt-file', '--schema', '--image', '--manifest', '--input']);
const SHELLS = ['bash', 'zsh', 'fish'] as const;

function optionModel(o: Option): OptionModel {
  const takes = o.required || o.optional;
  const long = o.long ?? '';
  let value: ValueKind | null = null;
  if (takes) value = o.argChoices ? { choices: o.argChoices } : long === '--profile' ? 'profile' : FILE_OPTIONS.has(long) ? 'file' : 'none';
  return { names: [o.short, o.long].filter((n): n is string => !!n), description: o.description, value, optionalValue: o.optional };
}

function argsOf(path: string): CommandModel['args'] {
  if (path === 'config set' || path === 'config get' || path === 'config remove') return 'key';
  if (path === 'config use') return 'profile';
  if (path === 'completion') return { choices: SHELLS };
  if (path === 'describe' || path === 'batch' || path === 'report' || path === 'merge') return 'file';
  return 'none';
}

function unique(options: Option[]): Option[] {
  const seen = new Set<string>();
  return options.filter((o) => {
    const name = o.long ?? o.short ?? '';
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

/** The program as data: visible commands and options only. */
export function describeProgram(program: Command): CommandModel {
  const help = program.createHelp();
  const walk = (cmd: Command, path: string): CommandModel => ({
    name: cmd.name(),
    description: cmd.description(),
    // options given on the program (-q, --profile …) complete after any command too; a parent's
    // option of the same name as the command's own (log's --json, log show's) once
    options: unique([...help.visibleOptions(cmd), ...(cmd === program ? [] : help.visibleGlobalOptions(cmd))]).map(optionModel),
    args: argsOf(path),
    subcommands: help
      .visibleCommands(cmd)
      .filter((c) => c.name() !== 'help')
      .map((c) => walk(c, path ? `${path} ${c.name()}` : c.name())),
  });
  const root = walk(program, '');
  // describe is the default command: `imgdesc --model x photo.jpg` is typed at the root
  const describe = root.subcommands.find((c) => c.name === 'describe');
  const seen = new Set(root.options.flatMap((o) => o.names));
  for (const o of describe?.options ?? []) if (!o.names.some((n) => seen.has(n))) root.options.push(o);
  root.args = 'file';
  return root;
}

/** `imgdesc completion <shell>`: the script for the program it was run from. */
export async function run(options: OptionsOf<typeof completion>, f: Factory, program: Command): Promise<number> {
  f.io.stdout.write(completionScript(options.shell, program));
  return ExitCode.ok;
}

/** `imgdesc __complete profiles|keys` (what the scripts call). */
export async function runWords(options: OptionsOf<typeof complete>, f: Factory): Promise<number> {
  f.io.stdout.write(completionWords(options.what, f.io.env));
  return ExitCode.ok;
}

/** `imgdesc __complete profiles|keys`: words for the scripts, one a line. */
export function completionWords(what: string, env: Record<string, string | undefined>): string {
  let data: StoreData = {};
  try {
    data = JSON.parse(readFileSync(configPath(env), 'utf8').replace(/^\uFEFF/, '')) as StoreData;
  } catch {
    // no config yet, or one that a real command will report
  }
  const profiles = data.profiles && typeof data.profiles === 'object' ? data.profiles : {};
  if (what === 'profiles')
    return Object.keys(profiles)
      .map((n) => n + '\n')
      .join('');
  if (what === 'keys') {
    const saved = Object.keys(profiles[data.active ?? DEFAULT_PROFILE] ?? {}).filter((k) => k.startsWith('prompt.'));
    // hidden keys (inline: kept for old scripts) are taken, not offered
    const keys = Object.entries(SETTING_KEYS as Record<string, KeySpec>).flatMap(([k, spec]) => (spec.hidden ? [] : [k]));
    return [...keys, ...saved].map((k) => k + '\n').join('');
  }
  return '';
}

export function completionScript(shell: string, program: Command): string {
  const model = describeProgram(program);
  if (shell === 'bash') return bashScript(model);
  if (shell === 'zsh') return zshScript(model);
  if (shell === 'fish') return fishScript(model);
  throw new UsageError(`completion: unknown shell '${shell}' (bash, zsh or fish)`);
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Every command path (`batch`, `config set`) with its model; the root is ''. */
function paths(model: CommandModel): Array<[string, CommandModel]> {
  const out: Array<[string, CommandModel]> = [];
  const walk = (c: CommandModel, path: string) => {
    out.push([path, c]);
    for (const s of c.subcommands) walk(s, path ? `${path} ${s.name}` : s.name);
  };
  walk(model, '');
  return out;
}

function valueWords(kind: ValueKind | CommandModel['args'], shell: 'bash'): string {
  if (kind === 'file') return 'compgen -f -- "$cur"';
  if (kind === 'profile') return 'compgen -W "$(imgdesc __complete profiles 2>/dev/null)" -- "$cur"';
  if (kind === 'key') return 'compgen -W "$(imgdesc __complete keys 2>/dev/null)" -- "$cur"';
  if (typeof kind === 'object') return `compgen -W ${q(kind.choices.join(' '))} -- "$cur"`;
  void shell;
  return 'true';
}

function bashScript(model: CommandModel): string {
  const all = paths(model);
  const commandNames = model.subcommands.map((c) => c.name);
  // The path of the command being typed: the first word that names a command, then a subcommand.
  const lines: string[] = [
    '# imgdesc bash completion: eval "$(imgdesc completion bash)"',
    '_imgdesc() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path="" w i nargs=0',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    case "$w" in -*) continue ;; esac',
    '    case "$path $w" in',
    ...all
      .filter(([p]) => p.includes(' ') || commandNames.includes(p))
      .map(([p]) => `      ${q(p.includes(' ') ? p : ' ' + p)}) path=${q(p)} ; continue ;;`),
    '    esac',
    '    nargs=$((nargs + 1))',
    '  done',
    '  [ -z "$path" ] && [ "$nargs" -gt 0 ] && path=describe',
    '  case "$path:$prev" in',
  ];
  for (const [p, c] of all) {
    for (const o of c.options) {
      if (!o.value) continue;
      const pattern = o.names.map((n) => q(`${p}:${n}`)).join('|');
      lines.push(`    ${pattern}) COMPREPLY=($(${valueWords(o.value, 'bash')})); return ;;`);
    }
  }
  lines.push('  esac');
  lines.push('  if [[ "$cur" == -* ]]; then');
  lines.push('    case "$path" in');
  for (const [p, c] of all) {
    lines.push(`      ${q(p)}) COMPREPLY=($(compgen -W ${q(c.options.flatMap((o) => o.names).join(' '))} -- "$cur")) ;;`);
  }
  lines.push('    esac');
  lines.push('    return');
  lines.push('  fi');
  lines.push('  case "$path" in');
  for (const [p, c] of all) {
    if (c.subcommands.length) {
      const words = c.subcommands.map((s) => s.name).join(' ');
      lines.push(
        `    ${q(p)}) COMPREPLY=($(compgen -W ${q(words)} -- "$cur"))${p === '' ? '; COMPREPLY+=($(compgen -f -- "$cur"))' : ''} ;;`,
      );
    } else if (c.args !== 'none') {
      lines.push(`    ${q(p)}) COMPREPLY=($(${valueWords(c.args, 'bash')})) ;;`);
    }
  }
  lines.push('  esac');
  lines.push('}');
  lines.push('complete -o default -o filenames -F _imgdesc imgdesc');
  return lines.join('\n') + '\n';
}

function zshValue(kind: ValueKind | CommandModel['args']): string {
  if (kind === 'file') return '_files';
  if (kind === 'profile') return '_imgdesc_profiles';
  if (kind === 'key') return '_imgdesc_keys';
  if (typeof kind === 'object') return `(${kind.choices.join(' ')})`;
  return ' ';
}

const zq = (s: string) => s.replace(/\\/g, '\\\\').replace(/'/g, `'\\''`).replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');

function zshScript(model: CommandModel): string {
  const fn = (p: string) => `_imgdesc_${p ? p.replace(/[^a-z0-9]+/gi, '_') : 'root'}`;
  const out: string[] = [
    '#compdef imgdesc',
    '# imgdesc zsh completion: imgdesc completion zsh > "${fpath[1]}/_imgdesc"',
    '_imgdesc_profiles() { local -a p; p=(${(f)"$(imgdesc __complete profiles 2>/dev/null)"}); _describe profile p }',
    '_imgdesc_keys() { local -a k; k=(${(f)"$(imgdesc __complete keys 2>/dev/null)"}); _describe key k }',
  ];
  const specs = (c: CommandModel) =>
    c.options.map((o) => {
      const desc = zq(o.description);
      const value = o.value ? `:${o.optionalValue ? ':' : ''}value:${zshValue(o.value)}` : '';
      if (o.names.length === 1) return `'${o.names[0]}[${desc}]${value}'`;
      return `'(${o.names.join(' ')})'{${o.names.join(',')}}'[${desc}]${value}'`;
    });
  for (const [p, c] of paths(model)) {
    out.push(`${fn(p)}() {`);
    if (c.subcommands.length) {
      const describe = c.subcommands.map((s) => `'${s.name}:${zq(s.description)}'`).join(' ');
      const rootImage = p === '' ? ` '*:image:_files'` : '';
      out.push('  local curcontext="$curcontext" state line ret=1');
      out.push(`  _arguments -C ${[...specs(c), `'1: :->cmds'`, `'*:: :->args'`].join(' ')} && ret=0`);
      out.push('  case $state in');
      out.push(`    cmds) local -a cmds; cmds=(${describe}); _describe command cmds && ret=0${rootImage ? '; _files && ret=0' : ''} ;;`);
      out.push('    args) case $words[1] in');
      for (const s of c.subcommands) out.push(`      ${s.name}) ${fn(p ? `${p} ${s.name}` : s.name)} && ret=0 ;;`);
      out.push(`      *) ${p === '' ? fn('describe') : 'true'} ;;`);
      out.push('    esac ;;');
      out.push('  esac');
      out.push('  return ret');
    } else {
      const args = c.args === 'none' ? [] : [`'*:arg:${zshValue(c.args)}'`];
      out.push(`  _arguments -s ${[...specs(c), ...args].join(' ')}`);
    }
    out.push('}');
  }
  out.push('_imgdesc_root "$@"');
  return out.join('\n') + '\n';
}

function fishScript(model: CommandModel): string {
  const out = ['# imgdesc fish completion: imgdesc completion fish > ~/.config/fish/completions/imgdesc.fish', 'complete -c imgdesc -f'];
  const top = model.subcommands.map((c) => c.name).join(' ');
  const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const value = (kind: ValueKind | CommandModel['args']): string => {
    if (kind === 'file') return ' -F';
    if (kind === 'profile') return " -x -a '(imgdesc __complete profiles 2>/dev/null)'";
    if (kind === 'key') return " -x -a '(imgdesc __complete keys 2>/dev/null)'";
    if (typeof kind === 'object') return ` -x -a ${fq(kind.choices.join(' '))}`;
    return ' -x';
  };
  for (const [p, c] of paths(model)) {
    const parts = p.split(' ').filter(Boolean);
    // root options also complete after an image (describe is the default command)
    const cond =
      parts.length === 0
        ? `not __fish_seen_subcommand_from ${top}`
        : parts.length === 1
          ? `__fish_seen_subcommand_from ${parts[0]}` +
            (c.subcommands.length ? `; and not __fish_seen_subcommand_from ${c.subcommands.map((s) => s.name).join(' ')}` : '')
          : `__fish_seen_subcommand_from ${parts[0]}; and __fish_seen_subcommand_from ${parts[1]}`;
    for (const s of c.subcommands) out.push(`complete -c imgdesc -n ${fq(cond)} -a ${s.name} -d ${fq(s.description)}`);
    if (!c.subcommands.length && c.args !== 'none') out.push(`complete -c imgdesc -n ${fq(cond)}${value(c.args)}`);
    for (const o of c.options) {
      const names = o.names.map((n) => (n.startsWith('--') ? ` -l ${n.slice(2)}` : ` -s ${n.slice(1)}`)).join('');
      out.push(`complete -c imgdesc -n ${fq(cond)}${names}${o.value ? value(o.value) : ''} -d ${fq(o.description)}`);
    }
  }
  out.push(`complete -c imgdesc -n ${fq(`not __fish_seen_subcommand_from ${top}`)} -F`);
  return out.join('\n') + '\n';
}
