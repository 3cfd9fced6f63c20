// The process entry for all but the plain describe (bundled as dist/main.js; bin/imgdesc.js loads
// dist/plain.cjs, from plain.ts, for that one). The commonest call of a shell loop,
// `imgdesc <image> [prompt]` with no options but --json or --raw, is run without loading
// commander and building the program (≈10 ms of every call); everything else, and any doubt, goes
// to the commander program (main.ts), which does the same with it: test/e2e/entry.test.ts runs
// these forms through both.
// (`--version` and `--help` are answered earlier still, by bin/imgdesc.js.)
export { processIO } from './io.ts';
import type { IO } from '../types.ts';
import { plainDescribe } from './route.ts';

export async function main(argv: string[], io: IO): Promise<number> {
  const plain = plainDescribe(argv);
  if (plain) return (await import('./plain.ts')).runPlain(plain, io);
  const program = await import('./main.ts');
  return program.main(argv, io);
}

/** The man page, for the build (scripts/build.mjs): rendered from the commander program. */
export async function manPage(): Promise<string> {
  const program = await import('./main.ts');
  return program.manPage();
}
