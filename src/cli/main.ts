// The commander program, built from the declarations in commands.ts. Each command's file is
// loaded with `await import()` when it runs, so `--help` and `--version` load only the
// declarations and commander.
import { Command, CommanderError, Help, type Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, UsageError, type IO } from '../types.ts';
import { closest } from './suggest.ts';
import { bareWord } from './route.ts';
import { reportCliError } from './error-report.ts';
import { VERSION } from '../version.ts';
import { addCommand, addGlobalOptions, addGroup, groupInOrder, withAllOptions, withOptions, type Runner } from './options.ts';
import { visible, visibleBlock } from '../safe-text.ts';
import * as commands from './commands.ts';

export { processIO } from './io.ts';

/**
 * Every command, option and help text, defined once: run by main, walked by `imgdesc completion`
 * and by the man page generated at build time. `exitCode()` is what the action that ran returned.
 */
export function buildProgram(io: IO): { program: Command; exitCode: () => number } {
  let code: number = ExitCode.ok;
  const runner: Runner = { io, done: (c) => void (code = c) };
  const program = new Command('imgdesc');
  program
    .description('Describe images with vision models behind OpenAI-compatible relays.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      // commander quotes what was typed (an option, a command): controls in it shown escaped
      writeErr: (s) => void io.stderr.write(visibleBlock(s)),
    })
    .configureHelp({
      showGlobalOptions: true,
      // command names alone in the lists: `describe [options] <image> [prompt]` would push every summary onto a second line
      subcommandTerm: (cmd: Command) => cmd.name(),
      optionDescription: choicesOnce,
      groupItems<T extends Command | Option>(unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
        return groupInOrder(new Help().groupItems(unsorted, visible, getGroup));
      },
    });
  addGlobalOptions(program);
  program.usage('[options] <image> [prompt]\n       imgdesc <command> [options]   (imgdesc <command> --help for its options)');

  const describe = addCommand(
    program,
    commands.describe,
    async () => {
      const { run } = await import('./describe.ts');
      return (options, f) => {
        checkNotACommand(options.image, program, io);
        return run(options, f);
      };
    },
    runner,
    { isDefault: true },
  );
  // `imgdesc --help`: how to describe an image, its most used options, and where the rest are.
  program.addHelpText('after', () => describeSummary(describe, io.stdout.columns) + commands.ROOT_EXAMPLES);

  addCommand(program, commands.batch, async () => (await import('./batch.ts')).run, runner);
  addCommand(program, commands.map, async () => (await import('./map.ts')).run, runner);
  addCommand(program, commands.merge, async () => (await import('./merge.ts')).run, runner);
  addCommand(program, commands.report, async () => (await import('./report.ts')).run, runner);
  addCommand(program, commands.alt, async () => (await import('./alt.ts')).run, runner);
  addCommand(program, commands.init, async () => (await import('./init.ts')).run, runner);
  addCommand(program, commands.doctor, async () => (await import('./doctor.ts')).run, runner);
  addCommand(program, commands.models, async () => (await import('./models.ts')).run, runner);

  const config = addGroup(program, commands.config);
  addCommand(config, commands.configSet, async () => (await import('./config.ts')).runSet, runner);
  addCommand(config, commands.configGet, async () => (await import('./config.ts')).runGet, runner);
  addCommand(config, commands.configList, async () => (await import('./config.ts')).runList, runner);
  addCommand(config, commands.configUse, async () => (await import('./config.ts')).runUse, runner);
  addCommand(config, commands.configRemove, async () => (await import('./config.ts')).runRemove, runner);
  addCommand(config, commands.configPath, async () => (await import('./config.ts')).runPath, runner);
  addCommand(config, commands.configEdit, async () => (await import('./config.ts')).runEdit, runner);

  const log = addCommand(program, commands.log, async () => (await import('./log.ts')).run, runner);
  addCommand(log, commands.logShow, async () => (await import('./log.ts')).runShow, runner);
  addCommand(log, commands.logClear, async () => (await import('./log.ts')).runClear, runner);

  const cache = addGroup(program, commands.cache);
  addCommand(cache, commands.cacheInfo, async () => (await import('./cache.ts')).runInfo, runner);
  addCommand(cache, commands.cachePrune, async () => (await import('./cache.ts')).runPrune, runner);
  addCommand(cache, commands.cacheClear, async () => (await import('./cache.ts')).runClear, runner);

  addCommand(program, commands.mcp, async () => (await import('./mcp.ts')).run, runner);
  addCommand(
    program,
    commands.completion,
    async () => {
      const { run } = await import('./completion.ts');
      return (options, f) => run(options, f, withAllOptions(program));
    },
    runner,
  );
  addCommand(program, commands.version, async () => (await import('./version.ts')).run, runner);
  addCommand(program, commands.complete, async () => (await import('./completion.ts')).runWords, runner);

  return { program, exitCode: () => code };
}

/** The man page (roff), for the build: the same program main runs. */
export async function manPage(): Promise<string> {
  const { renderManPage } = await import('./man.ts');
  // No action runs: the IO is only held, never used.
  const io: IO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    env: {},
    cwd: '.',
    signal: new AbortController().signal,
  };
  return renderManPage(withAllOptions(buildProgram(io).program));
}

export async function main(argv: string[], io: IO): Promise<number> {
  const { program, exitCode } = buildProgram(io);
  if ((argv.includes('-V') || argv.includes('--version')) && (argv.includes('-v') || argv.includes('--verbose'))) {
    const { printVersion } = await import('./version.ts');
    return printVersion(argv.includes('--json'), io);
  }
  argv = helpFor(argv, program);
  if (argv.length === 0) {
    // `imgdesc` alone: the overview is more use than "missing required argument 'image'"
    program.outputHelp({ error: true });
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (error) {
    return reportError(error, io, argv.includes('-v') || argv.includes('--verbose'), argv.includes('--no-color'), { argv, program });
  }
}

/** `imgdesc photo.jpg --help` is describe's help (the command it would run), not the program's. */
function helpFor(argv: string[], program: Command): string[] {
  if (!argv.includes('--help') && !argv.includes('-h')) return argv;
  // the first word that is not an option or the value of one of the program's options
  const takesValue = new Set(program.options.filter((o) => o.required).flatMap((o) => [o.long ?? '', o.short ?? '']));
  const first = argv.find((a, i) => !a.startsWith('-') && !(i > 0 && takesValue.has(argv[i - 1] ?? '')));
  if (first === undefined || program.commands.some((c) => c.name() === first || c.aliases().includes(first))) return argv;
  return ['describe', ...argv];
}

/** The describe options most runs use, laid out as `--help` lays out options, and where the rest are. */
function describeSummary(describe: Command, columns: number | undefined): string {
  const help = describe.createHelp();
  help.helpWidth = columns ?? 80;
  const common = commands.COMMON_DESCRIBE.flatMap((long) => withOptions(describe).options.filter((o) => o.long === long));
  const width = Math.max(...common.map((o) => help.optionTerm(o).length));
  const lines = common.map((o) => help.formatItem(help.optionTerm(o), width, help.optionDescription(o), help));
  return `\nDescribe options (the most used; all of them: imgdesc describe --help):\n${lines.join('\n')}\n`;
}

/**
 * An option's help line with its choices once, as typed (`(low|high|auto)`), and not at all where
 * the line already names each of them (`--existing`, `--xmp-name`). commander's own adds
 * `(choices: "low", "high", "auto")` even then.
 */
export function choicesOnce(o: Option): string {
  const choices = o.argChoices;
  if (!choices || choices.every((c) => new RegExp(`\\b${c}\\b`).test(o.description))) return o.description;
  return `${o.description} (${choices.join('|')})`;
}

/** `imgdesc bacth photos`: not a file, but one letter off a command. */
function checkNotACommand(image: string, program: Command, io: IO): void {
  if (!bareWord.test(image) || existsSync(resolve(io.cwd, image))) return;
  const names = program.commands.map((c) => c.name());
  const near = closest(image, names);
  if (near) throw new UsageError(`${image}: no such file`, { hint: `did you mean \`imgdesc ${near}\`?` });
}

/** Maps any error to one line on stderr and an exit code. Only bugs get a stack (with -v). */
async function reportError(
  error: unknown,
  io: IO,
  verbose: boolean,
  noColor = false,
  typed?: { argv: string[]; program: Command },
): Promise<number> {
  if (error instanceof CommanderError) {
    // commander has printed its own message already; an unquoted prompt gets the quoted command
    const describe = typed?.program.commands.find((c) => c.name() === 'describe');
    if (typed && describe && error.code === 'commander.excessArguments' && error.message.includes("'describe'")) {
      const { quotedPromptCommand } = await import('./error-report.ts');
      io.stderr.write(`hint: quote the prompt: ${visible(quotedPromptCommand(typed.argv, describe.args))}\n`);
    }
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  return reportCliError(error, io, verbose, noColor);
}
