// Every read of something imgdesc does not control (a prompt file, a list, a schema, a manifest,
// stdin, an image) goes through here: it stops at its cap while reading, whatever the size on
// disk says (devices, FIFOs and /proc report nothing useful), and ends at once when the run's
// signal aborts. Shared by every layer, so it knows no layer's error types: callers turn
// ReadCapError into their own message.
import { closeSync, constants, createReadStream, openSync, statSync } from 'node:fs';
import { InterruptedError } from './types.ts';

/** The cap was passed: `max` bytes in all, or `max` bytes in one line (`line` is its number). */
export class ReadCapError extends Error {
  readonly max: number;
  readonly line: number | undefined;
  constructor(max: number, line?: number) {
    super(line === undefined ? `larger than ${max} bytes` : `line ${line} is longer than ${max} bytes`);
    this.name = 'ReadCapError';
    this.max = max;
    this.line = line;
  }
}

export interface CapOptions {
  /** The most bytes read, in all. */
  max: number;
  signal?: AbortSignal | undefined;
}

function interrupted(signal: AbortSignal | undefined): InterruptedError {
  return signal?.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
}

type Source = NodeJS.ReadableStream | AsyncIterable<unknown>;

function destroy(stream: Source): void {
  const s = stream as { destroy?: () => void };
  if (typeof s.destroy === 'function') s.destroy();
}

function asBuffer(chunk: unknown): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
}

/**
 * The chunks of a stream, each checked against the signal; an abort destroys the stream (a read
 * waiting on a silent pipe returns at once). Errors of the stream itself are thrown as they are.
 */
async function* chunks(stream: Source, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (signal?.aborted) {
    destroy(stream);
    throw interrupted(signal);
  }
  const onAbort = (): void => destroy(stream);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream as AsyncIterable<unknown>) {
      if (signal?.aborted) throw interrupted(signal);
      yield asBuffer(chunk);
    }
  } catch (err) {
    if (signal?.aborted) throw interrupted(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    destroy(stream);
  }
  if (signal?.aborted) throw interrupted(signal);
}

/** A whole stream, refused (ReadCapError) as soon as it passes `max` bytes. */
export async function readStreamCapped(stream: Source, o: CapOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const buf of chunks(stream, o.signal)) {
    total += buf.length;
    if (total > o.max) throw new ReadCapError(o.max);
    parts.push(buf);
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
}

/**
 * A stream opened on `path` for a capped read. A regular file larger than `max` is refused before
 * a byte is read. A FIFO with no writer blocks open(2) in libuv's thread pool, where no abort
 * reaches it and the process could not even exit: on abort we become that writer for an instant,
 * so the open returns and the read ends at once.
 */
export function openCapped(path: string, o: CapOptions): { stream: NodeJS.ReadableStream; release: () => void } {
  if (o.signal?.aborted) throw interrupted(o.signal);
  const st = statSync(path); // stat does not open a FIFO
  if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR' });
  if (st.isFile() && st.size > o.max) throw new ReadCapError(o.max);
  const stream = createReadStream(path, { highWaterMark: Math.min(1 << 20, Math.max(o.max + 1, 16 * 1024)) });
  const unblock = (): void => {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // the open had returned already (ENXIO: no reader left)
    }
  };
  const fifo = st.isFIFO();
  if (fifo) o.signal?.addEventListener('abort', unblock, { once: true });
  // An error before the first read (EACCES) is the stream's; it surfaces where it is read.
  return { stream, release: () => (fifo ? o.signal?.removeEventListener('abort', unblock) : undefined) };
}

/** A whole file (or device, FIFO, /proc file), never more than `max` bytes of it read. */
export async function readFileCapped(path: string, o: CapOptions): Promise<Buffer> {
  const { stream, release } = openCapped(path, o);
  try {
    return await readStreamCapped(stream, o);
  } finally {
    release();
  }
}

/**
 * The longest result record read back (resume, merge, report): far above any answer imgdesc
 * writes, far below what would exhaust memory or V8's string length.
 */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface LineOptions {
  /** The longest line accepted, in bytes, without its line end. */
  maxLine: number;
  signal?: AbortSignal | undefined;
}

/**
 * The lines of a stream as UTF-8 text, without their `\n` or `\r\n`; a line longer than
 * `maxLine` throws ReadCapError with its number as soon as it passes the cap, so a single
 * gigabyte line costs `maxLine` bytes of memory, not a gigabyte. A last line without a line end
 * is given too.
 */
export async function* linesCapped(stream: Source, o: LineOptions): AsyncGenerator<string> {
  for await (const line of lines(stream, o, false)) {
    if (line instanceof ReadCapError) throw line;
    yield line;
  }
}

/**
 * linesCapped for a reader that answers every line (`imgdesc map`): a line past the cap is given
 * as a ReadCapError in its place, its bytes skipped up to its line end without being kept.
 */
export function linesOrOverlong(stream: Source, o: LineOptions): AsyncGenerator<string | ReadCapError> {
  return lines(stream, o, true);
}

async function* lines(stream: Source, o: LineOptions, skipOverlong: boolean): AsyncGenerator<string | ReadCapError> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let line = 0;
  let skipping = false;
  const text = (parts: Buffer[], length: number): string => {
    // most lines lie within one chunk: decoded where they are, not copied first
    const s = (parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length)).toString('utf8');
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  for await (const buf of chunks(stream, o.signal)) {
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      line++;
      const piece = buf.subarray(start, nl);
      start = nl + 1;
      // one more byte is allowed for the \r of a \r\n line end
      if (skipping || pendingLength + piece.length > o.maxLine + 1) yield new ReadCapError(o.maxLine, line);
      else {
        pending.push(piece);
        yield text(pending, pendingLength + piece.length);
      }
      pending = [];
      pendingLength = 0;
      skipping = false;
    }
    if (skipping) continue;
    const rest = buf.subarray(start);
    pendingLength += rest.length;
    if (pendingLength > o.maxLine + 1) {
      if (!skipOverlong) throw new ReadCapError(o.maxLine, line + 1);
      skipping = true;
      pending = [];
    } else if (rest.length > 0) pending.push(rest);
  }
  if (skipping) yield new ReadCapError(o.maxLine, line + 1);
  else if (pendingLength > 0) yield text(pending, pendingLength);
}
