// exiftool (through exiftool-vendored) for what sharp cannot do: RAW previews, and carrying a
// HEIC's EXIF over to the converted image with --keep-metadata.
import type { ExifTool } from 'exiftool-vendored';
import { fileFor, withScratch } from './decoders.ts';

export type ExiftoolGetter = () => Promise<ExifTool>;

/**
 * The exiftool of this run, or one started for this call and ended after it (a caller that
 * describes many files passes its own, so one process serves them all).
 */
export async function withExiftool<T>(get: ExiftoolGetter | undefined, use: (et: ExifTool) => Promise<T>): Promise<T> {
  if (get) return use(await get());
  const { ExifTool } = await import('exiftool-vendored');
  const et = new ExifTool({ maxProcs: 1 });
  try {
    return await use(et);
  } finally {
    await et.end();
  }
}

/**
 * The original's EXIF written into the converted image, marked upright (the pixels were turned
 * already). Used where the pixels came from another decoder than sharp, which cannot carry it.
 */
export async function copyExif(
  original: { file: string | undefined; bytes: Buffer },
  converted: Buffer,
  format: string,
  get: ExiftoolGetter | undefined,
): Promise<Buffer> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  return withScratch((dir) =>
    withExiftool(get, async (et) => {
      const src = await fileFor(original, dir, 'original');
      const out = join(dir, `converted.${format}`);
      await writeFile(out, converted);
      await et.write(out, {}, { writeArgs: ['-overwrite_original', '-tagsFromFile', src, '-exif:all', '-Orientation#=1'] });
      return readFile(out);
    }),
  );
}
