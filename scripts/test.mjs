// Builds dist/ (the spawned end-to-end tests run bin/imgdesc.js, which loads it), compiles src/ and
// test/ to JavaScript (scripts/test-compile.mjs), then runs every test/**/*.test.ts, compiled, with
// node:test, so a stale build cannot pass.
// Node 20's --test does not expand globs itself, so the files are listed here.
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=retry`.
// test/release/ (npm pack + a global install: a minute or two of npm on its own) is left out of the
// default run; .ci/run runs it by name (`node scripts/test.mjs test/release/pack.test.ts`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { compileTests, compiled } from './test-compile.mjs';
import { readDurations, slowestFirst } from './test-durations.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const built = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (built.status !== 0) {
  console.error('npm test: the build failed; no tests were run');
  process.exit(built.status ?? 1);
}

await compileTests();

const args = process.argv.slice(2);
const picked = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const all = find('test').filter((f) => !f.startsWith(join('test', 'release')));
// Unit tests run in one process (scripts/test-together.mjs), except those where sharp and exiftool
// do real work (test/unit/image, test/unit/metadata): those gain from running beside the others.
const alone = (f) => !/^test[\\/]unit[\\/]/.test(f) || /^test[\\/]unit[\\/](image|metadata)[\\/]/.test(f);
const together = picked.length ? [] : all.filter((f) => !alone(f));
const files = picked.length
  ? picked
  : slowestFirst([...all.filter(alone), ...(together.length ? ['scripts/test-together.mjs'] : [])], readDurations());
// Most of a test file's time is waiting (tsx starting, retry back-offs, a slow test relay), not CPU:
// node's default of one file at a time on a 2-core machine leaves the cores idle. Overridable.
const concurrency = flags.some((f) => f.startsWith('--test-concurrency'))
  ? []
  : [`--test-concurrency=${Math.max(3, availableParallelism() + 1)}`];
// node's own reporter (spec on a terminal, TAP otherwise: what CI reads), and one that records each
// file's duration for the order above. A --test-reporter given by the user replaces both.
const reporters = flags.some((f) => f.startsWith('--test-reporter'))
  ? []
  : [
      `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
      '--test-reporter-destination=stdout',
      '--test-reporter=./scripts/test-durations.mjs',
      '--test-reporter-destination=stderr',
    ];
const run = files.map((f) => (f.endsWith('.ts') ? compiled(f) : f));
const r = spawnSync(process.execPath, ['--test', ...concurrency, ...reporters, ...flags, ...run], {
  stdio: 'inherit',
  env: { ...process.env, IMGDESC_TEST_TOGETHER: JSON.stringify(together.map(compiled)) },
});
process.exitCode = r.status ?? 1;
