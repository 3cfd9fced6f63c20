// One line on stderr and an exit code for any error but commander's own (main.ts's reportError
// handles those): shared by the commander program and the plain describe (plain.ts), which loads no
// commander.
import { CliError, failureOf, type IO } from '../types.ts';

/** Maps any error to one line on stderr and an exit code. Only bugs get a stack (with -v). */
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

/** The message and hint of the one line an error gets (`error: <message> (<hint>)`). */
export async function errorParts(error: unknown, verbose: boolean): Promise<{ message: string; hint: string | undefined }> {
  if (error instanceof CliError) {
    const { errorHint } = await import('../core/doctor.ts');
    return { message: error.message, hint: errorHint(error) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `internal error: ${message.split('\n')[0]}`, hint: verbose ? undefined : 'run with -v for details; this is a bug' };
}

/** The line the CLI prints for an error, without colour: what `imgdesc mcp` returns for a failed tool call. */
export async function errorLine(error: unknown, verbose = false): Promise<string> {
  const { message, hint } = await errorParts(error, verbose);
  return `error: ${message}${hint ? ` (${hint})` : ''}`;
}
