// An error line (and a hint line) on stderr and an exit code for any error but commander's own (main.ts's reportError
// handles those): shared by the commander program and the plain describe (plain.ts), which loads no
// commander.
import { CliError, failureOf, type IO } from '../types.ts';

/** Maps any error to a line on stderr (and a hint line) and an exit code. Only bugs get a stack (with -v). */
export async function reportCliError(error: unknown, io: IO, verbose: boolean, noColor = false): Promise<number> {
  const { Term } = await import('../ui/term.ts');
  const term = new Term(io, { quiet: false, verbose, noColor, json: false });
  const failed = failureOf(error, io.signal);
  if (failed.stop) {
    term.note(term.err.dim(failed.stop.message));
    return failed.exitCode;
  }
  error = failed.error;
  const { message, hint } = await errorParts(error, verbose);
  term.error(message, hint);
  const stack = error instanceof CliError ? error.cause : error;
  if (verbose && stack instanceof Error && stack.stack) io.stderr.write(stack.stack + '\n');
  return failed.exitCode;
}

/** What an error says: `error: <message>`, then `hint: <hint>` on a line of its own. */
export async function errorParts(error: unknown, verbose: boolean): Promise<{ message: string; hint: string | undefined }> {
  if (error instanceof CliError) {
    const { errorHint } = await import('../core/doctor.ts');
    return { message: error.message, hint: errorHint(error) ?? commandHint(error) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `internal error: ${message.split('\n')[0]}`, hint: verbose ? undefined : 'run with -v for details; this is a bug' };
}

/** The lines the CLI prints for an error, without colour: what `imgdesc mcp` returns for a failed tool call. */
export async function errorLine(error: unknown, verbose = false): Promise<string> {
  const { message, hint } = await errorParts(error, verbose);
  const { errorLines } = await import('../ui/term.ts');
  return errorLines(message, hint).join('\n');
}

/** `imgdesc folder`: describe takes one image; a folder is what batch is for. */
function commandHint(error: CliError): string | undefined {
  const folder = /^(.*): is a directory$/.exec(error.message)?.[1];
  return error.name === 'ImageError' && folder ? `to describe the images in it: imgdesc batch ${shellWord(folder)}` : undefined;
}

/** A word as a POSIX shell reads it back: bare when safe, else quoted. */
export function shellWord(s: string): string {
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  if (!/["$`\\!]/.test(s)) return `"${s}"`;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `imgdesc photo.jpg what breed is this dog`: the same command with the prompt's words quoted as
 * one argument. `argv` is what was typed, `operands` the image and the words commander found.
 */
export function quotedPromptCommand(argv: readonly string[], operands: readonly string[]): string {
  const [image = '', ...words] = operands;
  const prompt = shellWord(words.join(' '));
  const at = words.length ? argv.indexOf(words[0] as string) : -1;
  // The typed options stay when the words are one run in argv; otherwise just the image and prompt.
  const together = at > 0 && words.every((w, k) => argv[at + k] === w);
  const line = together
    ? [...argv.slice(0, at).map(shellWord), prompt, ...argv.slice(at + words.length).map(shellWord)]
    : [shellWord(image), prompt];
  return `imgdesc ${line.join(' ')}`;
}
