// Where batch results go: JSON lines (one write per line, so lines never tear) and sidecar files
// (temp file in the same folder + rename, so a reader never sees half an answer).
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface LineSink {
  /** Writes one whole line; calls are serialised in order. */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** Appends to a results file. A torn last line left by a crash is closed with a newline first. */
export async function openJsonlFile(path: string): Promise<LineSink> {
  const handle = await open(path, 'a+');
  const { size } = await handle.stat();
  if (size > 0) {
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await writeAll(handle, Buffer.from('\n'));
  }
  let chain: Promise<void> = Promise.resolve();
  return {
    write(line) {
      const buf = Buffer.from(line.endsWith('\n') ? line : line + '\n');
      chain = chain.then(() => writeAll(handle, buf));
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

/** JSON lines to a stream (stdout): each line is one write call. */
export function streamSink(stream: { write(chunk: string): boolean }, before?: () => void, after?: () => void): LineSink {
  return {
    write(line) {
      before?.();
      stream.write(line.endsWith('\n') ? line : line + '\n');
      after?.();
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Writes `text` (a string, or chunks of one) to `path` atomically: a hidden temp file beside it,
 * then rename. On any failure the temp file is removed, so an interrupted batch leaves either the
 * old file, the new one, or none.
 */
export async function writeFileAtomic(path: string, text: string | Iterable<string>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx', 0o666);
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
