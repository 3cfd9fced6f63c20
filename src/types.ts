// Types and the one error class shared by every layer. Nothing here may import a library.

/** Exit codes, as the README lists them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  api: 4,
  partial: 5,
  /** Results could not be written (disk full, read-only, no permission). */
  output: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An expected failure that ends a command with a known exit code and one line for the user.
 * Layers throw subclasses (ImageError, APIError ...); the CLI prints `message` (and `hint`).
 */
export class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, exitCode: number, options?: { hint?: string | undefined; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

export class UsageError extends CliError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

export class ConfigError extends CliError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, ExitCode.config, options);
    this.name = 'ConfigError';
  }
}

/** Thrown when the user interrupts (Ctrl-C): exit 130; 143 on SIGTERM and 129 on SIGHUP. */
export class InterruptedError extends CliError {
  constructor(message = 'interrupted', exitCode: number = ExitCode.interrupted) {
    super(message, exitCode);
    this.name = 'InterruptedError';
  }
}

/** The exit code and note for a stop by signal (the abort reason processIO gives io.signal). */
export function signalStop(signal: NodeJS.Signals): InterruptedError {
  if (signal === 'SIGTERM') return new InterruptedError('terminated (SIGTERM)', 143);
  if (signal === 'SIGHUP') return new InterruptedError('hung up (SIGHUP): the terminal closed', 129);
  return new InterruptedError();
}

/**
 * What failed, and so the exit code: the one place that decides it for anything a command threw.
 * A stdout that could not be written is the cause whatever the command ran into while stopping (6);
 * a run stopped by a signal is that signal's (130, 143, 129) unless an expected failure came first;
 * an expected failure (CliError and its kinds: usage 2, configuration 3, API/network/download 4…)
 * gives its own code; anything else is a bug (1).
 */
export function failureOf(error: unknown, signal: AbortSignal): { error: unknown; exitCode: number; stop?: InterruptedError } {
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  const cause = reason instanceof OutputError ? reason : error;
  if (cause instanceof InterruptedError || (signal.aborted && !(cause instanceof CliError))) {
    const stop = reason instanceof InterruptedError ? reason : cause instanceof InterruptedError ? cause : new InterruptedError();
    return { error: stop, exitCode: stop.exitCode, stop };
  }
  return { error: cause, exitCode: cause instanceof CliError ? cause.exitCode : ExitCode.internal };
}

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EFBIG: 'file too large',
  EBADF: 'not open for writing',
  EISDIR: 'is a folder',
};

/** Errors after which nothing more can be written there: the batch stops at once. */
export function isFatalWriteError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EROFS' || code === 'EFBIG';
}

/** Why a write failed, in words: `no space left on device` for ENOSPC. */
export function writeErrorText(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return WRITE_ERRORS[code] ?? code;
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

/** Results could not be written: exit 6, one line naming where and why. */
export class OutputError extends CliError {
  readonly code: string | undefined;
  constructor(where: string, err: unknown) {
    super(`cannot write to ${where}: ${writeErrorText(err)}`, ExitCode.output, { cause: err });
    this.name = 'OutputError';
    const code = (err as { code?: unknown })?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** A stream the commands write to; process.stdout and test buffers both fit. */
export interface OutStream {
  /** `done` runs once the chunk is handed to the system, or with the error that stopped it. */
  write(chunk: string | Uint8Array, done?: (err?: Error | null) => void): boolean;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/**
 * Everything a command may touch of the outside world. Commands receive it instead of
 * reaching for `process`, so tests run them in-process with TTY on or off.
 */
export interface IO {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean | undefined; setRawMode?: (mode: boolean) => unknown };
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted when the user presses Ctrl-C (SIGINT) or the process is terminated. */
  signal: AbortSignal;
  /**
   * Aborted by a second Ctrl-C (or signal): quit now. Commands that wait for work in flight after
   * the first (batch) stop waiting; absent, nothing waits.
   */
  quit?: AbortSignal | undefined;
  /**
   * An exiftool process that outlives the command (RAW previews, photo metadata), for a caller that
   * runs many commands in one process (the tests' in-process runs): used instead of one started
   * and ended for the command, and left running.
   */
  exiftool?: (() => Promise<import('exiftool-vendored').ExifTool>) | undefined;
}

/** The `detail` field of an image_url part. */
export type ImageDetail = 'low' | 'high' | 'auto';

/** What the image layer did to one input; shown by -v and --dry-run (ui renders it). */
export interface ImageReport {
  source: string;
  kind: 'file' | 'stdin' | 'url' | 'data-url';
  sourceType: string | null;
  bytesIn: number | null;
  bytesOut: number | null;
  widthIn: number | null;
  heightIn: number | null;
  widthOut: number | null;
  heightOut: number | null;
  orientation: number | null;
  rotated: boolean;
  resized: boolean;
  converted: boolean;
  reencoded: boolean;
  metadataStripped: boolean;
  animated: boolean;
  unchanged: boolean;
  quality: number | null;
  estimatedTokens: number | null;
  openaiTokens: number | null;
  /** Set when the pixels came from something other than sharp: "system libheif (heif-convert)" … */
  decoder?: string | null;
  /** A URL that was not fetched here: sent as given (--pass-url), or only planned (--dry-run). */
  notFetched?: 'pass-url' | 'dry-run';
}

/**
 * The one abortable wait: settles when `register` settles (or fails), or rejects InterruptedError as
 * soon as `signal` aborts, whichever comes first; removes its abort listener either way. Every layer
 * that waits on something it does not own (a slot, a gate, a backoff, a stream) waits through this.
 */
export function abortable<T>(
  register: (settle: (v: T) => void, fail: (e: unknown) => void) => void,
  signal: AbortSignal | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError());
    const onAbort = () => reject(new InterruptedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    register(
      (v) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The signal of a per-attempt timeout; `0` (`--timeout 0`) means none: a signal that never fires. */
export function timeoutSignal(ms: number): AbortSignal {
  return ms > 0 ? AbortSignal.timeout(ms) : new AbortController().signal;
}
