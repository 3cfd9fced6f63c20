// Resume: what an earlier run of the same batch already recorded in its -o file.
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { linesOrOverlong, MAX_RECORD_BYTES } from '../read-capped.ts';
import { isRemote, resumeKey } from './batch-inputs.ts';
import { nestsDeeper } from '../json-depth.ts';

/** Images recorded ok, by absolute path (or manifest id) → the content hashes recorded for it. */
export class ResumeIndex {
  private readonly ok = new Map<string, Set<string | null>>();
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
    this.records++;
    if (r.ok !== true) return;
    const key = recordKey(r, cwd);
    let hashes = this.ok.get(key);
    if (!hashes) this.ok.set(key, (hashes = new Set()));
    hashes.add(typeof r.sha256 === 'string' ? r.sha256 : null);
  }

  /** Done already: the same path with the same bytes (for URLs, which have no hash: the same URL). */
  isDone(key: string, sha256: string | null): boolean {
    const hashes = this.ok.get(key);
    if (!hashes) return false;
    return hashes.has(sha256);
  }

  /** Whether this path was recorded ok at all (to decide if hashing it is worth it). */
  has(key: string): boolean {
    return this.ok.has(key);
  }

  get size(): number {
    return this.ok.size;
  }
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

/** Reads an existing results file line by line (it may be large); a missing file is an empty index. */
export async function readResumeIndex(path: string, cwd: string): Promise<ResumeIndex> {
  const idx = new ResumeIndex();
  let stream;
  try {
    const handle = await open(path, 'r');
    stream = handle.createReadStream();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return idx;
    throw err;
  }
  // A line past the cap is no record imgdesc wrote: counted as torn, never held whole.
  for await (const line of linesOrOverlong(stream, { maxLine: MAX_RECORD_BYTES })) {
    if (typeof line === 'string') idx.addLine(line, cwd);
    else idx.torn++;
  }
  return idx;
}
