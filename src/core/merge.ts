// Merge: the parts written by the shards of a job array (and by reruns of failed tasks) → one
// record per image. Records are fed oldest first; a later one replaces an earlier one unless that
// would put a failure in place of a success. Given the same inputs, it says which images no part has.
import { open } from 'node:fs/promises';
import { linesOrOverlong, MAX_RECORD_BYTES } from '../read-capped.ts';
import { resumeKey, type BatchItem } from './batch-inputs.ts';
import { parseRecord, recordKey, type RecordLine } from './batch-resume.ts';
import { shardOf } from './shard.ts';

/** Whether a newer record replaces the one kept so far: an ok always does; a failure only replaces a failure. */
export function replaces(newer: { ok?: unknown }, older: { ok?: unknown }): boolean {
  return newer.ok === true || older.ok !== true;
}

export class Merged {
  /** Kept records by key, in the order each image was first seen. */
  readonly records = new Map<string, RecordLine>();
  read = 0;
  torn = 0;
  constructor(private readonly cwd: string) {}

  add(rec: RecordLine): void {
    this.read++;
    const key = recordKey(rec, this.cwd);
    const kept = this.records.get(key);
    if (kept === undefined || replaces(rec, kept)) this.records.set(key, rec);
  }

  addLine(line: string): void {
    if (line.trim() === '') return;
    const rec = parseRecord(line);
    if (rec === undefined) this.torn++;
    else this.add(rec);
  }

  get ok(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.ok === true) n++;
    return n;
  }

  /** The images of the list that no part has a record of, each with its shard when the count is known. */
  missing(items: readonly BatchItem[], shardCount: number | undefined): Array<{ item: BatchItem; shard: number | undefined }> {
    const out: Array<{ item: BatchItem; shard: number | undefined }> = [];
    for (const item of items) {
      if (this.records.has(resumeKey(item))) continue;
      out.push({ item, shard: shardCount === undefined ? undefined : shardOf(item.shardKey ?? item.image, shardCount) });
    }
    return out;
  }

  /**
   * The missing images less the non-images found in folders or by globs, which batch skips
   * without a record (a named file that is not an image is recorded as a failure).
   */
  async missingImages(
    items: readonly BatchItem[],
    shardCount: number | undefined,
  ): Promise<Array<{ item: BatchItem; shard: number | undefined }>> {
    const { isImageOrFailure } = await import('../image/index.ts');
    const out = [];
    for (const m of this.missing(items, shardCount)) {
      if (m.item.explicit || m.item.url || (await isImageOrFailure(m.item.key))) out.push(m);
    }
    return out;
  }

  /** Shards (of `count`) that wrote no record at all, from the records' "shard" fields. */
  silentShards(count: number): number[] {
    const seen = new Set<unknown>();
    for (const r of this.records.values()) seen.add(r.shard);
    return Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  }
}

/** Reads one part into the merge, line by line. */
export async function readPart(path: string, merged: Merged): Promise<void> {
  const handle = await open(path, 'r');
  try {
    // A line past the cap is no record imgdesc wrote: counted as torn, never held whole.
    for await (const line of linesOrOverlong(handle.createReadStream({ autoClose: false }), { maxLine: MAX_RECORD_BYTES })) {
      if (typeof line === 'string') merged.addLine(line);
      else merged.torn++;
    }
  } finally {
    await handle.close();
  }
}

/** `shard 2: 12, shard 3: 1` — missing images counted by shard, in shard order. */
export function countByShard(missing: ReadonlyArray<{ shard: number | undefined }>): Array<[number, number]> {
  const counts = new Map<number, number>();
  for (const m of missing) if (m.shard !== undefined) counts.set(m.shard, (counts.get(m.shard) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]);
}

/** The merged records as JSON lines, in chunks of about a megabyte (for writeFileAtomic). */
export function* recordLines(records: Iterable<RecordLine>): Generator<string> {
  let chunk = '';
  for (const r of records) {
    chunk += JSON.stringify(r) + '\n';
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
