// Stopping a command that sends many requests (batch, map): the first Ctrl-C stops new requests,
// and the answers in flight, which were paid for, are waited for and recorded; a second Ctrl-C
// quits at once. SIGTERM and SIGHUP wait at most IMGDESC_STOP_GRACE seconds (10). stdout that
// fails stops at once: nothing more can be recorded there.
import { ExitCode, InterruptedError, OutputError, type IO } from '../types.ts';

export interface GracefulStop {
  /** Aborts the requests in flight: a second signal, the end of the grace, or stdout failing. */
  readonly quit: AbortSignal;
  /** What the live line says while stopping with `n` answers out (undefined before a stop). */
  line(n: number): string | undefined;
  /** Removes the listeners and the grace timer. */
  dispose(): void;
}

/** `onStop` runs once, at the first stop, to say so (it gets the stop line to print). */
export function gracefulStop(io: IO, onStop: (line: (n: number) => string) => void): GracefulStop {
  const quit = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let until: number | undefined;
  const line = (n: number): string => {
    if (n === 0) return 'stopping: no new requests';
    const answers = n === 1 ? '1 answer' : `${n} answers`;
    if (until === undefined) return `stopping: waiting for ${answers}, Ctrl-C again to quit now`;
    return `stopping: waiting for ${answers}, at most ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s more`;
  };
  const onSignal = () => {
    const reason: unknown = io.signal.reason;
    if (reason instanceof OutputError) return quit.abort();
    if (reason instanceof InterruptedError && reason.exitCode !== ExitCode.interrupted) {
      const grace = stopGraceMs(io.env);
      until = Date.now() + grace;
      timer = setTimeout(() => quit.abort(), grace);
    }
    onStop(line);
  };
  const onQuit = () => quit.abort();
  if (io.signal.aborted) onSignal();
  else io.signal.addEventListener('abort', onSignal, { once: true });
  io.quit?.addEventListener('abort', onQuit, { once: true });
  return {
    quit: quit.signal,
    line: (n) => (io.signal.aborted ? line(n) : undefined),
    dispose() {
      clearTimeout(timer);
      io.signal.removeEventListener('abort', onSignal);
      io.quit?.removeEventListener('abort', onQuit);
    },
  };
}

/** How long SIGTERM (and SIGHUP) wait for the answers in flight: IMGDESC_STOP_GRACE seconds, 10 by default. */
export function stopGraceMs(env: Record<string, string | undefined>): number {
  const v = Number(env.IMGDESC_STOP_GRACE);
  return env.IMGDESC_STOP_GRACE !== undefined && Number.isFinite(v) && v >= 0 ? v * 1000 : 10_000;
}

/** How long a relay may be down before the batch stops: IMGDESC_DOWN_LIMIT seconds, 120 by default. */
export function downLimitMs(env: Record<string, string | undefined>): number | undefined {
  const v = Number(env.IMGDESC_DOWN_LIMIT);
  return env.IMGDESC_DOWN_LIMIT !== undefined && Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}

/** The least a hung attempt is waited for when --timeout is not given: IMGDESC_HUNG_MIN seconds, 60 by default. */
export function hungMinMs(env: Record<string, string | undefined>): number | undefined {
  const v = Number(env.IMGDESC_HUNG_MIN);
  return env.IMGDESC_HUNG_MIN !== undefined && Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}
