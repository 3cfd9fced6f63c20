// The program in-process, with a captured IO: parsing, help, version and error mapping.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../../src/cli/main.ts';
import { testIO } from '../../helpers/io.ts';

const env = () => ({ XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'imgdesc-unit-')) });

test('--version prints the version on stdout', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--version'], io), 0);
  assert.match(io.out(), /^\d+\.\d+\.\d+(-\w+)?\n$/);
});

test('--help lists the commands and examples', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--help'], io), 0);
  assert.match(io.out(), /describe \[options\] <image> \[prompt\]/);
  assert.match(io.out(), /\$ imgdesc init/);
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
  assert.match(cfg.err(), /unknown setting 'modle'; did you mean 'model'\?/);
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

test('--help: the examples start with imgdesc init', async () => {
  const io = testIO({ env: env() });
  assert.equal(await main(['--help'], io), 0);
  const examples = io.out().split('Examples:')[1] ?? '';
  assert.match(examples, /^\s*\$ imgdesc init\b/);
});
