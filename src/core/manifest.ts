// Manifests: the tables img2dataset-style datasets already have (JSON lines or CSV/TSV), one image
// per row, as batch input (`--manifest`) and as the rows `imgdesc map` reads from stdin.
// A row names its image by a path relative to the manifest, an http(s) URL or a data: URL; an id
// column names the result; the other columns travel into the result record under "row".
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { linesCapped, openCapped, ReadCapError } from '../read-capped.ts';
import { InterruptedError, UsageError } from '../types.ts';
import { MAX_JSON_DEPTH, nestsDeeper } from '../json-depth.ts';
import { isRemote, resumeKey, type BatchItem } from './batch-inputs.ts';
import { shardKey } from './shard.ts';

export type ManifestFormat = 'jsonl' | 'csv' | 'tsv';

/**
 * The longest row read, in bytes: a manifest row names one image and a few columns. A longer one
 * (a gigabyte line in a small .jsonl.gz) is refused when the cap is reached, not after.
 */
export const MAX_ROW_BYTES = 1024 * 1024;

/** One line for a row past MAX_ROW_BYTES. */
export function rowTooLong(label: string, line: number | undefined): UsageError {
  return new UsageError(`${label}${line === undefined ? '' : `:${line}`}: a row longer than 1 MiB; is this a manifest?`);
}

export interface ManifestSpec {
  /** The column holding the image; default: the first of IMAGE_COLUMNS the table has. */
  imageCol?: string | undefined;
  /** A column with a unique id per row: results are named and merged by it. */
  idCol?: string | undefined;
  /** Columns carried into "row"; default: every column but the image and id columns. */
  keepCols?: string[] | undefined;
  /** --image-root: relative paths are joined to this folder (default: the manifest's), and must stay in it. */
  imageRoot?: string | undefined;
  /** --allow-outside-root: rows may name files anywhere (absolute paths, `..`, links out). */
  allowOutside?: boolean | undefined;
}

/** Column names tried, in order, when --image-col is not given. */
export const IMAGE_COLUMNS = ['image', 'url', 'path', 'file', 'filepath', 'image_path', 'image_url'];

export type Row = Record<string, unknown>;

/** Where a manifest's rows come from: relative image paths are resolved against its folder. */
export interface ManifestPlace {
  /** What messages call it: the path as given, or `stdin`. */
  label: string;
  /** Its folder as given (`data` for `data/rows.csv`, `.` for stdin), joined to relative image paths. */
  dir: string;
  cwd: string;
}

export function manifestPlace(source: string, cwd: string): ManifestPlace {
  return source === '-' ? { label: 'stdin', dir: '.', cwd } : { label: source, dir: dirname(source), cwd };
}

/** The format from the name, else from the first character (`{` is JSON lines). */
export function manifestFormat(name: string, firstChar: string | undefined): ManifestFormat {
  const ext = extname(name.replace(/\.gz$/i, '')).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  return firstChar === '{' ? 'jsonl' : 'csv';
}

/** The image column of a table with these columns, or a usage error that lists them. */
export function imageColumn(columns: readonly string[], spec: ManifestSpec, label: string): string {
  if (spec.imageCol !== undefined) {
    if (!columns.includes(spec.imageCol))
      throw new UsageError(`${label}: no column ${JSON.stringify(spec.imageCol)} (columns: ${columns.join(', ') || 'none'})`);
    return spec.imageCol;
  }
  const found = IMAGE_COLUMNS.find((c) => columns.includes(c));
  if (found === undefined) {
    throw new UsageError(`${label}: which column holds the image? (columns: ${columns.join(', ') || 'none'})`, {
      hint: 'name it with --image-col',
    });
  }
  return found;
}

export function checkColumns(columns: readonly string[], spec: ManifestSpec, label: string): void {
  for (const [flag, cols] of [
    ['--id-col', spec.idCol === undefined ? [] : [spec.idCol]],
    ['--keep-cols', spec.keepCols ?? []],
  ] as const) {
    for (const c of cols) {
      if (!columns.includes(c)) throw new UsageError(`${label}: ${flag} ${c}: no such column (columns: ${columns.join(', ')})`);
    }
  }
}

/** A row's columns that go into the record's "row". */
export function keptColumns(row: Row, spec: ManifestSpec, imageCol: string): Row {
  const out: Row = {};
  const names = spec.keepCols ?? Object.keys(row).filter((k) => k !== imageCol && k !== spec.idCol);
  for (const k of names) if (Object.hasOwn(row, k)) out[k] = row[k];
  return out;
}

/**
 * One row → one item, or the reason it names no image. Relative paths are joined to the
 * manifest's folder, so results name images as a folder batch would (relative to the cwd); the
 * shard key is the manifest's own value (or the id), the same on every machine.
 */
export type RowResult = { item: BatchItem } | { problem: string };

export function rowItem(row: Row, line: number, spec: ManifestSpec, imageCol: string, place: ManifestPlace): RowResult {
  const value = row[imageCol];
  const where = `${place.label}:${line}`;
  if (typeof value !== 'string' || value.trim() === '') return { problem: `${where}: no image in column ${JSON.stringify(imageCol)}` };
  if (value.trim() === '-') return { problem: `${where}: - (stdin) cannot be a row's image` };
  let id: string | undefined;
  if (spec.idCol !== undefined) {
    const v = row[spec.idCol];
    if ((typeof v !== 'string' && typeof v !== 'number') || String(v) === '')
      return { problem: `${where}: no id in column ${JSON.stringify(spec.idCol)}` };
    id = String(v);
  }
  const meta = { row: keptColumns(row, spec, imageCol), ...(id !== undefined ? { id } : {}) };
  if (isRemote(value)) return { item: { image: value, key: value, explicit: true, url: true, shardKey: id ?? value, ...meta } };
  if (/^data:/i.test(value)) {
    // Not a name anyone wants in a results file: the row is named by where it is.
    const label = id ?? where;
    return {
      item: { image: label, key: resolve(place.cwd, label), source: value, explicit: true, url: true, shardKey: id ?? where, ...meta },
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    return { problem: `${where}: ${value.split('/')[0]}// URLs are not supported (http, https, data: or a path)` };
  // A manifest names files inside its dataset: the folder its relative paths start from. The flow
  // checks each path (links resolved) against it before anything is read or written.
  const base = spec.imageRoot ?? place.dir;
  const image = isAbsolute(value) ? value : join(base, value);
  const confine = spec.allowOutside ? {} : { confine: { root: resolve(place.cwd, base), row: where } };
  return {
    item: { image, key: resolve(place.cwd, image), explicit: true, url: false, shardKey: id ?? shardKey(value), ...meta, ...confine },
  };
}

/** Parses one JSON line of a manifest: an object, or a bare string taken as the image. */
export function parseJsonRow(text: string, imageCol: string | undefined): { row: Row } | { problem: string } {
  if (nestsDeeper(text)) return { problem: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${(err as Error).message.split('\n')[0]})` };
  }
  if (typeof v === 'string') return { row: { [imageCol ?? 'image']: v } };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { problem: 'not a JSON object' };
  return { row: v as Row };
}

export interface ManifestRead {
  items: BatchItem[];
  duplicates: number;
  rows: number;
}

async function* jsonlRows(input: Readable, label: string, signal: AbortSignal | undefined): AsyncGenerator<{ row: Row; line: number }> {
  let line = 0;
  try {
    for await (const text of linesCapped(input, { maxLine: MAX_ROW_BYTES, signal })) {
      line++;
      if (text.trim() === '') continue;
      const r = parseJsonRow(text, undefined);
      if ('problem' in r) throw new UsageError(`${label}:${line}: ${r.problem}`);
      yield { row: r.row, line };
    }
  } catch (err) {
    if (err instanceof ReadCapError) throw rowTooLong(label, err.line);
    if (err instanceof UsageError || err instanceof InterruptedError) throw err;
    throw new UsageError(`${label}: cannot read (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
}

async function* csvRows(
  input: Readable,
  delimiter: string,
  label: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ row: Row; line: number }> {
  const { parse } = await import('csv-parse');
  const parser = input.pipe(
    parse({
      columns: true,
      bom: true,
      delimiter,
      skip_empty_lines: true,
      info: true,
      relax_column_count: false,
      max_record_size: MAX_ROW_BYTES,
    }),
  );
  const onAbort = (): void => {
    parser.destroy(new InterruptedError());
    input.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const rec of parser as AsyncIterable<{ record: Row; info: { lines: number } }>)
      yield { row: rec.record, line: rec.info.lines };
  } catch (err) {
    if (signal?.aborted) throw signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
    if ((err as { code?: string }).code === 'CSV_MAX_RECORD_SIZE') throw rowTooLong(label, undefined);
    throw new UsageError(`${label}: not a valid ${delimiter === '\t' ? 'TSV' : 'CSV'} table (${(err as Error).message.split('\n')[0]})`, {
      cause: err,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The first character of a stream that is not white space, and the stream with nothing lost. */
async function peek(input: Readable): Promise<{ first: string | undefined; input: Readable }> {
  const { Readable: R } = await import('node:stream');
  // The iterator is stepped by hand: leaving a for-await loop early would destroy the stream.
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Array<Buffer | string> = [];
  let first: string | undefined;
  // Bounded: a head of nothing but white space is not kept past one row's worth.
  let held = 0;
  while (first === undefined && held <= MAX_ROW_BYTES) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    held += r.value.length;
    first = /\S/.exec(r.value.toString().replace(/^\uFEFF/, ''))?.[0];
  }
  async function* all() {
    yield* head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { first, input: R.from(all()) };
}

/**
 * Reads a whole manifest (a file, or `-` for stdin) into items. A missing column, an unparsable
 * table or a row that names no image is a usage error: nothing has been sent yet.
 */
export async function readManifest(
  source: string,
  spec: ManifestSpec,
  cwd: string,
  stdin: NodeJS.ReadableStream,
  signal?: AbortSignal,
): Promise<ManifestRead> {
  const place = manifestPlace(source, cwd);
  let stream: Readable;
  let release = (): void => undefined;
  if (source === '-') stream = stdin as Readable;
  else {
    let file: Readable;
    try {
      // Capped per row below, not in all: a manifest of millions of rows is fine. A FIFO with no
      // writer gives way on abort.
      const opened = openCapped(resolve(cwd, source), { max: Number.POSITIVE_INFINITY, signal });
      file = opened.stream as Readable;
      release = opened.release;
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      throw new UsageError(`--manifest ${source}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    await new Promise<void>((ok, fail) => {
      file.once('open', () => ok());
      file.once('error', (err: NodeJS.ErrnoException) =>
        fail(signal?.aborted ? new InterruptedError() : new UsageError(`--manifest ${source}: cannot read (${err.code ?? err.message})`)),
      );
    }).finally(release);
    if (signal?.aborted) {
      file.destroy();
      throw signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
    }
    stream = file;
    // the readers below stop what they read; the file under a gunzip stops with it
    signal?.addEventListener('abort', () => file.destroy(), { once: true });
    if (/\.gz$/i.test(source)) {
      const { createGunzip } = await import('node:zlib');
      const gunzip = createGunzip();
      gunzip.once('error', () => undefined); // reported by the reader below, as a bad table
      // the gunzip's output is what the row cap bounds
      stream = file.pipe(gunzip);
    }
  }
  const { first, input } = await peek(stream).catch((err: Error) => {
    if (signal?.aborted) throw signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
    throw new UsageError(`--manifest ${source}: cannot read (${err.message.split('\n')[0]})`);
  });
  const format = manifestFormat(source === '-' ? '' : basename(source), first);
  const rows =
    format === 'jsonl' ? jsonlRows(input, place.label, signal) : csvRows(input, format === 'tsv' ? '\t' : ',', place.label, signal);

  const items: BatchItem[] = [];
  const seen = new Set<string>();
  let imageCol: string | undefined;
  let duplicates = 0;
  let count = 0;
  for await (const { row, line } of rows) {
    count++;
    if (imageCol === undefined) {
      const columns = Object.keys(row);
      imageCol = imageColumn(columns, spec, place.label);
      // JSON lines may differ row to row; a CSV header is checked once here.
      if (format !== 'jsonl') checkColumns(columns, spec, place.label);
    }
    const r = rowItem(row, line, spec, imageCol, place);
    if ('problem' in r) throw new UsageError(r.problem);
    const k = resumeKey(r.item);
    if (seen.has(k)) {
      duplicates++;
      continue;
    }
    seen.add(k);
    items.push(r.item);
  }
  return { items, duplicates, rows: count };
}
