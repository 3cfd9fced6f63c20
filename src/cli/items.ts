// The list of images a batch works on, and its shard: shared by `batch` (what to do) and
// `merge` (what should be there), so both see the same list from the same inputs.
import { resolve } from 'node:path';
import type { BatchItem } from '../core/batch-inputs.ts';
import type { Shard } from '../core/shard.ts';
import { InterruptedError, UsageError, type IO } from '../types.ts';
import { ReadCapError, readFileCapped, readStreamCapped } from '../read-capped.ts';

/** Where the images come from: inputs and --files-from, or a --manifest. */
export interface SourceOptions {
  inputs: string[];
  recursive: boolean;
  filesFrom: string | undefined;
  nul: boolean;
  manifest: string | undefined;
  imageCol: string | undefined;
  idCol: string | undefined;
  /** --keep-cols a,b as given. */
  keepCols: string | undefined;
  /** --image-root DIR and --allow-outside-root (batch and map; merge reads no image). */
  imageRoot?: string | undefined;
  allowOutsideRoot?: boolean | undefined;
}

const MAX_LIST_BYTES = 64 * 1024 * 1024;

/** All of stdin as text, refused past `max` bytes with `tooLarge` (a list, a prompt, a token). */
export async function readStdinText(io: IO, max: number, tooLarge: string): Promise<string> {
  try {
    return (await readStreamCapped(io.stdin, { max, signal: io.signal })).toString('utf8');
  } catch (err) {
    if (err instanceof ReadCapError) throw new UsageError(tooLarge);
    throw err;
  }
}

async function readList(source: string, io: IO): Promise<string> {
  if (source === '-') {
    if (io.stdinIsTTY)
      throw new UsageError('--files-from -: stdin is a terminal', {
        hint: 'pipe the list in, e.g. find photos -name "*.jpg" -print0 | imgdesc batch --files-from - -0',
      });
    return readStdinText(io, MAX_LIST_BYTES, '--files-from -: the list is larger than 64 MiB');
  }
  try {
    return (await readFileCapped(resolve(io.cwd, source), { max: MAX_LIST_BYTES, signal: io.signal })).toString('utf8');
  } catch (err) {
    if (err instanceof ReadCapError) throw new UsageError(`--files-from ${source}: the list is larger than 64 MiB`);
    if (err instanceof InterruptedError) throw err;
    throw new UsageError(`--files-from ${source}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** --keep-cols `a, b` → ['a', 'b']. */
export function parseKeepCols(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const cols = text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  return cols;
}

/** Usage errors of the source options, before anything is read. */
export function checkSource(o: SourceOptions, command: string): void {
  if (o.nul && o.filesFrom === undefined) throw new UsageError('-0 goes with --files-from');
  if (o.manifest !== undefined) {
    if (o.inputs.length > 0 || o.filesFrom !== undefined)
      throw new UsageError('--manifest takes the place of inputs and --files-from: give one or the other');
    if (o.recursive) throw new UsageError('-r goes with folders, not --manifest');
    return;
  }
  for (const [flag, v] of [
    ['--image-col', o.imageCol],
    ['--id-col', o.idCol],
    ['--keep-cols', o.keepCols],
    ['--image-root', o.imageRoot],
    ['--allow-outside-root', o.allowOutsideRoot ? true : undefined],
  ] as const) {
    if (v !== undefined) throw new UsageError(`${flag} goes with --manifest`);
  }
  if (o.inputs.length === 0 && o.filesFrom === undefined) {
    throw new UsageError('no inputs: give files, folders or quoted globs, --files-from or --manifest', {
      hint: `imgdesc ${command} photos/ -r, or imgdesc ${command} 'photos/**/*.jpg'`,
    });
  }
}

export interface Listed {
  items: BatchItem[];
  /** Rows dropped as repeats of an earlier one (manifests). */
  duplicates: number;
}

/** Lists every image of the source (all shards). */
export async function listSource(o: SourceOptions, io: IO): Promise<Listed> {
  if (o.manifest !== undefined) {
    if (o.manifest === '-' && io.stdinIsTTY)
      throw new UsageError('--manifest -: stdin is a terminal', { hint: 'pipe the rows in, or name the file' });
    const { readManifest } = await import('../core/manifest.ts');
    const m = await readManifest(
      o.manifest,
      {
        imageCol: o.imageCol,
        idCol: o.idCol,
        keepCols: parseKeepCols(o.keepCols),
        imageRoot: o.imageRoot,
        allowOutside: o.allowOutsideRoot,
      },
      io.cwd,
      io.stdin,
      io.signal,
    );
    return { items: m.items, duplicates: m.duplicates };
  }
  const { expandInputs } = await import('../core/batch-inputs.ts');
  const list = o.filesFrom !== undefined ? await readList(o.filesFrom, io) : undefined;
  return { items: await expandInputs(o.inputs, { cwd: io.cwd, recursive: o.recursive, filesFrom: list, nul: o.nul }), duplicates: 0 };
}

/** The items of one shard, in list order. */
export async function shardItems(items: BatchItem[], shard: Shard | undefined): Promise<BatchItem[]> {
  if (shard === undefined) return items;
  const { shardOf } = await import('../core/shard.ts');
  return items.filter((item) => shardOf(item.shardKey ?? item.image, shard.count) === shard.index);
}
