// --hf-metadata: one `metadata.jsonl` per image folder, `{"file_name","text"}` per line, the layout
// Hugging Face `imagefolder`, invoke-training and SimpleTuner read. An existing file is merged
// (its other lines and other columns kept as they are) and rewritten atomically.
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from './batch-output.ts';
import { readOwnFile } from './safe-files.ts';
import { mergeCaption, type ExistingMode } from './caption.ts';
import { jsonSafe } from '../safe-text.ts';
import { nestsDeeper } from '../json-depth.ts';

export const HF_METADATA = 'metadata.jsonl';

/** One line of the file: a record with its file name, or a line kept verbatim (not ours to judge). */
export type MetadataLine = { fileName: string; fields: Record<string, unknown> } | { raw: string };

export function parseMetadata(text: string): { lines: MetadataLine[]; unreadable: number } {
  const lines: MetadataLine[] = [];
  let unreadable = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let rec: unknown;
    try {
      // Kept verbatim like any line that is not a record: re-writing it would overflow the stack.
      rec = nestsDeeper(raw) ? undefined : JSON.parse(raw);
    } catch {
      rec = undefined;
    }
    if (rec && typeof rec === 'object' && !Array.isArray(rec) && typeof (rec as { file_name?: unknown }).file_name === 'string') {
      lines.push({ fileName: (rec as { file_name: string }).file_name, fields: rec as Record<string, unknown> });
    } else {
      unreadable++;
      lines.push({ raw });
    }
  }
  return { lines, unreadable };
}

export function renderMetadata(lines: MetadataLine[]): string {
  return (
    lines.map((l) => ('raw' in l ? l.raw : jsonSafe(JSON.stringify({ file_name: l.fileName, ...l.fields })))).join('\n') +
    (lines.length ? '\n' : '')
  );
}

const findLine = (lines: MetadataLine[], fileName: string) =>
  lines.find((l): l is Extract<MetadataLine, { fileName: string }> => 'fileName' in l && l.fileName === fileName);

/** Whether the folder's file already has a caption for this image (a non-empty `text`, or fields of a --schema run). */
export function hasCaption(lines: MetadataLine[], fileName: string): boolean {
  const l = findLine(lines, fileName);
  if (!l) return false;
  const { file_name: _, ...rest } = l.fields;
  return typeof rest.text === 'string' ? rest.text.trim() !== '' : Object.keys(rest).length > 0;
}

/**
 * Puts one image's caption into the lines: `text` merged by the --existing mode (a --schema run
 * sets its fields as columns instead). Returns false when the mode leaves the line as it is.
 */
export function setCaption(
  lines: MetadataLine[],
  fileName: string,
  value: { text: string } | { data: Record<string, unknown> },
  mode: ExistingMode,
): boolean {
  const line = findLine(lines, fileName);
  if ('data' in value) {
    if (line && mode === 'skip' && hasCaption(lines, fileName)) return false;
    if (line) line.fields = mode === 'overwrite' || mode === 'skip' ? { ...value.data } : { ...line.fields, ...value.data };
    else lines.push({ fileName, fields: { ...value.data } });
    return true;
  }
  const old = line && typeof line.fields.text === 'string' ? line.fields.text : undefined;
  const merged = mergeCaption(old, value.text, mode);
  if (merged === undefined) return false;
  const text = merged.replace(/\n$/, '');
  if (line) line.fields = { ...line.fields, text };
  else lines.push({ fileName, fields: { text } });
  return true;
}

interface Folder {
  path: string;
  lines: MetadataLine[];
  /** A write is running / another is wanted after it. */
  writing: Promise<void> | undefined;
  dirty: boolean;
}

/**
 * The metadata files of one batch. Each folder's file is read once, and rewritten (temp file +
 * rename) after captions arrive: while one write runs, new captions wait and go in the next, so a
 * large folder is not rewritten once per image.
 */
export class HfMetadataFiles {
  private folders = new Map<string, Promise<Folder>>();
  /** Lines of existing files that were not records; kept as they are. */
  unreadable = 0;

  constructor(private readonly mode: ExistingMode) {}

  static fileOf(image: string): string {
    return join(dirname(image), HF_METADATA);
  }

  private folder(image: string): Promise<Folder> {
    const path = HfMetadataFiles.fileOf(image);
    let f = this.folders.get(path);
    if (!f) {
      // Not through a link: one planted as metadata.jsonl would have its target's lines copied here.
      f = readOwnFile(path, join(basename(dirname(path)), HF_METADATA)).then((text) => {
        if (text === undefined) return { path, lines: [], writing: undefined, dirty: false };
        const parsed = parseMetadata(text);
        this.unreadable += parsed.unreadable;
        return { path, lines: parsed.lines, writing: undefined, dirty: false };
      });
      this.folders.set(path, f);
    }
    return f;
  }

  /** Whether the image already has a caption in its folder's file (absolute path). */
  async has(image: string): Promise<boolean> {
    return hasCaption((await this.folder(image)).lines, basename(image));
  }

  /** Sets the image's caption and writes the folder's file; resolves once a write that includes it is done. */
  async set(image: string, value: { text: string } | { data: Record<string, unknown> }): Promise<string | undefined> {
    const f = await this.folder(image);
    if (!setCaption(f.lines, basename(image), value, this.mode)) return undefined;
    f.dirty = true;
    await this.write(f);
    return f.path;
  }

  private async write(f: Folder): Promise<void> {
    while (f.dirty) {
      if (f.writing) {
        await f.writing;
        continue;
      }
      f.dirty = false;
      f.writing = writeFileAtomic(f.path, renderMetadata(f.lines)).finally(() => {
        f.writing = undefined;
      });
      await f.writing;
    }
  }
}
