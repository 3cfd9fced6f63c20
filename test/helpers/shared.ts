// ../shared sits beside the repository in a working checkout (fixture images, the OpenAI spec,
// slurm-local); a fresh clone has none. Tests find it relative to the repository, never by an
// absolute path, and skip with a message when what they need is absent.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository: as `npm test` names it (scripts/test.mjs), else two levels up from here, or, when
 * the tests run compiled (node_modules/.cache/imgdesc/js/test/helpers, see scripts/test-compile.mjs),
 * the folder above node_modules.
 */
export const ROOT =
  process.env.IMGDESC_TEST_ROOT ||
  ((here) => here.split(`${sep}node_modules${sep}`)[0] ?? here)(fileURLToPath(new URL('../../', import.meta.url)));
export const SHARED = join(ROOT, '..', 'shared');
export const FIXTURES = join(SHARED, 'fixtures', 'images');
export const SPEC_PATH = join(SHARED, 'spec', 'openai-openapi.patched.json');
export const fixture = (name: string) => join(FIXTURES, name);

/** For `test(name, { skip: needs(path) }, …)`: false when every path exists, else why the test skips. */
export function needs(...paths: string[]): false | string {
  const missing = paths.find((p) => !existsSync(p));
  return missing === undefined ? false : `skipped: ${missing} is absent (../shared is not beside this repository)`;
}

/** For `test(name, { skip: noFixtures }, …)`: a reason when ../shared's fixture images are absent. */
export const noFixtures: string | false = needs(FIXTURES);

/**
 * A file kept between test runs (a fixture or a compiled validator that costs seconds to make and
 * never changes for the same input): node_modules/.cache/imgdesc/<kind>/<name>, where `name` carries
 * a hash of everything that decides its content. It exists when an earlier run made it.
 */
export function keptFile(kind: string, name: string): string {
  return join(ROOT, 'node_modules', '.cache', 'imgdesc', kind, name);
}

/** Writes a kept file aside, then renames it in (a run beside this one never reads half a file); false when it cannot be written. */
export function keep(file: string, data: string | Uint8Array): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.${process.pid}`, data);
    renameSync(`${file}.${process.pid}`, file);
    return true;
  } catch {
    return false;
  }
}
