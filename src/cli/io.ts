// The real IO of a process, built once by bin/. Tests build their own (test/helpers/io.ts).
import { ExitCode, OutputError, signalStop, type IO } from '../types.ts';

export interface ProcessIO extends IO {
  /**
   * Waits until every byte written to stdout and stderr has been handed to the system (a pipe
   * takes what a slow reader has not read yet only as fast as it reads), then gives the exit code:
   * 6 with one line when stdout could not be written and the command did not say so itself.
   */
  settle(code: number): Promise<number>;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Resolves once what was written to `stream` before now has been flushed (or failed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

export function processIO(): ProcessIO {
  const controller = new AbortController();
  // The first signal stops the command so it can clean up and exit 130 (SIGINT), 143 (SIGTERM) or
  // 129 (SIGHUP) (a batch first waits for the answers in flight); the second says quit now (the
  // batch stops waiting); a third kills the process the default way. The listener stays registered
  // in between: ora's signal-exit re-raises a signal that has no other listener, which would skip
  // our cleanup.
  const quit = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) {
      controller.abort(signalStop(signal));
      return;
    }
    if (signals === 2) {
      quit.abort(signalStop(signal));
      return;
    }
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);

  // stdout that cannot be written (a full disk, EIO): stop at once, exit 6. A closed pipe (EPIPE)
  // is bin's: it ends the run quietly.
  let stdoutError: OutputError | undefined;
  const failed = (err: NodeJS.ErrnoException | null | undefined) => {
    if (!err || err.code === 'EPIPE' || stdoutError) return;
    stdoutError = new OutputError('stdout', err);
    controller.abort(stdoutError);
  };
  process.stdout.on('error', failed);

  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Opening stdin costs a stream and a handle; most runs never read it (`--version`, a file).
    get stdin() {
      return process.stdin;
    },
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    quit: quit.signal,
    async settle(code) {
      await flushed(process.stdout);
      // The error of a write that failed is emitted a few ticks after it: let it arrive.
      await new Promise((resolve) => setImmediate(resolve));
      failed(process.stdout.errored);
      if (stdoutError && code !== ExitCode.output) {
        process.stderr.write(`error: ${stdoutError.message}\n`);
        code = ExitCode.output;
      }
      await flushed(process.stderr);
      return code;
    },
  };
}
