// Which calls are a plain `imgdesc <image> [prompt]`: pure, and built on its own into dist/route.cjs
// so that bin/imgdesc.js can choose the describe bundle (dist/plain.cjs) before loading anything.

/** A plain operand: `-` (stdin) or anything that is not an option. */
const operand = (a: string): boolean => a === '-' || !a.startsWith('-');
/** What could be a command or a typo of one (`batch`, `bacth`): commander and its hints decide. */
export const bareWord = /^[a-z][a-z-]*$/i;

export type Plain = { image: string; prompt: string | undefined; json: boolean; raw: boolean };

/** The switches a plain describe takes too, anywhere (`imgdesc --json photo.jpg | jq`): the output's form. */
const SWITCHES = new Set(['--json', '--raw']);

/**
 * `imgdesc <image> [prompt]` with an image that cannot be a command, and no options but `--json`
 * and `--raw`.
 */
export function plainDescribe(argv: readonly string[]): Plain | null {
  const [image, prompt, ...rest] = argv.filter((a) => !SWITCHES.has(a));
  // `__complete` is what the shell completions call: a (hidden) command, not an image
  if (image === undefined || rest.length > 0 || !operand(image) || bareWord.test(image) || image.startsWith('__')) return null;
  if (prompt !== undefined && !operand(prompt)) return null;
  return { image, prompt, json: argv.includes('--json'), raw: argv.includes('--raw') };
}
