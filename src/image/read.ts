// Reading an input's bytes with a hard size cap: local paths, stdin and data: URLs.
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatBytes } from '../format.ts';
import * as capped from '../read-capped.ts';
import { InterruptedError } from '../types.ts';
import { ImageError } from './types.ts';

export function tooLarge(name: string, maxInputBytes: number): ImageError {
  return new ImageError('too-large', `${name}: larger than --max-input-bytes (${formatBytes(maxInputBytes)})`);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/**
 * Collects a stream up to `max` bytes (the shared capped read): going past the cap or an abort
 * destroys the stream at once, so an endless source (/dev/zero, a FIFO, a runaway pipe) fails fast
 * instead of filling memory.
 */
export async function readStreamCapped(
  stream: NodeJS.ReadableStream | AsyncIterable<unknown>,
  max: number,
  name: string,
  signal?: AbortSignal,
  mapError?: (err: unknown) => ImageError,
): Promise<Buffer> {
  try {
    return await capped.readStreamCapped(stream, { max, signal });
  } catch (err) {
    if (err instanceof capped.ReadCapError) throw tooLarge(name, max);
    if (err instanceof ImageError || err instanceof InterruptedError) throw err;
    if (mapError) throw mapError(err);
    throw new ImageError('unreadable', `${name}: cannot read (${errText(err)})`, { cause: err });
  }
}

function errText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? (e.message.split('\n')[0] ?? 'error') : String(err);
}

export interface ReadResult {
  /** The whole input, or only its head when `path` is set. */
  bytes: Buffer;
  size: number;
  /** Set when only the head was read: sharp then reads the file itself, without a JS copy. */
  path: string | null;
  /** A regular file (not a FIFO, device or stream). */
  file: boolean;
}

const HEAD_BYTES = 64 * 1024;
/**
 * Regular files up to this size are read with one synchronous call: a batch reads thousands of
 * small images, and each trip through the thread pool (open, read, close) costs ≈50 µs of CPU,
 * twenty times the read itself. Blocking the loop for a few MiB from the page cache is harmless.
 */
const SYNC_READ_MAX = 8 * 1024 * 1024;

function readSmallFile(path: string, size: number, input: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } catch (err) {
    throw pathError(input, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads a local path. Regular files are checked by size before any byte is read. A regular file
 * bigger than `headOnlyAbove` can never be sent as it is, so only its head is read (to sniff it):
 * a 100 MB PNG then never sits in memory twice.
 */
export async function readPath(
  input: string,
  opts: { maxInputBytes: number; cwd?: string; signal?: AbortSignal; headOnlyAbove?: number },
): Promise<ReadResult> {
  const path = resolve(opts.cwd ?? '.', input);
  let st;
  try {
    st = statSync(path); // no thread-pool trip, as for the read below; stat does not open a FIFO
  } catch (err) {
    throw pathError(input, err);
  }
  if (st.isDirectory()) throw new ImageError('directory', `${input}: is a directory`);
  if (st.isFile() && st.size > opts.maxInputBytes) throw tooLarge(input, opts.maxInputBytes);
  if (!st.isFile()) {
    // Devices and FIFOs are streamed with the cap; a FIFO with no writer gives way on abort.
    let opened;
    try {
      opened = capped.openCapped(path, { max: opts.maxInputBytes, signal: opts.signal });
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      throw pathError(input, err);
    }
    try {
      const bytes = await readStreamCapped(opened.stream, opts.maxInputBytes, input, opts.signal, (err) => pathError(input, err));
      return { bytes, size: bytes.length, path: null, file: false };
    } finally {
      opened.release();
    }
  }
  if (st.size > 0 && st.size <= SYNC_READ_MAX && !(opts.headOnlyAbove !== undefined && st.size > opts.headOnlyAbove)) {
    return { bytes: readSmallFile(path, st.size, input), size: st.size, path: null, file: true };
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw pathError(input, err);
  }
  try {
    if (st.isFile() && opts.headOnlyAbove !== undefined && st.size > opts.headOnlyAbove) {
      const head = Buffer.allocUnsafe(HEAD_BYTES);
      const { bytesRead } = await fh.read(head, 0, HEAD_BYTES, 0);
      return { bytes: head.subarray(0, bytesRead), size: st.size, path, file: true };
    }
    const bytes = await readWhole(fh, st, input, opts);
    return { bytes, size: bytes.length, path: null, file: true };
  } catch (err) {
    if (err instanceof ImageError || err instanceof InterruptedError) throw err;
    throw pathError(input, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readWhole(fh: FileHandle, st: Stats, input: string, opts: { maxInputBytes: number; signal?: AbortSignal }): Promise<Buffer> {
  // /proc files say size 0 whatever they hold: streamed. Other regular files are read as big as
  // stat said, so they stay capped.
  if (st.size === 0) {
    return readStreamCapped(fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }), opts.maxInputBytes, input, opts.signal);
  }
  const buf = Buffer.allocUnsafe(st.size);
  let off = 0;
  while (off < buf.length) {
    throwIfAborted(opts.signal);
    const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === buf.length ? buf : buf.subarray(0, off);
}

function pathError(input: string, err: unknown): ImageError {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ImageError('not-found', `${input}: no such file`, { cause: err });
  if (code === 'EISDIR') return new ImageError('directory', `${input}: is a directory`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new ImageError('unreadable', `${input}: permission denied`, { cause: err });
  return new ImageError('unreadable', `${input}: cannot read (${errText(err)})`, { cause: err });
}

/** Decodes a data: URL's payload (base64 or percent-encoded); the declared mime is ignored. */
export function decodeDataUrl(input: string, maxInputBytes: number): Buffer {
  const comma = input.indexOf(',');
  if (!/^data:/i.test(input) || comma < 0) {
    throw new ImageError('bad-url', `${shortDataUrl(input)}: malformed data: URL (expected data:<type>;base64,<data>)`);
  }
  const meta = input.slice(5, comma);
  const payload = input.slice(comma + 1);
  const isBase64 = /;base64$/i.test(meta.trim());
  // Checked on the text length first so a huge URL is refused before it is decoded.
  const approx = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (approx > maxInputBytes + 3) throw tooLarge('data: URL', maxInputBytes);
  let buf: Buffer;
  if (isBase64) {
    const clean = payload.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
      throw new ImageError('bad-url', 'data: URL: invalid base64 data');
    }
    buf = Buffer.from(clean, clean.includes('-') || clean.includes('_') ? 'base64url' : 'base64');
  } else {
    try {
      buf = Buffer.from(decodeURIComponent(payload), 'utf8');
    } catch (err) {
      throw new ImageError('bad-url', 'data: URL: invalid percent-encoding', { cause: err });
    }
  }
  if (buf.length > maxInputBytes) throw tooLarge('data: URL', maxInputBytes);
  return buf;
}

export function shortDataUrl(input: string): string {
  return input.length > 40 ? `${input.slice(0, 32)}…` : input;
}
