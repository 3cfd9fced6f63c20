// Builds dist/ (the spawned end-to-end tests run bin/imgdesc.js, which loads it), compiles src/ and
// test/ to JavaScript (scripts/test-compile.mjs), then runs every test/**/*.test.ts, compiled, with
// node:test, so a stale build cannot pass.
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=retry`; file arguments
// run only those files (`npm test -- test/e2e/describe.test.ts`), each in its own process.
// test/release/ (npm pack + a global install: a minute or two of npm on its own) is left out of the
// default run; .ci/run runs it by name (`node scripts/test.mjs test/release/pack.test.ts`).
//
// The whole suite runs in a few processes, not one per file: each group of files is one process
// that imports its files one after another (scripts/test-groups.mjs balances the groups by the
// durations recorded last time). A process of its own cost every test file about 1 s of CPU
// before its first test (node starting, then the CLI's modules, sharp, undici… loaded again);
// with ~95 files that was most of the suite's CPU. The groups run side by side, as many as
// --test-concurrency (default: cores + 4; most of a test's time is waiting on a relay, a timer or a
// child process, so one group per core would leave the cores idle: on 2 cores, 6 groups took
// 29-31 s where 4 took 32-33 s, in alternating runs; 8 and 10 were no faster).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileTests, compiled, OUT } from './test-compile.mjs';
import { readDurations } from './test-durations.mjs';
import { groupFiles } from './test-groups.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

// This machine sets NODE_EXTRA_CA_CERTS (users rarely do); every node process started with it reads
// and parses the CA file first, ~50 ms of CPU each: the build, the test processes, and what they start
// with this environment (lock holders, SVG renderers, CLIs under a terminal). Nothing a test reaches
// needs it (everything is on 127.0.0.1 or in a network namespace); the TLS cases set their own.
delete process.env.NODE_EXTRA_CA_CERTS;

// The checkout the tests belong to (test/helpers/shared.ts ROOT: its bin/ and dist/ are what the
// spawned tests run). Found from the compiled files' place otherwise, which is another checkout's
// when node_modules is a link to it (a worktree sharing one): its build, not this one's, would be tested.
process.env.IMGDESC_TEST_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

// The build and the tests' compile side by side (both esbuild, both short; half a second saved).
const building = new Promise((resolve) =>
  spawn(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
    .on('close', (code) => resolve(code))
    .on('error', () => resolve(1)),
);
await compileTests();
const built = await building;
if (built !== 0) {
  console.error('npm test: the build failed; no tests were run');
  process.exit(built ?? 1);
}

// `--test-concurrency 6` as node spells it too, read as `--test-concurrency=6` (the 6 is no file)
const args = process.argv
  .slice(2)
  .join('\0')
  .replace(/(--test-concurrency)\0(\d+)/, '$1=$2')
  .split('\0')
  .filter(Boolean);
const picked = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const given = flags.find((f) => f.startsWith('--test-concurrency='));
const concurrency = given ? Number(given.split('=')[1]) : availableParallelism() + 4;

let run;
if (picked.length) run = picked.map(compiled);
else {
  const all = find('test').filter((f) => !f.startsWith(join('test', 'release')));
  // One small module per group: imports its files, slowest first, one after another.
  mkdirSync(join(OUT, 'groups'), { recursive: true });
  run = groupFiles(all, readDurations(), concurrency).map((files, i) => {
    const group = join(OUT, 'groups', `group-${i + 1}.mjs`);
    writeFileSync(group, files.map((f) => `await import(${JSON.stringify(pathToFileURL(compiled(f)).href)});\n`).join(''));
    return group;
  });
}
// node's own reporter (spec on a terminal, TAP otherwise: what CI reads), and one that records each
// file's duration for the grouping above. A --test-reporter given by the user replaces both.
const reporters = flags.some((f) => f.startsWith('--test-reporter'))
  ? []
  : [
      `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
      '--test-reporter-destination=stdout',
      '--test-reporter=./scripts/test-durations.mjs',
      '--test-reporter-destination=stderr',
    ];
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, ...reporters, ...flags.filter((f) => f !== given), ...run],
  {
    stdio: 'inherit',
  },
);
process.exitCode = r.status ?? 1;
