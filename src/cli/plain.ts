// The plain describe, `imgdesc <image> [prompt]` (and --json, --raw), without commander. Reached
// from entry.ts, and built on its own, with every module it needs in one file, into dist/plain.cjs
// (the process entry bin/imgdesc.js loads for such a call): ES module loading of the split
// bundle's ≈28 chunks was most of a call's time.
export { processIO } from './io.ts';
import type { IO } from '../types.ts';
import { plainDescribe, type Plain } from './route.ts';

export async function runPlain(plain: Plain, io: IO): Promise<number> {
  try {
    const { run } = await import('./describe.ts');
    const { makeFactory } = await import('./factory.ts');
    // What main.ts's describe would read from such a call: its switches, no other flags, no settings.
    const flags = { promptFile: undefined, json: plain.json, raw: plain.raw, dryRun: false, refresh: false };
    const runFlags = { ...flags, profile: undefined, quiet: false, verbose: false, noColor: false };
    return await run({ image: plain.image, prompt: plain.prompt, extra: [], ...flags, settings: {} }, makeFactory(io, runFlags));
  } catch (error) {
    const { reportCliError } = await import('./error-report.ts');
    return reportCliError(error, io, false);
  }
}

/** The entry of dist/plain.cjs: bin/imgdesc.js loads it only for what plainDescribe accepts. */
export async function main(argv: string[], io: IO): Promise<number> {
  const plain = plainDescribe(argv);
  if (!plain) throw new Error(`not a plain describe: ${argv.join(' ')}`);
  return runPlain(plain, io);
}
