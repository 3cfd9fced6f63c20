// Every command as data: its arguments, settings, flags (typed) and help. Each command's file
// derives its options type from its declaration here (`OptionsOf<typeof batch>`) and exports
// `run(opts, f)`; main.ts builds the commander program from these and loads a command's file only
// when it runs, so this table stays light (no commander, nothing a command needs to run).
import { keysHelp } from '../config/keys.ts';
import { EXIT_CODES, MANY_SETTINGS, REQUEST_SETTINGS, arg, command, flag } from './spec.ts';

export const EXAMPLES = `
Examples:
  $ imgdesc init                        # first: the relay's address, the token, a model
  $ imgdesc photo.jpg
  $ imgdesc photo.jpg "what breed is this dog?"
  $ imgdesc --json photo.jpg | jq -r '.choices[0].message.content'
  $ curl -s https://example.com/cat.png | imgdesc - "caption this"
  $ imgdesc batch ./photos -r --sidecar
  $ imgdesc --schema 'caption, tags string[]' photo.jpg | jq .tags
${EXIT_CODES}`;

/** The program's own: exit codes are in every command's help and in the man page. */
export const ROOT_EXAMPLES = EXAMPLES.replace(EXIT_CODES, '\nExit codes: imgdesc describe --help (or man imgdesc) lists them.');

/** The describe options `imgdesc --help` shows, most used first. */
export const COMMON_DESCRIBE = ['--model', '--prompt', '--image', '--json', '--schema', '--dry-run'];

export const describe = command({
  name: 'describe',
  summary: 'describe one image (the default command)',
  description: 'describe one image (the default command)',
  args: {
    image: arg.required('<image>', 'image path, http(s) URL, data: URL, or - for stdin'),
    prompt: arg.optional('[prompt]', 'what to ask about the image'),
  },
  settings: REQUEST_SETTINGS,
  shared: ['promptFile', 'json', 'raw', 'dryRun', 'refresh'],
  flags: {
    extra: flag.list('-i, --image <extra>', 'another image in the same request (repeatable)', { group: 'Input' }),
  },
  help: EXAMPLES,
});

export const batch = command({
  name: 'batch',
  summary: 'many images (files, folders, globs, a manifest)',
  description: 'describe many images (files, folders, globs, a manifest), one request each',
  args: { inputs: arg.many('[inputs...]', 'files, folders or quoted globs') },
  settings: [...MANY_SETTINGS, 'sidecar-name'],
  shared: [
    'recursive',
    'filesFrom',
    'nul',
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
  ],
  flags: {
    output: flag.text('-o, --output <file>', 'append JSON lines to this file (reruns skip images already ok); - is stdout', {
      group: 'Output',
    }),
    sidecar: flag.optional('--sidecar [ext]', 'write the answer beside each image (photo.jpg → photo.txt)', {
      group: 'Captions and datasets',
    }),
    existing: flag.choice(
      '--existing <mode>',
      ['skip', 'overwrite', 'append', 'prepend'],
      'where a caption exists: skip (default), overwrite, append, prepend',
      { group: 'Captions and datasets' },
    ),
    overwrite: flag.switch('--overwrite', 'same as --existing overwrite', { group: 'Captions and datasets' }),
    hfMetadata: flag.switch('--hf-metadata', 'write metadata.jsonl ({"file_name","text"}) in each image folder, merged', {
      group: 'Captions and datasets',
    }),
    prefix: flag.text('--prefix <text>', 'put this (a trigger word) before every caption', { group: 'Captions and datasets' }),
    suffix: flag.text('--suffix <text>', 'put this after every caption', { group: 'Captions and datasets' }),
    join: flag.text('--join <sep>', 'between prefix, caption and suffix (default ", ")', { group: 'Captions and datasets' }),
    fallbackModel: flag.text('--fallback-model <id>', 'send refused, empty and failed items once more to this model', {
      group: 'Captions and datasets',
    }),
    guards: flag.negated('--no-guards', 'keep refusals, empty and cut-off answers, chatter and <think> blocks as they are', {
      group: 'Captions and datasets',
    }),
    xmp: flag.switch('--xmp', 'write the description into an XMP sidecar (photo.jpg.xmp), keeping what else it holds', {
      group: 'Photo metadata',
    }),
    embed: flag.switch('--embed', 'write the description into JPEG/HEIC/PNG/TIFF/WebP files themselves (RAW: a sidecar)', {
      group: 'Photo metadata',
    }),
    // The same words as --sidecar-name; `ext`, its old spelling of full, is still taken (not offered).
    xmpName: flag.choice(
      '--xmp-name <how>',
      ['full', 'stem'],
      'photo.jpg.xmp (full, the default: darktable, digiKam) or photo.xmp (stem: Lightroom)',
      {
        group: 'Photo metadata',
        aliases: { ext: 'full' },
      },
    ),
    backup: flag.negated('--no-backup', 'with --embed: keep no photo.jpg_original', { group: 'Photo metadata' }),
    shard: flag.text('--shard <i/N>', 'take only shard i of N (from 0); default: from SLURM, Kubernetes or RANK', { group: 'Scale' }),
  },
  help: `
Prompts may use {name} (photo.jpg), {stem} (photo), {dir} (its folder) and {path} (as given).

Examples:
  $ imgdesc batch ./photos -r -c 8 -o captions.jsonl     # rerun the same command to resume
  $ imgdesc batch 'shots/**/*.jpg' --sidecar -p 'Alt text for {name}, one sentence.'
  $ find . -name '*.heic' -print0 | imgdesc batch --files-from - -0 --sidecar md
${EXIT_CODES}`,
});

export const report = command({
  name: 'report',
  summary: 'an HTML gallery of batch results',
  description: 'an HTML gallery of batch results: thumbnails, captions, verdicts, filters',
  args: { results: arg.many('<results...>', 'JSONL files written by imgdesc batch -o') },
  flags: {
    output: flag.text('-o, --output <file>', 'write the page here (default: stdout)'),
    link: flag.switch('--link', 'link the original images instead of embedding thumbnails'),
    title: flag.text('--title <text>', 'page title'),
  },
});

export const merge = command({
  name: 'merge',
  summary: 'join the parts of a sharded batch',
  description: 'join the parts of a sharded batch: one record per image; with the same inputs, list what is missing',
  args: { parts: arg.many('<parts...>', 'JSON lines files written by the shards') },
  shared: ['shardCount', 'recursive', 'filesFrom', 'nul', 'manifest', 'imageCol', 'idCol', 'keepCols'],
  sharedHelp: { shardCount: 'the number of shards: missing images are counted by shard (-v lists them all)' },
  flags: {
    output: flag.text('-o, --output <file>', 'write the merged records here (atomically) instead of stdout'),
    inputs: flag.list('--input <path>', 'an input of the batch (file, folder, quoted glob; repeatable)', { group: 'Input' }),
  },
  help: `
An ok record wins over failures, and the newest ok over older ones (parts are read oldest first).
Given the batch's inputs (--input, --files-from or --manifest) it lists the images no part has.

Examples:
  $ imgdesc merge captions-*.jsonl -o all.jsonl
  $ imgdesc merge captions-*.jsonl -o all.jsonl --input photos -r --shard-count 16
  $ imgdesc merge parts/*.jsonl -o all.jsonl --manifest rows.csv --id-col key --shard-count 8
${EXIT_CODES}`,
});

export const map = command({
  name: 'map',
  summary: 'JSON lines in, one result per line out (Spark, pipes)',
  description: 'JSON lines in on stdin (one row each), one result record out per line, in order',
  settings: MANY_SETTINGS,
  shared: ['imageCol', 'idCol', 'keepCols', 'imageRoot', 'allowOutsideRoot', 'promptFile', 'json', 'dryRun', 'refresh'],
  help: `
A line is a JSON object (a manifest row: --image-col names the image, default image or url) or a
JSON string (the image itself). Line n out answers line n in; a line that names no image gets a
failed record in its place.

Examples:
  $ printf '%s\\n' '{"url":"https://example.com/cat.jpg","key":"1"}' | imgdesc map --id-col key
  $ rdd.pipe("imgdesc map -c 8 --max-rps 2")      # Spark
${EXIT_CODES}`,
});

export const log = command({
  name: 'log',
  summary: 'the history of answers',
  description: 'the history of answers: the latest 20, one per line (log show ID for one in full)',
  flags: {
    limit: flag.text('-n <count>', 'how many of the latest (default 20; 0 = all)'),
    since: flag.text('--since <when>', 'only answers since a time: 30m, 2h, 3d, 1w, or a date (2026-12-01)'),
    model: flag.text('--model <id>', 'only answers from models whose id contains this'),
    image: flag.text('--image <path|hash>', 'only answers about this image (a path, part of one, or a sha256 prefix)'),
    search: flag.text('--search <text>', 'only answers whose text, prompt, image or error contains this (any case)'),
    failed: flag.switch('--failed', 'only failures'),
    json: flag.switch('--json', 'one JSON record per line, for jq'),
  },
  help: `
Every answer describe, batch and map print or record is kept in $XDG_STATE_HOME/imgdesc/history.jsonl
(answers from the cache and failures too); --no-log or \`config set log false\` keeps a run out of it.

Examples:
  $ imgdesc log
  $ imgdesc log --search terrier --since 1w
  $ imgdesc log --image photo.jpg --json | jq -r .answer
  $ imgdesc log show 0mxd70ukiw8wu`,
});

export const logShow = command({
  name: 'show',
  description: 'one answer in full',
  args: { id: arg.required('<id>', 'the id imgdesc log shows first on each line (or its start)') },
  // `log show ID --json`: commander gives --json to `log`, which has one too; read with the parent's
  flags: { json: flag.switch('--json', 'the record as JSON') },
});

export const logClear = command({
  name: 'clear',
  description: 'empty the history',
  flags: { yes: flag.switch('-y, --yes', 'do not ask') },
});

export const cache = command({
  name: 'cache',
  summary: 'the answer cache: info, prune, clear',
  description: 'the answer cache: info, prune, clear',
});

const cacheJson = { json: flag.switch('--json', 'as JSON') };
export const cacheInfo = command({
  name: 'info',
  description: 'where the cache is, how many answers it holds and their size',
  flags: cacheJson,
});
export const cachePrune = command({
  name: 'prune',
  description: 'remove the least recently used answers until the cache is within its size (cache-max-size, default 500M)',
  flags: { maxSize: flag.text('--max-size <n>', 'prune to this size instead (e.g. 100M)'), ...cacheJson },
});
export const cacheClear = command({ name: 'clear', description: 'remove every cached answer', flags: cacheJson });

export const config = command({
  name: 'config',
  summary: 'manage profiles (base URL, token, defaults)',
  description: 'manage profiles (base URL, token, defaults)',
});

export const configSet = command({
  name: 'set',
  description: 'set a value: imgdesc config set model gpt-4o  (token: from stdin or a hidden prompt)',
  args: { key: arg.required('<key>'), value: arg.optional('[value]') },
  // the keys, their types, limits and defaults, from the one table of settings
  help: keysHelp(),
});
export const configGet = command({
  name: 'get',
  description: 'print a value (the token masked unless --reveal)',
  args: { key: arg.required('<key>') },
  flags: {
    effective: flag.switch('--effective', 'the value a run would use, wherever it comes from (its source on stderr)'),
    reveal: flag.switch('--reveal', 'print the token in full'),
  },
});
export const configList = command({
  name: 'list',
  description: 'list profiles and their values (tokens masked); --profile: only that one',
  shared: ['json'],
  sharedHelp: { json: 'as JSON' },
});
export const configUse = command({
  name: 'use',
  description: 'make a profile the active one',
  args: { profile: arg.required('<profile>') },
});
export const configRemove = command({
  name: 'remove',
  description: 'remove keys from a profile, or the whole profile when no key is given',
  args: { keys: arg.many('[keys...]') },
  flags: { yes: flag.switch('-y, --yes', 'remove a whole profile without asking') },
});
export const configPath = command({ name: 'path', description: 'print the config file path' });
export const configEdit = command({ name: 'edit', description: 'edit the config file in $VISUAL or $EDITOR; saved only when valid' });

export const models = command({
  name: 'models',
  summary: 'the model ids the relay offers',
  description: 'list the model ids the relay offers (GET /v1/models)',
  settings: ['timeout'],
  shared: ['json'],
});

export const init = command({
  name: 'init',
  summary: 'guided first run: relay, token, model, saved',
  description: 'guided first run: base URL, token, model, a test image, saved as a profile',
  settings: ['model', 'timeout'],
  flags: {
    yes: flag.switch('-y, --yes', 'take the defaults (current values, the suggested model) without asking'),
    probe: flag.negated('--no-probe', 'do not send the test image'),
  },
  help: `
The token is read from stdin when it is not a terminal, otherwise from a hidden prompt; --profile
names the profile to create or update, --base-url answers the first question.

Examples:
  $ imgdesc init
  $ printf %s "$TOKEN" | imgdesc init --base-url https://relay.example.com --yes
  $ imgdesc init --profile work --model gpt-4o`,
});

export const doctor = command({
  name: 'doctor',
  summary: 'check the set-up and say how to fix what fails',
  description: 'check the configuration and the relay, and say how to fix what fails',
  settings: ['model', 'timeout'],
  shared: ['json'],
  sharedHelp: { json: 'the report as one JSON object (token masked)' },
  flags: {
    models: flag.switch('--models', 'probe every vision-capable model the relay lists and print a table'),
    probe: flag.negated('--no-probe', 'skip the vision probe (the only check that costs tokens)'),
    yes: flag.switch('-y, --yes', 'do not ask before sending more than 5 probe requests'),
  },
  help: `
Exit status: 0 every check passed, 3 configuration or authentication failed, 4 the relay or the probe failed.`,
});

export const mcp = command({
  name: 'mcp',
  summary: 'an MCP server on stdio, for coding agents',
  description: 'a Model Context Protocol server on stdio: describe_image, compare_images, list_models for coding agents',
  settings: ['model', 'timeout', 'retries', 'allow-private-urls', 'cache', 'log'],
  flags: {
    allowDirs: flag.list('--allow-dir <dir>', 'another folder whose images may be read when the client declares no roots (repeatable)'),
  },
  help: `
stdout carries the protocol only; everything else goes to stderr. Files are read only inside the
client's roots, or without roots inside the folder the server starts in and each --allow-dir.
-v shows each call and its outcome on stderr.

Set up:
  $ claude mcp add imgdesc -- imgdesc mcp
  $ imgdesc mcp --profile work --allow-dir ~/Pictures`,
});

export const alt = command({
  name: 'alt',
  summary: 'alt text for images in Markdown and HTML',
  description: 'write alt text where images in Markdown or HTML documents have none (--check lists them for CI)',
  args: { inputs: arg.many('<inputs...>', 'Markdown (.md, .markdown, .mdx) or HTML (.html, .htm) files, folders or quoted globs') },
  settings: [
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
  ],
  shared: ['refresh', 'dryRun'],
  sharedHelp: { dryRun: 'send nothing; print the diff of what would change' },
  flags: {
    check: flag.switch('--check', 'send nothing; list every image without alt text and exit 1 if there is one (for CI)', {
      group: 'Output',
    }),
    output: flag.text('-o, --output <file>', 'append a JSON line per image (for imgdesc report)', { group: 'Output' }),
    backup: flag.switch('--backup', 'keep each changed document as file.orig', { group: 'Output' }),
    maxChars: flag.text('--max-chars <n>', 'longest alt text, in characters (default 125)', { group: 'Prompt and model' }),
    context: flag.negated('--no-context', "leave the document's heading and text out of the prompt", { group: 'Prompt and model' }),
    includeDecorative: flag.switch('--include-decorative', 'describe HTML images marked decorative with alt="" too', { group: 'Input' }),
    siteRoot: flag.text('--site-root <dir>', 'where site paths such as /img/chart.png are (default: not read)', { group: 'Input' }),
    guards: flag.negated('--no-guards', 'accept refusals and chatter as they are', { group: 'Captions and datasets' }),
  },
  help: `
Missing means: no alt in HTML, empty in Markdown, or a placeholder (the file name, "image",
"screenshot", "img", "picture", "alt text"). Only the alt text's bytes change; each image is
described once however often it appears. Writes are atomic: Ctrl-C leaves a document as it was
or fully updated.

Examples:
  $ imgdesc alt README.md docs/
  $ imgdesc alt --dry-run 'docs/**/*.md'
  $ imgdesc alt --check docs/          # in CI: exit 1 when an image has no alt text
${EXIT_CODES}`,
});

export const completion = command({
  name: 'completion',
  summary: 'a shell completion script (bash, zsh, fish)',
  description: 'print a shell completion script: commands, options, choices, profile names, config keys',
  args: { shell: arg.required('<shell>', 'bash, zsh or fish') },
  help: `
Install:
  bash  echo 'eval "$(imgdesc completion bash)"' >> ~/.bashrc
  zsh   imgdesc completion zsh > "\${fpath[1]}/_imgdesc"
  fish  imgdesc completion fish > ~/.config/fish/completions/imgdesc.fish`,
});

export const version = command({
  name: 'version',
  summary: 'versions, for bug reports',
  description: 'versions of imgdesc, Node.js, undici, sharp and libvips, and the platform (for bug reports)',
  shared: ['json'],
  sharedHelp: { json: 'as JSON' },
});

/** Not a command a person types: what the completion scripts call for profile names and keys. */
export const complete = command({ name: '__complete', description: '', args: { what: arg.required('<what>') }, hidden: true });
