// `imgdesc merge <parts...>`: the parts a job array wrote → one record per image, and, given the
// same inputs, which images no part has (by shard, so the right array tasks can be run again).
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode, UsageError } from '../types.ts';
import { visible } from '../safe-text.ts';
import { checkSource, listSource } from './items.ts';
import type { Factory } from './factory.ts';
import type { merge } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc merge` takes: its parts, the batch's inputs and flags (commands.ts). */
export type MergeOptions = OptionsOf<typeof merge>;

/** How many missing names are listed without -v. */
const LISTED = 10;

export async function run(o: MergeOptions, f: Factory): Promise<number> {
  const { io, term } = f;
  if (o.parts.length === 0)
    throw new UsageError('no parts: give the JSON lines files the shards wrote', { hint: "imgdesc merge 'captions-*.jsonl' -o all.jsonl" });
  const hasSource = o.inputs.length > 0 || o.filesFrom !== undefined || o.manifest !== undefined;
  if (hasSource || o.imageCol !== undefined || o.idCol !== undefined || o.keepCols !== undefined || o.nul) checkSource(o, 'merge');
  let count: number | undefined;
  if (o.shardCount !== undefined) {
    const { parseShardCount } = await import('../core/shard.ts');
    count = parseShardCount(o.shardCount, `--shard-count ${o.shardCount}`);
  }

  // Oldest first, so that of two ok records of one image the newer one is kept.
  const parts = await Promise.all(
    o.parts.map(async (p, i) => {
      const st = await stat(resolve(io.cwd, p)).catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`${p}: cannot read (${err.code ?? err.message})`);
      });
      if (!st.isFile()) throw new UsageError(`${p}: not a file`);
      return { path: resolve(io.cwd, p), mtime: st.mtimeMs, i };
    }),
  );
  parts.sort((a, b) => a.mtime - b.mtime || a.i - b.i);

  const { Merged, readPart, recordLines, countByShard } = await import('../core/merge.ts');
  const merged = new Merged(io.cwd);
  for (const p of parts) await readPart(p.path, merged);
  // Listed after the parts are read: `--manifest -` and the parts never compete for stdin.
  const listed = hasSource ? await listSource(o, io) : undefined;

  if (o.output !== undefined) {
    const { writeFileAtomic } = await import('../core/batch-output.ts');
    await writeFileAtomic(resolve(io.cwd, o.output), recordLines(merged.records.values())).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`-o ${o.output}: cannot write (${err.code ?? err.message})`);
    });
  } else {
    const { streamSink } = await import('../core/batch-output.ts');
    const sink = streamSink(io.stdout);
    for (const chunk of recordLines(merged.records.values())) await sink.write(chunk);
  }

  const ok = merged.ok;
  const failed = merged.records.size - ok;
  if (merged.torn > 0) term.warn(`ignored ${merged.torn} incomplete line(s)`);
  let short = failed > 0;
  if (!f.run.quiet) {
    term.note(
      `${merged.records.size} image(s) from ${merged.read} record(s) in ${parts.length} part(s): ${ok} ok, ${failed} failed` +
        (o.output !== undefined ? ` → ${o.output}` : ''),
    );
  }
  if (listed) {
    const missing = await merged.missingImages(listed.items, count);
    if (missing.length > 0) {
      short = true;
      const byShard = countByShard(missing);
      term.error(
        `${missing.length} of ${listed.items.length} listed image(s) are missing from every part` +
          (byShard.length ? `; by shard: ${byShard.map(([s, n]) => `${s} (${n})`).join(', ')}` : ''),
        byShard.length ? `run those array tasks again: --shard i/${count}` : 'add --shard-count N to see which shards they belong to',
      );
      const shown = f.run.verbose ? missing : missing.slice(0, LISTED);
      for (const m of shown) term.note(`  ${visible(m.item.image)}${m.shard !== undefined ? `  (shard ${m.shard})` : ''}`);
      if (shown.length < missing.length) term.note(`  … and ${missing.length - shown.length} more (-v lists them all)`);
    } else if (!f.run.quiet) term.note(`no image is missing (${listed.items.length} listed)`);
  } else if (count !== undefined) {
    const silent = merged.silentShards(count);
    if (silent.length > 0) {
      short = true;
      term.error(
        `no records from shard(s) ${silent.join(', ')} of ${count}`,
        'give the same inputs (--input or --manifest) to list the missing images',
      );
    }
  }
  return short ? ExitCode.partial : ExitCode.ok;
}
