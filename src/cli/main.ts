// The commander program. Each command's code is loaded with `await import()` when it runs,
// so `--help` and `--version` load only this file and commander.
import { Command, CommanderError, Help, Option } from 'commander';
import type { ExistingMode } from '../core/caption.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, UsageError, type IO } from '../types.ts';
import { closest } from './suggest.ts';
import type { Factory } from './factory.ts';
import { bareWord } from './route.ts';
import { reportCliError } from './error-report.ts';
import { VERSION } from '../version.ts';
import {
  MANY_SETTINGS,
  REQUEST_SETTINGS,
  addFlags,
  addGlobalOptions,
  addSettings,
  flagOption,
  flagSettings,
  groupInOrder,
  runFlags,
  settingOption,
} from './options.ts';
import { visible, visibleBlock } from '../safe-text.ts';
import { keysHelp } from '../config/keys.ts';
import type { ConfigVerb } from './config.ts';

export { processIO } from './io.ts';

const EXIT_CODES = `
Exit codes:
  0 success · 1 internal error (a bug) · 2 usage or input error, nothing sent
  3 configuration or authentication (no base URL or token, 401/403)
  4 API or network failure after retries · 5 batch finished but some images failed
  6 results could not be written (disk full, read-only, stdout failed); nothing more was sent
  130 interrupted (Ctrl-C) · 143 terminated (SIGTERM) · 129 hung up (SIGHUP)`;

const EXAMPLES = `
Examples:
  $ imgdesc init                        # first: the relay's address, the token, a model
  $ imgdesc photo.jpg
  $ imgdesc photo.jpg "what breed is this dog?"
  $ imgdesc --json photo.jpg | jq -r '.choices[0].message.content'
  $ curl -s https://example.com/cat.png | imgdesc - "caption this"
  $ imgdesc batch ./photos -r --sidecar
  $ imgdesc --schema 'caption, tags string[]' photo.jpg | jq .tags
${EXIT_CODES}`;

const BATCH_HELP = `
Prompts may use {name} (photo.jpg), {stem} (photo), {dir} (its folder) and {path} (as given).

Examples:
  $ imgdesc batch ./photos -r -c 8 -o captions.jsonl     # rerun the same command to resume
  $ imgdesc batch 'shots/**/*.jpg' --sidecar -p 'Alt text for {name}, one sentence.'
  $ find . -name '*.heic' -print0 | imgdesc batch --files-from - -0 --sidecar md
${EXIT_CODES}`;

const MERGE_HELP = `
An ok record wins over failures, and the newest ok over older ones (parts are read oldest first).
Given the batch's inputs (--input, --files-from or --manifest) it lists the images no part has.

Examples:
  $ imgdesc merge captions-*.jsonl -o all.jsonl
  $ imgdesc merge captions-*.jsonl -o all.jsonl --input photos -r --shard-count 16
  $ imgdesc merge parts/*.jsonl -o all.jsonl --manifest rows.csv --id-col key --shard-count 8
${EXIT_CODES}`;

const MAP_HELP = `
A line is a JSON object (a manifest row: --image-col names the image, default image or url) or a
JSON string (the image itself). Line n out answers line n in; a line that names no image gets a
failed record in its place.

Examples:
  $ printf '%s\\n' '{"url":"https://example.com/cat.jpg","key":"1"}' | imgdesc map --id-col key
  $ rdd.pipe("imgdesc map -c 8 --max-rps 2")      # Spark
${EXIT_CODES}`;

const LOG_HELP = `
Every answer describe, batch and map print or record is kept in $XDG_STATE_HOME/imgdesc/history.jsonl
(answers from the cache and failures too); --no-log or \`config set log false\` keeps a run out of it.

Examples:
  $ imgdesc log
  $ imgdesc log --search terrier --since 1w
  $ imgdesc log --image photo.jpg --json | jq -r .answer
  $ imgdesc log show 0mxd70ukiw8wu`;

/**
 * Every command, option and help text, defined once: run by main, walked by `imgdesc completion`
 * and by the man page generated at build time. `exitCode()` is what the action that ran returned.
 */
export function buildProgram(io: IO): { program: Command; exitCode: () => number } {
  let code: number = ExitCode.ok;
  // What every command is given: built from the flags of the command that runs.
  const factory = async (cmd: Command): Promise<Factory> => (await import('./factory.ts')).makeFactory(io, runFlags(cmd));
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
      groupItems<T extends Command | Option>(unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
        return groupInOrder(new Help().groupItems(unsorted, visible, getGroup));
      },
    })
    .addHelpText('after', EXAMPLES);
  addGlobalOptions(program);

  addFlags(addSettings(program.command('describe', { isDefault: true }), REQUEST_SETTINGS), [
    'promptFile',
    'json',
    'raw',
    'dryRun',
    'refresh',
  ])
    .description('describe one image (the default command)')
    .argument('<image>', 'image path, http(s) URL, data: URL, or - for stdin')
    .argument('[prompt]', 'what to ask about the image')
    .addOption(new Option('-i, --image <extra>', 'another image in the same request (repeatable)').argParser(collect).helpGroup('Input:'))
    .addHelpText('after', EXAMPLES)
    .action(async (image: string, prompt: string | undefined, _opts: unknown, cmd: Command) => {
      checkNotACommand(image, program, io);
      const { runDescribe } = await import('./describe.ts');
      const extra = cmd.opts<{ image?: string[] }>().image ?? [];
      code = await runDescribe({ images: [image, ...extra], prompt, settings: flagSettings(cmd) }, await factory(cmd));
    });

  addFlags(addSettings(program.command('batch'), [...MANY_SETTINGS, 'sidecar-name']), [
    'recursive',
    'filesFrom',
    'null',
    'manifest',
    'imageRoot',
    'allowOutsideRoot',
    'imageCol',
    'idCol',
    'keepCols',
    'promptFile',
    'json',
    'raw',
    'dryRun',
    'refresh',
    'shardCount',
  ])
    .description('describe many images (files, folders, globs, a manifest), one request each')
    .argument('[inputs...]', 'files, folders or quoted globs')
    .option('-o, --output <file>', 'append JSON lines to this file (reruns skip images already ok); - is stdout')
    .option('--sidecar [ext]', 'write the answer beside each image (photo.jpg → photo.txt)')
    .option('--overwrite', 'same as --existing overwrite')
    .addOption(
      new Option('--existing <mode>', 'where a caption exists: skip (default), overwrite, append, prepend').choices([
        'skip',
        'overwrite',
        'append',
        'prepend',
      ]),
    )
    .option('--hf-metadata', 'write metadata.jsonl ({"file_name","text"}) in each image folder, merged')
    .option('--xmp', 'write the description into an XMP sidecar (photo.jpg.xmp), keeping what else it holds')
    .addOption(
      new Option('--xmp-name <style>', 'sidecar name: ext = photo.jpg.xmp (darktable, digiKam), stem = photo.xmp (Lightroom)').choices([
        'ext',
        'stem',
      ]),
    )
    .option('--embed', 'write the description into JPEG/HEIC/PNG/TIFF/WebP files themselves (RAW: a sidecar)')
    .option('--no-backup', 'with --embed: keep no photo.jpg_original')
    .option('--prefix <text>', 'put this (a trigger word) before every caption')
    .option('--suffix <text>', 'put this after every caption')
    .option('--join <sep>', 'between prefix, caption and suffix (default ", ")')
    .option('--fallback-model <id>', 'send refused, empty and failed items once more to this model')
    .option('--no-guards', 'keep refusals, empty and cut-off answers, chatter and <think> blocks as they are')
    .option('--shard <i/N>', 'take only shard i of N (from 0); default: from SLURM, Kubernetes or RANK')
    .addHelpText('after', BATCH_HELP)
    .action(async (inputs: string[], _opts: unknown, cmd: Command) => {
      const { runBatch } = await import('./batch.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runBatch(
        {
          inputs,
          settings: flagSettings(cmd),
          ...inputSelection(o),
          shard: str(o.shard),
          shardCount: str(o.shardCount),
          output: typeof o.output === 'string' ? o.output : undefined,
          sidecar: o.sidecar === true ? 'txt' : typeof o.sidecar === 'string' ? o.sidecar : undefined,
          overwrite: o.overwrite === true,
          existing: typeof o.existing === 'string' ? (o.existing as ExistingMode) : undefined,
          hfMetadata: o.hfMetadata === true,
          xmp: o.xmp === true,
          xmpName: o.xmpName === 'stem' ? 'stem' : o.xmpName === 'ext' ? 'ext' : undefined,
          embed: o.embed === true,
          backup: o.backup !== false,
          prefix: typeof o.prefix === 'string' ? o.prefix : undefined,
          suffix: typeof o.suffix === 'string' ? o.suffix : undefined,
          join: typeof o.join === 'string' ? o.join : undefined,
          guards: o.guards !== false,
          fallbackModel: typeof o.fallbackModel === 'string' ? o.fallbackModel : undefined,
        },
        await factory(cmd),
      );
    });

  program
    .command('report')
    .description('an HTML gallery of batch results: thumbnails, captions, verdicts, filters')
    .argument('<results...>', 'JSONL files written by imgdesc batch -o')
    .option('-o, --output <file>', 'write the page here (default: stdout)')
    .option('--link', 'link the original images instead of embedding thumbnails')
    .option('--title <text>', 'page title')
    .action(async (results: string[], _opts: unknown, cmd: Command) => {
      const { runReport } = await import('./report.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runReport({ results, output: str(o.output), link: o.link === true, title: str(o.title) }, await factory(cmd));
    });

  addFlags(
    program
      .command('merge')
      .description('join the parts of a sharded batch: one record per image; with the same inputs, list what is missing')
      .argument('<parts...>', 'JSON lines files written by the shards')
      .option('-o, --output <file>', 'write the merged records here (atomically) instead of stdout')
      .addOption(flagOption('shardCount', 'the number of shards: missing images are counted by shard (-v lists them all)'))
      .addOption(
        new Option('--input <path>', 'an input of the batch (file, folder, quoted glob; repeatable)')
          .argParser(collect)
          .helpGroup('Input:'),
      ),
    ['recursive', 'filesFrom', 'null', 'manifest', 'imageCol', 'idCol', 'keepCols'],
  )
    .addHelpText('after', MERGE_HELP)
    .action(async (parts: string[], _opts: unknown, cmd: Command) => {
      const { runMerge } = await import('./merge.ts');
      const o = cmd.optsWithGlobals<Record<string, unknown>>();
      code = await runMerge(
        {
          parts,
          output: str(o.output),
          shardCount: str(o.shardCount),
          inputs: (o.input as string[] | undefined) ?? [],
          ...inputSelection(o),
          quiet: o.quiet === true,
          verbose: o.verbose === true,
          noColor: o.color === false,
        },
        io,
      );
    });

  addFlags(addSettings(program.command('map'), MANY_SETTINGS), [
    'imageCol',
    'idCol',
    'keepCols',
    'imageRoot',
    'allowOutsideRoot',
    'promptFile',
    'json',
    'dryRun',
    'refresh',
  ])
    .description('JSON lines in on stdin (one row each), one result record out per line, in order')
    .addHelpText('after', MAP_HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { runMap } = await import('./map.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runMap(
        {
          settings: flagSettings(cmd),
          imageCol: str(o.imageCol),
          idCol: str(o.idCol),
          keepCols: str(o.keepCols),
          imageRoot: str(o.imageRoot),
          allowOutsideRoot: o.allowOutsideRoot === true,
        },
        await factory(cmd),
      );
    });

  const log = program
    .command('log')
    .description('the history of answers: the latest 20, one per line (log show ID for one in full)')
    .option('-n <count>', 'how many of the latest (default 20; 0 = all)')
    .option('--since <when>', 'only answers since a time: 30m, 2h, 3d, 1w, or a date (2026-12-01)')
    .option('--model <id>', 'only answers from models whose id contains this')
    .option('--image <path|hash>', 'only answers about this image (a path, part of one, or a sha256 prefix)')
    .option('--search <text>', 'only answers whose text, prompt, image or error contains this (any case)')
    .option('--failed', 'only failures')
    .option('--json', 'one JSON record per line, for jq')
    .addHelpText('after', LOG_HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { runLog } = await import('./log.ts');
      const o = cmd.optsWithGlobals<Record<string, unknown>>();
      code = await runLog(
        {
          limit: str(o.n),
          since: str(o.since),
          model: str(o.model),
          image: str(o.image),
          search: str(o.search),
          failed: o.failed === true,
          json: o.json === true,
          noColor: o.color === false,
        },
        io,
      );
    });
  log
    .command('show')
    .description('one answer in full')
    .argument('<id>', 'the id imgdesc log shows first on each line (or its start)')
    .option('--json', 'the record as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { runLogShow } = await import('./log.ts');
      // `log show ID --json`: commander gives --json to `log`, which has one too
      code = await runLogShow(id, { json: opts.json === true || cmd.parent?.opts().json === true }, io);
    });
  log
    .command('clear')
    .description('empty the history')
    .option('-y, --yes', 'do not ask')
    .action(async (opts: { yes?: boolean }) => {
      const { runLogClear } = await import('./log.ts');
      code = await runLogClear({ yes: opts.yes === true }, io);
    });

  const cache = program.command('cache').description('the answer cache: info, prune, clear');
  const cacheAction =
    (verb: import('./cache.ts').CacheVerb) =>
    async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const o = cmd.optsWithGlobals<Record<string, unknown>>();
      const { runCache } = await import('./cache.ts');
      const { parseSetting } = await import('../config/keys.ts');
      const settings = typeof o.maxSize === 'string' ? { 'cache-max-size': parseSetting('cache-max-size', o.maxSize, '--max-size') } : {};
      code = await runCache(verb, { settings, profile: str(o.profile), json: o.json === true }, io);
    };
  cache
    .command('info')
    .description('where the cache is, how many answers it holds and their size')
    .option('--json', 'as JSON')
    .action(cacheAction('info'));
  cache
    .command('prune')
    .description('remove the least recently used answers until the cache is within its size (cache-max-size, default 500M)')
    .option('--max-size <n>', 'prune to this size instead (e.g. 100M)')
    .option('--json', 'as JSON')
    .action(cacheAction('prune'));
  cache.command('clear').description('remove every cached answer').option('--json', 'as JSON').action(cacheAction('clear'));

  const config = program.command('config').description('manage profiles (base URL, token, defaults)');
  const configAction =
    (verb: ConfigVerb) =>
    async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const { runConfig } = await import('./config.ts');
      code = await runConfig(verb, cmd.args, cmd.optsWithGlobals(), io);
    };
  config
    .command('set')
    .description('set a value: imgdesc config set model gpt-4o  (token: from stdin or a hidden prompt)')
    .argument('<key>')
    .argument('[value]')
    .addHelpText('after', keysHelp())
    .action(configAction('set'));
  config
    .command('get')
    .description('print a value (the token masked unless --reveal)')
    .argument('<key>')
    .option('--effective', 'the value a run would use, wherever it comes from (its source on stderr)')
    .option('--reveal', 'print the token in full')
    .action(configAction('get'));
  config
    .command('list')
    .description('list profiles and their values (tokens masked); --profile: only that one')
    .addOption(flagOption('json', 'as JSON'))
    .action(configAction('list'));
  config.command('use').description('make a profile the active one').argument('<profile>').action(configAction('use'));
  config
    .command('remove')
    .description('remove keys from a profile, or the whole profile when no key is given')
    .argument('[keys...]')
    .option('-y, --yes', 'remove a whole profile without asking')
    .action(configAction('remove'));
  config.command('path').description('print the config file path').action(configAction('path'));
  config.command('edit').description('edit the config file in $VISUAL or $EDITOR; saved only when valid').action(configAction('edit'));

  program
    .command('models')
    .description('list the model ids the relay offers (GET /v1/models)')
    .addOption(flagOption('json'))
    .addOption(settingOption('timeout'))
    .action(async (_opts: unknown, cmd: Command) => {
      const { runModels } = await import('./models.ts');
      code = await runModels({ settings: flagSettings(cmd) }, await factory(cmd));
    });

  program
    .command('init')
    .description('guided first run: base URL, token, model, a test image, saved as a profile')
    .addOption(settingOption('model'))
    .option('-y, --yes', 'take the defaults (current values, the suggested model) without asking')
    .option('--no-probe', 'do not send the test image')
    .addOption(settingOption('timeout'))
    .addHelpText(
      'after',
      `
The token is read from stdin when it is not a terminal, otherwise from a hidden prompt; --profile
names the profile to create or update, --base-url answers the first question.

Examples:
  $ imgdesc init
  $ printf %s "$TOKEN" | imgdesc init --base-url https://relay.example.com --yes
  $ imgdesc init --profile work --model gpt-4o`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const { runInit } = await import('./init.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runInit({ settings: flagSettings(cmd), yes: o.yes === true, probe: o.probe !== false }, await factory(cmd));
    });

  program
    .command('doctor')
    .description('check the configuration and the relay, and say how to fix what fails')
    .addOption(flagOption('json', 'the report as one JSON object (token masked)'))
    .option('--models', 'probe every vision-capable model the relay lists and print a table')
    .option('--no-probe', 'skip the vision probe (the only check that costs tokens)')
    .option('-y, --yes', 'do not ask before sending more than 5 probe requests')
    .addOption(settingOption('model'))
    .addOption(settingOption('timeout'))
    .addHelpText(
      'after',
      `
Exit status: 0 every check passed, 3 configuration or authentication failed, 4 the relay or the probe failed.`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const { runDoctor } = await import('./doctor.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runDoctor(
        { settings: flagSettings(cmd), probe: o.probe !== false, models: o.models === true, yes: o.yes === true },
        await factory(cmd),
      );
    });

  program
    .command('mcp')
    .description('a Model Context Protocol server on stdio: describe_image, compare_images, list_models for coding agents')
    .addOption(settingOption('model'))
    .addOption(settingOption('timeout'))
    .addOption(settingOption('retries'))
    .addOption(settingOption('allow-private-urls'))
    .option('--allow-dir <dir>', 'another folder whose images may be read when the client declares no roots (repeatable)', collect)
    .addOption(settingOption('cache'))
    .addOption(settingOption('log'))
    .addHelpText(
      'after',
      `
stdout carries the protocol only; everything else goes to stderr. Files are read only inside the
client's roots, or without roots inside the folder the server starts in and each --allow-dir.
-v shows each call and its outcome on stderr.

Set up:
  $ claude mcp add imgdesc -- imgdesc mcp
  $ imgdesc mcp --profile work --allow-dir ~/Pictures`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const { runMcp } = await import('./mcp.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runMcp({ settings: flagSettings(cmd), allowDirs: (o.allowDir as string[] | undefined) ?? [] }, await factory(cmd));
    });

  addSettings(program.command('alt'), [
    'model',
    'system',
    'max-tokens',
    'temperature',
    'reasoning-effort',
    'detail',
    'max-edge',
    'max-bytes',
    'max-input-bytes',
    'resize',
    'keep-metadata',
    'allow-private-urls',
    'timeout',
    'retries',
    'concurrency',
    'max-rps',
    'cache',
    'log',
  ])
    .addOption(flagOption('refresh'))
    .description('write alt text where images in Markdown or HTML documents have none (--check lists them for CI)')
    .argument('<inputs...>', 'Markdown (.md, .markdown, .mdx) or HTML (.html, .htm) files, folders or quoted globs')
    .option('--check', 'send nothing; list every image without alt text and exit 1 if there is one (for CI)')
    .addOption(flagOption('dryRun', 'send nothing; print the diff of what would change'))
    .option('--max-chars <n>', 'longest alt text, in characters (default 125)')
    .option('--no-context', "leave the document's heading and text out of the prompt")
    .option('--include-decorative', 'describe HTML images marked decorative with alt="" too')
    .option('--site-root <dir>', 'where site paths such as /img/chart.png are (default: not read)')
    .option('--backup', 'keep each changed document as file.orig')
    .option('-o, --output <file>', 'append a JSON line per image (for imgdesc report)')
    .option('--no-guards', 'accept refusals and chatter as they are')
    .addHelpText(
      'after',
      `
Missing means: no alt in HTML, empty in Markdown, or a placeholder (the file name, "image",
"screenshot", "img", "picture", "alt text"). Only the alt text's bytes change; each image is
described once however often it appears. Writes are atomic: Ctrl-C leaves a document as it was
or fully updated.

Examples:
  $ imgdesc alt README.md docs/
  $ imgdesc alt --dry-run 'docs/**/*.md'
  $ imgdesc alt --check docs/          # in CI: exit 1 when an image has no alt text
${EXIT_CODES}`,
    )
    .action(async (inputs: string[], _opts: unknown, cmd: Command) => {
      const { runAltCommand } = await import('./alt.ts');
      const o = cmd.opts<Record<string, unknown>>();
      code = await runAltCommand(
        {
          inputs,
          settings: flagSettings(cmd),
          check: o.check === true,
          maxChars: str(o.maxChars),
          context: o.context !== false,
          includeDecorative: o.includeDecorative === true,
          siteRoot: str(o.siteRoot),
          backup: o.backup === true,
          output: str(o.output),
          guards: o.guards !== false,
        },
        await factory(cmd),
      );
    });

  program
    .command('completion')
    .description('print a shell completion script: commands, options, choices, profile names, config keys')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Install:
  bash  echo 'eval "$(imgdesc completion bash)"' >> ~/.bashrc
  zsh   imgdesc completion zsh > "\${fpath[1]}/_imgdesc"
  fish  imgdesc completion fish > ~/.config/fish/completions/imgdesc.fish`,
    )
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion.ts');
      io.stdout.write(completionScript(shell, program));
    });
  program
    .command('version')
    .description('versions of imgdesc, Node.js, undici, sharp and libvips, and the platform (for bug reports)')
    .addOption(flagOption('json', 'as JSON'))
    .action(async (opts: { json?: boolean }) => {
      const { runVersion } = await import('./version.ts');
      code = await runVersion({ json: opts.json === true }, io);
    });
  // Not a command a person types: what the completion scripts call for profile names and keys.
  program
    .command('__complete', { hidden: true })
    .argument('<what>')
    .action(async (what: string) => {
      const { completionWords } = await import('./completion.ts');
      io.stdout.write(completionWords(what, io.env));
    });

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
  return renderManPage(buildProgram(io).program);
}

export async function main(argv: string[], io: IO): Promise<number> {
  const { program, exitCode } = buildProgram(io);
  if ((argv.includes('-V') || argv.includes('--version')) && (argv.includes('-v') || argv.includes('--verbose'))) {
    const { runVersion } = await import('./version.ts');
    return runVersion({ json: argv.includes('--json') }, io);
  }
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

/** `imgdesc bacth photos`: not a file, but one letter off a command. */
function checkNotACommand(image: string, program: Command, io: IO): void {
  if (!bareWord.test(image) || existsSync(resolve(io.cwd, image))) return;
  const names = program.commands.map((c) => c.name());
  const near = closest(image, names);
  if (near) throw new UsageError(`${image}: no such file`, { hint: `did you mean \`imgdesc ${near}\`?` });
}

/** A string option's value, or undefined. */
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function manifestOptions(o: Record<string, unknown>) {
  return {
    manifest: str(o.manifest),
    imageCol: str(o.imageCol),
    idCol: str(o.idCol),
    keepCols: str(o.keepCols),
    imageRoot: str(o.imageRoot),
    allowOutsideRoot: o.allowOutsideRoot === true,
  };
}

/** Which images a batch covers (batch runs them, merge checks its parts against them). */
function inputSelection(o: Record<string, unknown>) {
  return { recursive: o.recursive === true, filesFrom: str(o.filesFrom), nul: o.null === true, ...manifestOptions(o) };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
