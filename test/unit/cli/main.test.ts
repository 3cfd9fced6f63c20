// The program in-process, with a captured IO: parsing, help, version and error mapping.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Option } from 'commander';
import { choicesOnce, main } from '../../../src/cli/main.ts';
import { testIO } from '../../helpers/io.ts';

const env = () => ({ XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'imgdesc-unit-')) });

test('--version prints the version on stdout', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--version'], io), 0);
  assert.match(io.out(), /^\d+\.\d+\.\d+(-\w+)?\n$/);
});

test('--help: how to describe an image, its common options, the commands and where the rest are', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--help'], io), 0);
  assert.match(io.out(), /^Usage: imgdesc \[options\] <image> \[prompt\]/);
  assert.match(io.out(), /Describe options \(the most used; all of them: imgdesc describe --help\):\n {2}-m, --model <id>/);
  assert.match(io.out(), /^ {2}batch +many images/m);
  assert.match(io.out(), /\$ imgdesc init/);
  assert.ok(io.out().split('\n').length <= 60, `${io.out().split('\n').length} lines`);
  const d = testIO({ env: env() });
  assert.equal(await main(['describe', '--help'], d), 0);
  assert.match(d.out(), /--max-edge <px>/);
  assert.match(d.out(), /--dry-run/);
});

test('no arguments: the overview on stderr, exit 2', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main([], io), 2);
  assert.equal(io.out(), '');
  assert.match(io.err(), /Usage: imgdesc/);
  assert.match(io.err(), /Examples:/);
});

test('usage errors exit 2 with commander’s one line', async () => {
  for (const argv of [
    ['--bogus', 'x.jpg'],
    ['x.jpg', '--detail', 'ultra'],
    ['x.jpg', '--max-tokens', 'lots'],
    ['config', 'set', 'nope', '1'],
  ]) {
    const io = testIO({ env: env() });
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assert.equal(io.out(), '');
    assert.match(io.err(), /error/i);
  }
});

test('a prompt given twice is refused', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['x.jpg', 'one', '-p', 'two'], io), 2);
  assert.match(io.err(), /either as the second argument or with -p/);
});

test('missing configuration exits 3 before reading the image', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['/nonexistent.jpg'], io), 3);
  assert.match(io.err(), /no base URL configured\nhint: run imgdesc init to set up a relay/);
});

test('an aborted run (Ctrl-C) exits 130', async () => {
  const io = testIO({ env: { ...env(), IMGDESC_BASE_URL: 'http://127.0.0.1:9', IMGDESC_TOKEN: 'sk-x' }, stdin: '' });
  io.controller.abort();
  const code = await main(['-'], io);
  assert.equal(code, 130, io.err());
});

test('--no-color also takes the colour off the error: prefix', async () => {
  const io = testIO({ env: { ...env(), FORCE_COLOR: '1' } });
  assert.equal(await main(['/nonexistent.jpg', '--no-color'], io), 3);
  assert.match(io.err(), /^error: no base URL/);
  const coloured = testIO({ env: { ...env(), FORCE_COLOR: '1' } });
  await main(['/nonexistent.jpg'], coloured);
  assert.match(coloured.err(), /\x1b\[31merror:/);
});

test('a first argument one letter off a command: did you mean', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['bacth', 'photos'], io), 2);
  assert.equal(io.err(), 'error: bacth: no such file\nhint: did you mean `imgdesc batch`?\n');
  const cfg = testIO({ env: env() });
  assert.equal(await main(['config', 'set', 'modle', 'x'], cfg), 2);
  assert.equal(cfg.err(), "error: unknown setting 'modle'; did you mean 'model'?\nhint: imgdesc config set --help lists every setting\n");
});

test('help: batch names its placeholders, examples and exit codes; -i shows no default', async () => {
  const b = testIO({ env: env() });
  assert.equal(await main(['batch', '--help'], b), 0);
  assert.doesNotMatch(b.out(), /positional/);
  assert.match(b.out(), /\{name\} \(photo\.jpg\), \{stem\} \(photo\)/);
  assert.match(b.out(), /Examples:\n {2}\$ imgdesc batch/);
  assert.match(b.out(), /Exit codes:[\s\S]*5 batch finished but some images failed/);
  const d = testIO({ env: env() });
  await main(['describe', '--help'], d);
  assert.doesNotMatch(d.out(), /default: \[\]/);
  assert.match(d.out(), /prompt \(describe: instead of the second\s+argument\)/);
});

test("a command's help is the same however it is asked for: help <command>, <command> --help, a group's command", async () => {
  const out = async (argv: string[]) => {
    const io = testIO({ env: env() });
    assert.equal(await main(argv, io), 0, io.err());
    return io.out();
  };
  const batch = await out(['batch', '--help']);
  assert.match(batch, /-c, --concurrency <n>/);
  assert.equal(await out(['help', 'batch']), batch);
  const log = await out(['log', '--help']);
  assert.match(log, /--search <text>/);
  assert.equal(await out(['help', 'log']), log);
  const set = await out(['config', 'set', '--help']);
  assert.match(set, /Usage: imgdesc config set/);
  assert.equal(await out(['config', 'help', 'set']), set);
});

test('--help: the examples start with imgdesc init', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--help'], io), 0);
  const examples = io.out().split('Examples:')[1] ?? '';
  assert.match(examples, /^\s*\$ imgdesc init\b/);
});

test("imgdesc photo.jpg --help is describe's help; --profile work --help the program's", async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['photo.jpg', '--help'], io), 0);
  assert.match(io.out(), /^Usage: imgdesc describe \[options\] <image> \[prompt\]/);
  const root = testIO({ env: env() });
  assert.equal(await main(['--profile', 'work', '--help'], root), 0);
  assert.match(root.out(), /^Usage: imgdesc \[options\] <image> \[prompt\]/);
  const batch = testIO({ env: env() });
  assert.equal(await main(['batch', 'photos', '--help'], batch), 0);
  assert.match(batch.out(), /^Usage: imgdesc batch/);
});

test('help groups options under headings in one order, most used first; --inline is taken but not shown', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['batch', '--help'], io), 0);
  const headings = [...io.out().matchAll(/^([A-Z][\w ]+):$/gm)].map((m) => m[1]);
  assert.deepEqual(
    headings.filter((h) => h !== 'Arguments' && h !== 'Options' && h !== 'Examples' && h !== 'Exit codes'),
    ['Input', 'Prompt and model', 'Output', 'Captions and datasets', 'Photo metadata', 'Rate and retries', 'Scale', 'Global Options'],
  );
  // the first line under a heading is the flag most runs give
  for (const [heading, first] of [
    ['Input', '-r, --recursive'],
    ['Prompt and model', '-m, --model'],
    ['Output', '-o, --output'],
    ['Captions and datasets', '--sidecar'],
  ]) {
    assert.match(io.out(), new RegExp(`^${heading}:\n {2}${first}`, 'm'), heading);
  }
  assert.doesNotMatch(io.out(), /--inline/);
  assert.match(io.out(), /--xmp-name <how>/);
  assert.doesNotMatch(io.out().match(/--xmp-name[^\n]*\n[^\n]*/)?.[0] ?? '', /\bext\b/);
  const d = testIO({ env: env() });
  assert.equal(await main(['photo.jpg', '--inline', '--dry-run', '--base-url', 'http://127.0.0.1:9', '-m', 'm'], d), 2);
  assert.doesNotMatch(d.err(), /unknown option/);
});

test('--xmp-name takes full|stem, and ext (its old spelling of full); anything else is exit 2 naming the choices', async () => {
  const bad = testIO({ env: env() });
  assert.equal(await main(['batch', 'x.jpg', '--xmp-name', 'bogus'], bad), 2);
  assert.match(bad.err(), /Allowed choices are full, stem/);
  for (const name of ['ext', 'full', 'stem']) {
    // parsed, then refused for want of --xmp: the value itself was taken
    const io = testIO({ env: env() });
    assert.equal(await main(['batch', 'x.jpg', '--xmp-name', name], io), 2);
    assert.match(io.err(), /--xmp-name goes with --xmp or --embed/);
  }
});

test('log -n is its own count, not the n setting (whose limit is 1 to 128)', async () => {
  const e = env();
  const io = testIO({ env: { ...e, XDG_STATE_HOME: e.XDG_CONFIG_HOME } });
  assert.equal(await main(['log', '-n', '0'], io), 0);
  // ` -n` as an option is written, not the `-n` a random temp folder name may hold (imgdesc-unit-nX…)
  assert.doesNotMatch(io.err(), /(^|\s)-n\b/);
});

test('help shows an option’s choices once, as typed, and not where its line already names them', () => {
  const detail = new Option('--detail <level>', 'image detail hint').choices(['low', 'high', 'auto']);
  assert.equal(choicesOnce(detail), 'image detail hint (low|high|auto)');
  const existing = new Option('--existing <mode>', 'where a caption exists: skip (default), overwrite, append, prepend').choices([
    'skip',
    'overwrite',
    'append',
    'prepend',
  ]);
  assert.equal(choicesOnce(existing), existing.description);
  // a word inside another (allow) is not a mention of the choice low
  assert.equal(choicesOnce(new Option('--x <v>', 'allow it').choices(['low'])), 'allow it (low)');
  assert.equal(choicesOnce(new Option('--json', 'as JSON')), 'as JSON');
});
