// The real IO of a process, built once by bin/. Tests build their own (test/helpers/io.ts).
import type { IO } from '../types.ts';

export function processIO(): IO {
  const controller = new AbortController();
  // The first Ctrl-C aborts what is in flight so the command can clean up and exit 130; a second
  // one kills the process the default way. The listener stays registered in between: ora's
  // signal-exit re-raises a signal that has no other listener, which would skip our cleanup.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) {
      controller.abort(new Error(signal));
      return;
    }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
  };
}
