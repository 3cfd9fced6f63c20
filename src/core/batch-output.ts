// Where batch results go: JSON lines (one write per line; a line that cannot be written whole is
// cut back off, so lines never tear) and sidecar files (temp file in the same folder + rename, so
// a reader never sees half an answer).
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { constants } from 'node:fs';
import { OutputError, UsageError, type OutStream } from '../types.ts';
import { RefusedFileError } from './safe-files.ts';

export interface LineSink {
  /**
   * Writes one whole line; calls are serialised in order, and each resolves once its line is
   * written (a slow reader slows the batch). Rejects with OutputError when nothing more can be written.
   */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

export interface JsonlFile extends LineSink {
  /** Bytes of a torn last line (from a run that was killed mid-write) removed on opening. */
  repaired: number;
}

const TAIL_BLOCK = 64 * 1024;

/**
 * Where the last whole line of a file ends: the offset just past its last newline, or 0. Reads
 * backwards from the end in blocks, so a large results file costs one block to check.
 */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(TAIL_BLOCK);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - TAIL_BLOCK);
    const { bytesRead } = await handle.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

function isWholeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** How every record imgdesc writes begins (the image is its first field). */
const RECORD_START = '{"image":';
/** Text that begins like a record, or is the start of one cut short. */
const isRecordStart = (text: string) => text.startsWith(RECORD_START) || RECORD_START.startsWith(text);

/**
 * Appends to a results file. A last line without its newline is ended when it is a whole record,
 * and removed when it is a torn record (`{"image":"a.jpg","ok":t`), so the file stays valid JSON
 * lines for jq and for resume. A line that cannot be written whole (disk full) is cut back off the
 * file, and every later write rejects with the same OutputError, naming the file as `shown`.
 *
 * A regular file (`stream` false) is opened without following a link, and must be imgdesc's own:
 * empty, or starting with a record; a last line that is not a record is never removed (UsageError).
 */
export async function openJsonlFile(path: string, shown: string = path, stream = false): Promise<JsonlFile> {
  const handle = stream
    ? await open(path, 'a+')
    : await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o666).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ELOOP') throw new RefusedFileError(`-o ${shown} is a symbolic link; imgdesc does not write through links`);
          throw err;
        },
      );
  let size = (await handle.stat()).size;
  let failed: OutputError | undefined;
  const fail = async (err: unknown, keep: number): Promise<never> => {
    await handle.truncate(keep).catch(() => undefined);
    size = keep;
    failed ??= err instanceof OutputError ? err : new OutputError(shown, err);
    throw failed;
  };
  let repaired = 0;
  try {
    if (size > 0 && !stream) {
      const head = Buffer.alloc(Math.min(size, RECORD_START.length));
      await handle.read(head, 0, head.length, 0);
      if (!isRecordStart(head.toString('utf8')))
        throw new UsageError(`-o ${shown}: not imgdesc's results (it does not begin with a record); refusing to append to it`, {
          hint: 'give -o a new file, or the results file of an earlier run',
        });
    }
    if (size > 0) {
      const end = await endOfLastLine(handle, size);
      if (end < size) {
        const tail = Buffer.alloc(size - end);
        await handle.read(tail, 0, tail.length, end);
        const text = tail.toString('utf8');
        if (isWholeJson(text)) {
          await writeAll(handle, Buffer.from('\n')).catch((err: unknown) => fail(err, size));
          size++;
        } else if (!stream && !isRecordStart(text)) {
          // Torn-line repair removes only a partial record of ours, never someone else's text.
          throw new UsageError(`-o ${shown}: its last line is not an imgdesc record; the file was not touched`, {
            hint: 'end it with a newline or remove that line, or give -o a new file',
          });
        } else {
          await handle.truncate(end);
          repaired = size - end;
          size = end;
        }
      }
    }
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  let chain: Promise<void> = Promise.resolve();
  return {
    repaired,
    write(line) {
      const buf = Buffer.from(line.endsWith('\n') ? line : line + '\n');
      chain = chain.then(async () => {
        if (failed) throw failed;
        const before = size;
        try {
          await writeAll(handle, buf);
          size += buf.length;
        } catch (err) {
          await fail(err, before);
        }
      });
      return chain;
    },
    async close() {
      await chain.catch(() => undefined);
      await handle.close();
    },
  };
}

async function writeAll(handle: FileHandle, buf: Buffer): Promise<void> {
  // One write(2) for a line in practice; the loop only matters for a short write (disk full).
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await handle.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/**
 * JSON lines to a stream (stdout). Each line is one write; when the stream's buffer is full (a
 * slow reader on a pipe) the next line waits until it has been taken, so nothing piles up in
 * memory or is lost at exit. A failed write rejects this and every later line with OutputError.
 */
export function streamSink(stream: OutStream, shown = 'stdout', before?: () => void, after?: () => void): LineSink {
  let failed: OutputError | undefined;
  return {
    async write(line) {
      if (failed) throw failed;
      before?.();
      let settle!: () => void;
      const written = new Promise<void>((resolve) => (settle = resolve));
      const ready = stream.write(line.endsWith('\n') ? line : line + '\n', (err) => {
        if (err) failed ??= new OutputError(shown, err);
        settle();
      });
      after?.();
      if (!ready) await written;
      if (failed) throw failed;
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Writes `text` (a string, or chunks of one) to `path` atomically: a hidden temp file beside it,
 * then rename. On any failure the temp file is removed, so an interrupted batch leaves either the
 * old file, the new one, or none.
 */
export async function writeFileAtomic(path: string, text: string | Iterable<string>, opts: { mode?: number } = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx', 0o666);
    // A file that replaces another keeps its permissions (the umask would decide otherwise).
    if (opts.mode !== undefined) await handle.chmod(opts.mode);
    for (const chunk of typeof text === 'string' ? [text] : text) await writeAll(handle, Buffer.from(chunk));
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

const TEMP_SUFFIX = '.tmp';
/** Our temp files: `.photo.txt.0123456789ab.tmp`. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** Older than this, a temp file's writer is gone (a write takes milliseconds). */
const STALE_TEMP_MS = 60_000;

/**
 * Removes temp files that a run killed mid-write (kill -9, a power cut) left in `dir`. Only ours,
 * by name, and only old ones: a batch running beside this one may be writing a fresh one.
 */
export async function removeStaleTemps(dir: string, now: number = Date.now()): Promise<number> {
  let removed = 0;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (
      st?.isFile() &&
      now - st.mtimeMs > STALE_TEMP_MS &&
      (await unlink(p).then(
        () => true,
        () => false,
      ))
    )
      removed++;
  }
  return removed;
}
