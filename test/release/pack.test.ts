// The published layout works: `npm pack`, then `npm install -g` of the tarball into a temporary
// prefix gives a working `imgdesc` with its completions and man page. Offline: the dependencies
// come from npm's cache (filled by `npm ci` of this checkout) through the project's lockfile, and
// are bundled into a second tarball so the global install fetches nothing; skipped with a message
// when the cache cannot supply them.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from '../helpers/cli.ts';

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
const noNpm = spawnSync('npm', ['--version']).status === 0 ? false : 'skipped: npm is not on PATH';

test('npm pack + npm install -g: a working imgdesc, completions and man page', { skip: noNpm, timeout: 300_000 }, async (t) => {
  const work = tempDir('imgdesc-pack-');
  // npm test has built dist/ and man/ already; --ignore-scripts keeps pack from rebuilding them under other tests
  const packed = npm(['pack', '--ignore-scripts', '--pack-destination', work], ROOT);
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = join(work, packed.stdout.trim().split('\n').at(-1) ?? '');
  const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
  for (const f of ['package/bin/imgdesc.js', 'package/dist/main.js', 'package/man/imgdesc.1', 'package/package.json', 'package/README.md'])
    assert.ok(listing.includes(f), `${f} is packed`);
  assert.ok(!listing.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/')), 'no sources or tests in the package');

  mkdirSync(join(work, 'x'));
  execFileSync('tar', ['xzf', tarball, '-C', join(work, 'x')]);
  const pkgDir = join(work, 'x', 'package');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.bin, { imgdesc: 'bin/imgdesc.js' });
  assert.deepEqual(pkg.man, ['./man/imgdesc.1']);
  assert.match(pkg.engines.node, /^>=20/);

  copyFileSync(join(ROOT, 'package-lock.json'), join(pkgDir, 'package-lock.json'));
  const deps = npm(['ci', '--omit=dev', '--offline', '--ignore-scripts'], pkgDir);
  if (deps.status !== 0) {
    t.skip(
      `skipped: npm's cache cannot supply the dependencies offline (${deps.stderr.split('\n').find((l) => /ENOTCACHED|error/.test(l)) ?? 'npm ci failed'})`,
    );
    return;
  }
  pkg.bundleDependencies = Object.keys(pkg.dependencies);
  writeFileSync(join(pkgDir, 'package.json'), JSON.stringify(pkg, null, 2));
  mkdirSync(join(work, 'b'));
  const bundled = npm(['pack', '--ignore-scripts', '--pack-destination', join(work, 'b')], pkgDir);
  assert.equal(bundled.status, 0, bundled.stderr);
  const prefix = join(work, 'prefix');
  const installed = npm(
    ['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', join(work, 'b', readdirSync(join(work, 'b'))[0] ?? '')],
    work,
  );
  assert.equal(installed.status, 0, installed.stderr);

  const bin = join(prefix, 'bin', 'imgdesc');
  const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: work, XDG_CONFIG_HOME: work };
  assert.equal(
    execFileSync(bin, ['--version'], { env, encoding: 'utf8' }),
    `${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`,
  );
  assert.match(execFileSync(bin, ['version'], { env, encoding: 'utf8' }), /^libvips {3}\d/m, 'sharp loads from the installed package');
  assert.match(
    execFileSync(bin, ['completion', 'bash'], { env, encoding: 'utf8' }),
    /complete -o default -o filenames -F _imgdesc imgdesc/,
  );
  const man = join(prefix, 'share', 'man', 'man1', 'imgdesc.1');
  assert.ok(existsSync(man), 'the man page is linked into the prefix');
  if (spawnSync('man', ['--version']).status === 0) {
    const page = execFileSync('man', ['-l', man], { env: { ...env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '' }, encoding: 'utf8' });
    assert.match(page, /NAME\s+imgdesc - describe images/);
    assert.match(page, /config set \[options\] <key> \[value\]/);
  }
});
