// Where a batch's results go, behind one interface: each writer takes the caption of an answered
// image (sidecar file, XMP/embedded photo metadata, the folder's metadata.jsonl) and/or the record
// of every finished image (JSON lines). The flow calls them in order and names what they wrote in
// the record; what a writer does with a file is its own business.
import { isFatalWriteError, OutputError } from '../types.ts';
import type { BatchRecord } from './batch.ts';
import type { BatchItem } from './batch-inputs.ts';
import type { LineSink } from './batch-output.ts';
import { writeFileAtomic } from './batch-output.ts';
import { fileKind, readOwnFile, RefusedFileError, refusal } from './safe-files.ts';
import { mergeCaption, type ExistingMode } from './caption.ts';
import type { HfMetadataFiles } from './hf-metadata.ts';
import type { XmpNaming } from '../metadata/index.ts';
import { jsonSafe } from '../safe-text.ts';

/** One answered image's caption, as the writers get it. */
export interface CaptionJob {
  item: BatchItem;
  /** The answer as text (a schema's data as indented JSON). */
  text: string;
  /** --schema: the parsed data (an array with -n), else undefined. */
  data: unknown;
  structured: boolean;
  /** The image's detected type (exiftool picks sidecar or embedded by it). */
  sourceType: string;
  /** Its sidecar path, when --sidecar is on and it is a file. */
  sidecar: string | undefined;
}

/** What writers wrote, named in the image's record. */
export interface Written {
  metadata?: string | undefined;
  photo?: { where: 'sidecar' | 'embedded'; path: string } | undefined;
}

export interface BatchWriter {
  /** Writes an answered image's caption; resolves with what to name in its record. */
  caption?(job: CaptionJob): Promise<Written | undefined>;
  /** Writes a finished image's record (ok or failed), in the order records finish. */
  record?(rec: BatchRecord, item: BatchItem): Promise<void>;
}

/** Every writer's caption, in order; later writers' names add to earlier ones'. */
export async function writeCaption(writers: readonly BatchWriter[], job: CaptionJob): Promise<Written> {
  const all: Written = {};
  for (const w of writers) {
    const got = await w.caption?.(job);
    if (got?.metadata !== undefined) all.metadata = got.metadata;
    if (got?.photo !== undefined) all.photo = got.photo;
  }
  return all;
}

/** Every writer's record, in order. */
export async function writeRecord(writers: readonly BatchWriter[], rec: BatchRecord, item: BatchItem): Promise<void> {
  for (const w of writers) await w.record?.(rec, item);
}

/** JSON lines: one record per line to a file (-o) or a stream; C1 and bidi controls written as \u escapes. */
export function jsonlWriter(sink: LineSink): BatchWriter {
  return { record: (rec) => sink.write(jsonSafe(JSON.stringify(rec))) };
}

/** --sidecar: `photo.txt` beside `photo.jpg`, written atomically, merged by --existing. */
export function sidecarWriter(existing: ExistingMode): BatchWriter {
  return {
    async caption(job) {
      const path = job.sidecar;
      if (path === undefined) return undefined;
      // Read without following a link (one planted since the check is refused, not read).
      const old = existing === 'append' || existing === 'prepend' ? await readOwnFile(path, relativeTo(job.item.image, path)) : undefined;
      const merged = mergeCaption(old, job.text, existing === 'skip' ? 'overwrite' : existing);
      if (merged !== undefined) {
        await writeFileAtomic(path, merged).catch((err: unknown) => {
          // A full or failing disk takes every later sidecar with it: stop the batch (exit 6).
          throw isFatalWriteError(err) ? new OutputError(path, err) : err;
        });
      }
      return undefined;
    },
  };
}

/** --xmp / --embed: the description (and a schema's keywords) into the photo's XMP sidecar or the photo itself. */
export function photoWriter(
  mode: { mode: 'xmp' | 'embed'; naming: XmpNaming; backup: boolean },
  existing: ExistingMode,
  et: () => Promise<import('exiftool-vendored').ExifTool>,
  photoMeta: typeof import('../metadata/index.ts'),
): BatchWriter {
  return {
    async caption(job) {
      if (job.item.url) return undefined;
      const first = Array.isArray(job.data) ? job.data[0] : job.data;
      const fresh = photoMeta.photoText(job.text, job.structured ? first : undefined);
      const e = await et();
      const planned = photoMeta.planTarget(job.item.key, job.sourceType, mode.mode, mode.naming, fresh);
      if (planned.where === 'sidecar') {
        // exiftool reads and writes through a link: checked again just before it runs.
        const why = refusal(await fileKind(planned.path), relativeTo(job.item.image, planned.path));
        if (why) throw new RefusedFileError(why);
      }
      const old =
        existing === 'append' || existing === 'prepend'
          ? await photoMeta.readExisting(e, planned.path)
          : { description: undefined, keywords: [] };
      const description =
        mergeCaption(old.description, fresh.description, existing === 'skip' ? 'overwrite' : existing)?.trimEnd() ?? fresh.description;
      const keywords = fresh.keywords.length ? [...new Set([...old.keywords, ...fresh.keywords])] : [];
      const target = photoMeta.planTarget(job.item.key, job.sourceType, mode.mode, mode.naming, { description, keywords });
      await photoMeta.writeTarget(e, target, mode.backup);
      return {
        photo: { where: target.where, path: target.where === 'sidecar' ? relativeTo(job.item.image, target.path) : job.item.image },
      };
    },
  };
}

/** --hf-metadata: the caption (or a schema's fields as columns) into the folder's metadata.jsonl. */
export function hfWriter(hf: HfMetadataFiles): BatchWriter {
  return {
    async caption(job) {
      if (job.item.url) return undefined;
      const first = Array.isArray(job.data) ? job.data[0] : job.data;
      const value = job.structured
        ? { data: typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : { value: first } }
        : { text: job.text.trim() };
      return { metadata: await hf.set(job.item.key, value) };
    },
  };
}

/** The sidecar's path written the way the image was named (`photos/a.jpg` → `photos/a.jpg.xmp`). */
export function relativeTo(image: string, sidecar: string): string {
  const name = sidecar.slice(Math.max(sidecar.lastIndexOf('/'), sidecar.lastIndexOf('\\')) + 1);
  const slash = Math.max(image.lastIndexOf('/'), image.lastIndexOf('\\'));
  return slash >= 0 ? image.slice(0, slash + 1) + name : name;
}
