// Resume: what an earlier run of the same batch already recorded in its -o file.
//
// An ok record names its file's size and modification time as they were just before it was read
// (`size`, `mtime_ms`). A rerun that finds the file with the same size and time skips it without
// opening it; only when they differ (or the record has none: older records, URLs, files changed
// moments before they were read) is the file read and matched by its sha256, as before.
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { linesOrOverlong, MAX_RECORD_BYTES } from '../read-capped.ts';
import { isRemote, resumeKey } from './batch-inputs.ts';
import { nestsDeeper } from '../json-depth.ts';

/** A file's size and modification time (whole ms), as an ok record names them. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * How long a file must have stood unchanged before its time is recorded. A file system that keeps
 * times in whole seconds (or two, FAT) gives a change made in the same second the same time, so a
 * file read within that window could change again unseen: its record names no time, and a rerun
 * reads it (git's "racy" entries, the same cure).
 */
export const SETTLED_MS = 2000;

/** What to record of a file stat'ed at `now`: its stamp, or undefined when it changed too recently to trust. */
export function stampToRecord(st: { size: number; mtimeMs: number } | null, now: number): FileStamp | undefined {
  if (st === null) return undefined;
  const mtimeMs = Math.floor(st.mtimeMs);
  // a time in the future (a clock ahead, a copy from such a machine) is no settled time either
  if (now - mtimeMs < SETTLED_MS) return undefined;
  return { size: st.size, mtimeMs };
}

/** One ok record as resume keeps it: the bytes it described, and the file's stamp when it names one. */
export interface DoneRecord {
  sha256: string | null;
  stamp?: FileStamp | undefined;
  /** For a record named by a manifest id: the image as named there (the id may move to another file). */
  image?: string | undefined;
}

/**
 * Whether an image is done by its records alone, without reading it: an ok record names the same
 * size and modification time as the file has now (and, for a manifest id, the same image). Anything
 * else (no stamp, a file that cannot be stat'ed, a size or time that differs) means read it.
 */
export function resumeByRecord(
  records: readonly DoneRecord[] | undefined,
  file: { image: string; stamp: FileStamp | null },
): 'skip' | 'read' {
  const now = file.stamp;
  if (!records || now === null) return 'read';
  for (const r of records) {
    if (r.stamp === undefined || (r.image !== undefined && r.image !== file.image)) continue;
    if (r.stamp.size === now.size && r.stamp.mtimeMs === now.mtimeMs) return 'skip';
  }
  return 'read';
}

/** Images recorded ok, by absolute path (or manifest id) → what each ok record says of them. */
export class ResumeIndex {
  // One record per image is the rule (an array only when a file was redone): 100,000 of them stay small.
  private readonly ok = new Map<string, DoneRecord | DoneRecord[]>();
  /** Lines that were not whole JSON records (a torn last line from a crash). */
  torn = 0;
  records = 0;

  /** Adds one line of a results file; anything that is not a whole record is counted and ignored. */
  addLine(line: string, cwd: string): void {
    if (line.trim() === '') return;
    const r = parseRecord(line);
    if (r === undefined) {
      this.torn++;
      return;
    }
    this.add(r, cwd);
  }

  /** Adds one whole record. */
  add(r: RecordLine, cwd: string): void {
    this.records++;
    if (r.ok !== true) return;
    const key = recordKey(r, cwd);
    // one shape for every record, so that 100,000 of them are made and kept cheaply
    const done: DoneRecord = {
      sha256: typeof r.sha256 === 'string' ? r.sha256 : null,
      stamp: recordedStamp(r),
      image: typeof r.id === 'string' ? r.image : undefined,
    };
    const had = this.ok.get(key);
    if (had === undefined) this.ok.set(key, done);
    else if (Array.isArray(had)) had.push(done);
    else this.ok.set(key, [had, done]);
  }

  private recordsOf(key: string): readonly DoneRecord[] | undefined {
    const had = this.ok.get(key);
    return had === undefined ? undefined : Array.isArray(had) ? had : [had];
  }

  /** Done already: the same path with the same bytes (for URLs, which have no hash: the same URL). */
  isDone(key: string, sha256: string | null): boolean {
    return this.recordsOf(key)?.some((r) => r.sha256 === sha256) ?? false;
  }

  /** Done by its records' size and time alone (resumeByRecord), so it need not be read. */
  doneByRecord(key: string, image: string, stamp: FileStamp | null): boolean {
    return resumeByRecord(this.recordsOf(key), { image, stamp }) === 'skip';
  }

  /** Whether this path was recorded ok at all (to decide if hashing it is worth it). */
  has(key: string): boolean {
    return this.ok.has(key);
  }

  get size(): number {
    return this.ok.size;
  }
}

/** The stamp an ok record names, when it names a whole one. */
function recordedStamp(r: RecordLine): FileStamp | undefined {
  const { size, mtime_ms: mtimeMs } = r;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof mtimeMs !== 'number' || !Number.isSafeInteger(mtimeMs)) return undefined;
  return { size, mtimeMs };
}

/** A whole record line (an object with an "image"), or undefined for a torn or foreign line. */
export function parseRecord(line: string): RecordLine | undefined {
  // Not a line imgdesc wrote, and merge would overflow the stack writing it out again.
  if (nestsDeeper(line)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as RecordLine).image !== 'string') return undefined;
  return v as RecordLine;
}

export interface RecordLine {
  image: string;
  id?: unknown;
  ok?: unknown;
  sha256?: unknown;
  size?: unknown;
  mtime_ms?: unknown;
  [field: string]: unknown;
}

/** The identity of a record in resume and merge: its manifest id, else its path (absolute) or URL. */
export function recordKey(rec: { image: string; id?: unknown }, cwd: string): string {
  if (typeof rec.id === 'string') return resumeKey({ id: rec.id, key: '' });
  return isRemote(rec.image) ? rec.image : resolve(cwd, rec.image);
}

export function indexFromText(text: string, cwd: string): ResumeIndex {
  const idx = new ResumeIndex();
  for (const line of text.split('\n')) idx.addLine(line, cwd);
  return idx;
}

/**
 * Reads an existing results file line by line (it may be large); a missing file is an empty index.
 * `signal` stops the reading (InterruptedError).
 */
export async function readResumeIndex(path: string, cwd: string, signal?: AbortSignal): Promise<ResumeIndex> {
  const idx = new ResumeIndex();
  let stream;
  try {
    const handle = await open(path, 'r');
    // big reads: a results file of 100,000 records is 80 MB
    stream = handle.createReadStream({ highWaterMark: 1 << 20 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return idx;
    throw err;
  }
  // A line past the cap is no record imgdesc wrote: counted as torn, never held whole.
  for await (const line of linesOrOverlong(stream, { maxLine: MAX_RECORD_BYTES, signal })) {
    if (typeof line === 'string') idx.addLine(line, cwd);
    else idx.torn++;
  }
  return idx;
}
