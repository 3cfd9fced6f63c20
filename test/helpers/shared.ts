// ../shared sits beside the repository in a working checkout (fixture images, the OpenAI spec,
// slurm-local); a fresh clone has none. Tests find it relative to the repository, never by an
// absolute path, and skip with a message when what they need is absent.
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: two levels up from here, or, when the tests run compiled (node_modules/.cache/imgdesc/js/test/helpers, see scripts/test-compile.mjs), the folder above node_modules. */
export const ROOT = ((here) => here.split(`${sep}node_modules${sep}`)[0] ?? here)(fileURLToPath(new URL('../../', import.meta.url)));
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
