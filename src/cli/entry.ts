// The process entry (bundled as dist/main.js). The commonest call of a shell loop,
// `imgdesc <image> [prompt]` with no options, is run without loading commander and building the
// program (≈10 ms of every call); everything else, and any doubt, goes to the commander program
// (main.ts), which does the same with it: test/e2e/entry.test.ts runs these forms through both.
// (`--version` and `--help` are answered earlier still, by bin/imgdesc.js.)
export { processIO } from './io.ts';
import type { IO } from '../types.ts';

/** A plain operand: `-` (stdin) or anything that is not an option. */
const operand = (a: string): boolean => a === '-' || !a.startsWith('-');
/** What could be a command or a typo of one (`batch`, `bacth`): commander and its hints decide. */
const bareWord = /^[a-z][a-z-]*$/i;

/** `imgdesc <image> [prompt]` with an image that cannot be a command, and no options. */
export function plainDescribe(argv: readonly string[]): { image: string; prompt: string | undefined } | null {
  const [image, prompt, ...rest] = argv;
  // `__complete` is what the shell completions call: a (hidden) command, not an image
  if (image === undefined || rest.length > 0 || !operand(image) || bareWord.test(image) || image.startsWith('__')) return null;
  if (prompt !== undefined && !operand(prompt)) return null;
  return { image, prompt };
}

export async function main(argv: string[], io: IO): Promise<number> {
  const plain = plainDescribe(argv);
  if (plain) {
    try {
      const { runDescribe } = await import('./describe.ts');
      const run = { profile: undefined, json: false, dryRun: false, quiet: false, verbose: false, noColor: false, promptFile: undefined };
      return await runDescribe({ images: [plain.image], prompt: plain.prompt, settings: {}, run }, io);
    } catch (error) {
      const { reportError } = await import('./main.ts');
      return reportError(error, io, false);
    }
  }
  const program = await import('./main.ts');
  return program.main(argv, io);
}

/** The man page, for the build (scripts/build.mjs): rendered from the commander program. */
export async function manPage(): Promise<string> {
  const program = await import('./main.ts');
  return program.manPage();
}
