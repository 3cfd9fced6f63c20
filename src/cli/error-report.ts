// One line on stderr and an exit code for any error but commander's own (main.ts's reportError
// handles those): shared by the commander program and the plain describe (plain.ts), which loads no
// commander.
import { CliError, ExitCode, InterruptedError, OutputError, type IO } from '../types.ts';

/** Maps any error to one line on stderr and an exit code. Only bugs get a stack (with -v). */
export async function reportCliError(error: unknown, io: IO, verbose: boolean, noColor = false): Promise<number> {
  const { Term } = await import('../ui/term.ts');
  const term = new Term(io, { quiet: false, verbose, noColor, json: false });
  const reason: unknown = io.signal.aborted ? io.signal.reason : undefined;
  // stdout failed: that is the cause, whatever the command ran into while stopping
  const cause = reason instanceof OutputError ? reason : error;
  if (cause instanceof InterruptedError || (io.signal.aborted && !(cause instanceof CliError))) {
    const stop = reason instanceof InterruptedError ? reason : cause instanceof InterruptedError ? cause : new InterruptedError();
    term.note(term.err.dim(stop.message));
    return stop.exitCode;
  }
  if (cause !== error) error = cause;
  if (error instanceof CliError) {
    const { errorHint } = await import('../core/doctor.ts');
    term.error(error.message, errorHint(error));
    if (verbose && error.cause instanceof Error && error.cause.stack) io.stderr.write(error.cause.stack + '\n');
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  term.error(`internal error: ${message.split('\n')[0]}`, verbose ? undefined : 'run with -v for details; this is a bug');
  if (verbose && error instanceof Error && error.stack) io.stderr.write(error.stack + '\n');
  return ExitCode.internal;
}
