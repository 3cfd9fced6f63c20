// The real IO of a process, built once by bin/. Tests build their own (test/helpers/io.ts).
import type { IO } from '../types.ts';

export function processIO(): IO {
  const controller = new AbortController();
  // The first Ctrl-C aborts what is in flight so the command can clean up and exit 130;
  // the listener is gone after that, so a second Ctrl-C kills the process the default way.
  const onSignal = (signal: NodeJS.Signals) => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    controller.abort(new Error(signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  };
}
