// A node:test reporter that prints nothing: it records how long each test file took (the sum of its
// top-level tests) in node_modules/.cache/imgdesc/test-durations.json, so the next `npm test` can
// make its groups of files even (scripts/test-groups.mjs) and no group runs long after the others.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { sourceOf } from './test-compile.mjs';

export const DURATIONS = 'node_modules/.cache/imgdesc/test-durations.json';

/**
 * Durations from one quiet run of the whole suite, committed: a checkout that has recorded none of
 * its own yet (a fresh clone's first `npm test`, CI) still gets even groups. Refresh it with
 * `cp node_modules/.cache/imgdesc/test-durations.json scripts/test-durations.seed.json` after a quiet run.
 */
export const SEED = new URL('./test-durations.seed.json', import.meta.url);

function readJson(file) {
  try {
    const d = JSON.parse(readFileSync(file, 'utf8'));
    return d && typeof d === 'object' ? d : {};
  } catch {
    return {};
  }
}

/** The durations in ms by file (relative to the repository): this checkout's records over the seed's. */
export function readDurations(file = DURATIONS) {
  return { ...readJson(SEED), ...readJson(file) };
}

export default async function* recordDurations(source) {
  const took = {};
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      // a compiled test (node_modules/.cache/imgdesc/js/…) is recorded under its source's name
      const f = sourceOf(event.data.file) ?? relative(process.cwd(), event.data.file);
      took[f] = (took[f] ?? 0) + (event.data.details?.duration_ms ?? 0);
    }
  }
  try {
    mkdirSync(dirname(DURATIONS), { recursive: true });
    writeFileSync(DURATIONS, `${JSON.stringify({ ...readDurations(), ...took }, null, 1)}\n`);
  } catch {
    // only an ordering hint: a read-only checkout runs its tests in name order
  }
  yield* []; // prints nothing: node's own reporter does
}
