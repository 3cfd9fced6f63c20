// RAW camera files: described from the JPEG preview every RAW format carries, extracted by
// exiftool without decoding the RAW data itself.
import { InterruptedError } from '../types.ts';
import { fileFor, withScratch } from './decoders.ts';
import { withExiftool, type ExiftoolGetter } from './exiftool.ts';
import { ImageError } from './types.ts';

export const RAW_TYPES = new Set(['dng', 'cr2', 'cr3', 'nef', 'arw', 'raf', 'orf', 'rw2']);

/** The embedded images exiftool can extract, by the names it gives them. */
const PREVIEW_TAGS = ['JpgFromRaw', 'PreviewImage', 'OtherImage', 'ThumbnailImage'] as const;

/** Binary tags are read as `(Binary data N bytes, …)`: N, or 0 when absent. */
export function binaryLength(value: unknown): number {
  if (value && typeof value === 'object' && 'bytes' in value && typeof value.bytes === 'number') return value.bytes;
  const m = typeof value === 'string' ? /Binary data (\d+) bytes/.exec(value) : null;
  return m ? Number(m[1]) : 0;
}

/** The largest embedded preview: some formats carry a full-size JpgFromRaw and a small thumbnail. */
export function pickPreviewTag(tags: Record<string, unknown>): (typeof PREVIEW_TAGS)[number] | null {
  let best: (typeof PREVIEW_TAGS)[number] | null = null;
  let size = 0;
  for (const t of PREVIEW_TAGS) {
    const n = binaryLength(tags[t]);
    if (n > size) [best, size] = [t, n];
  }
  return best;
}

export interface RawPreview {
  jpeg: Buffer;
  /** The RAW's EXIF orientation (previews usually carry none of their own). */
  orientation: number;
}

export async function extractRawPreview(
  input: { file: string | undefined; bytes: Buffer },
  name: string,
  type: string,
  label: string,
  get: ExiftoolGetter | undefined,
  signal?: AbortSignal,
): Promise<RawPreview> {
  return withScratch((dir) =>
    withExiftool(get, async (et) => {
      // exiftool goes by the extension where the bytes are ambiguous.
      const src = await fileFor(input, dir, `in.${type}`);
      let tags: Record<string, unknown>;
      try {
        tags = (await et.read(src)) as Record<string, unknown>;
      } catch (err) {
        throw new ImageError(
          'corrupt',
          `${name}: unreadable ${label} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
          { cause: err },
        );
      }
      if (signal?.aborted) throw new InterruptedError();
      const tag = pickPreviewTag(tags);
      if (!tag)
        throw new ImageError('unsupported', `${name}: ${label} file without an embedded preview; convert it with a RAW developer first`);
      const jpeg = await et.extractBinaryTagToBuffer(tag, src);
      const o = tags.Orientation;
      return { jpeg, orientation: typeof o === 'number' && Number.isInteger(o) && o >= 1 && o <= 8 ? o : 1 };
    }),
  );
}
