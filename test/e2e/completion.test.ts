// Shell completions, exercised in the real shells: bash (COMP_WORDS + the function), fish
// (`complete -C`), zsh (the function registered by compinit). Each skips when its shell is absent.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { BIN, cliEnv, run, tempDir } from '../helpers/cli.ts';

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
const skip = (shell: string) => (has(shell) ? false : `skipped: ${shell} is not installed (.ci/run installs it)`);

let env: Record<string, string>;
const scripts: Record<string, string> = {};
before(async () => {
  // `imgdesc` on PATH, as after npm install -g: the scripts call it for profile names and keys
  const bin = tempDir();
  symlinkSync(BIN, join(bin, 'imgdesc'));
  const home = tempDir();
  env = cliEnv({ PATH: `${bin}:${process.env.PATH}` }, home);
  mkdirSync(join(home, 'imgdesc'));
  writeFileSync(
    join(home, 'imgdesc', 'config.json'),
    JSON.stringify({ active: 'work', profiles: { work: { 'prompt.alt': 'Alt text' }, home: {} } }),
  );
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await run(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    scripts[shell] = r.stdout;
  }
});

function bashComplete(line: string): string[] {
  const file = join(tempDir(), 'c.bash');
  writeFileSync(file, scripts.bash ?? '');
  const words = line.split(' ');
  const script = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _imgdesc; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['--norc', '-c', script], { env, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

test('bash: commands, options, choices, profile names, config keys', { skip: skip('bash') }, () => {
  assert.ok(bashComplete('imgdesc ba').includes('batch'));
  assert.deepEqual(bashComplete('imgdesc batch --conc'), ['--concurrency']);
  assert.deepEqual(bashComplete('imgdesc --detail '), ['auto', 'high', 'low']);
  assert.deepEqual(bashComplete('imgdesc photo.jpg --reasoning-effort '), ['high', 'low', 'medium']);
  assert.deepEqual(bashComplete('imgdesc batch photos --profile '), ['home', 'work']);
  assert.deepEqual(bashComplete('imgdesc config use '), ['home', 'work']);
  assert.deepEqual(bashComplete('imgdesc config set max-t'), ['max-tokens']);
  assert.ok(bashComplete('imgdesc config set max-').includes('max-edge'));
  assert.ok(bashComplete('imgdesc config get prompt').includes('prompt.alt'));
  assert.deepEqual(bashComplete('imgdesc completion '), ['bash', 'fish', 'zsh']);
  assert.deepEqual(bashComplete('imgdesc config '), ['edit', 'get', 'list', 'path', 'remove', 'set', 'use']);
  // --xmp-name offers full|stem (ext is still taken); --inline (a no-op for old scripts) is not offered
  assert.deepEqual(bashComplete('imgdesc batch --xmp-name '), ['full', 'stem']);
  assert.deepEqual(bashComplete('imgdesc batch --inl'), []);
  assert.deepEqual(bashComplete('imgdesc config set inl'), []);
  // log's --json and log show's own: offered once
  assert.equal(bashComplete('imgdesc log show --').filter((w) => w === '--json').length, 1);
});

test('fish: the same through complete -C', { skip: skip('fish') }, () => {
  const file = join(tempDir(), 'imgdesc.fish');
  writeFileSync(file, scripts.fish ?? '');
  const complete = (line: string) =>
    execFileSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], { env, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0])
      .sort();
  assert.ok(complete('imgdesc ba').includes('batch'));
  assert.deepEqual(complete('imgdesc --detail '), ['auto', 'high', 'low']);
  assert.deepEqual(complete('imgdesc batch --conc'), ['--concurrency']);
  assert.deepEqual(complete('imgdesc config use '), ['home', 'work']);
  assert.ok(complete('imgdesc config set mo').includes('model'));
  assert.deepEqual(complete('imgdesc batch --xmp-name '), ['full', 'stem']);
});

test('zsh: the script parses and compinit registers _imgdesc for imgdesc', { skip: skip('zsh') }, () => {
  const dir = tempDir();
  writeFileSync(join(dir, '_imgdesc'), scripts.zsh ?? '');
  execFileSync('zsh', ['-n', join(dir, '_imgdesc')]);
  // fpath: the script's folder and the one compinit itself is in. The system's other folders hold
  // about a thousand completion functions, which compinit would read and dump (a second of CPU).
  const out = execFileSync(
    'zsh',
    [
      '-f',
      '-c',
      `fpath=(${dir} \${^fpath}/compinit(N:h)); autoload -U compinit; compinit -u -d ${dir}/.zcompdump; print -r -- $_comps[imgdesc]`,
    ],
    { env, encoding: 'utf8' },
  );
  assert.equal(out.trim(), '_imgdesc');
  assert.match(scripts.zsh ?? '', /'--detail\[image detail hint[^']*\]:value:\(low high auto\)'/);
  assert.match(scripts.zsh ?? '', /_imgdesc_config_use\(\) \{\n {2}_arguments -s .*'\*:arg:_imgdesc_profiles'/);
});

test('an unknown shell is a usage error', async () => {
  const r = await run(['completion', 'tcsh']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown shell 'tcsh' \(bash, zsh or fish\)/);
});

test('imgdesc version and --version --verbose: what a bug report needs', async () => {
  for (const args of [['version'], ['--version', '--verbose'], ['-V', '-v']]) {
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    for (const row of [
      /^imgdesc {3}\S+$/m,
      /^node {6}v\d+\.\d+\.\d+$/m,
      /^undici {4}\d+\.\d+\.\d+$/m,
      /^sharp {5}\d+\.\d+\.\d+/m,
      /^libvips {3}\d+\.\d+\.\d+$/m,
      /^platform {2}linux /m,
      /^heic {6}\S/m,
    ]) {
      assert.match(r.stdout, row, args.join(' '));
    }
  }
  // the HEIC decoder a HEIC image would get: the system's libheif when its tool is on PATH
  const heifDir = tempDir();
  writeFileSync(join(heifDir, 'heif-dec'), '#!/bin/sh\n', { mode: 0o755 });
  const withTool = await run(['version'], { env: { PATH: `${heifDir}:/usr/bin:/bin` } });
  assert.match(withTool.stdout, new RegExp(`^heic {6}system libheif \\(${heifDir}/heif-dec\\)$`, 'm'));
  const without = await run(['version'], { env: { PATH: tempDir() } });
  assert.match(without.stdout, /^heic {6}libheif WebAssembly \(heic-decode\); no system libheif/m);
  const j = await run(['version', '--json']);
  assert.equal(JSON.parse(j.stdout).node, process.version);
  assert.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+/);
});
