// Thumbnails for the report: small JPEGs (long edge 256) embedded as data: URLs, so the page can be
// mailed; or, with --link, relative links to the originals.
import { relative, sep } from 'node:path';
import { readPath } from '../image/read.ts';
import { declaredSize, overPixelLimit, PIXEL_LIMIT } from '../image/structure.ts';
import { ImageError } from '../image/types.ts';
import type { ReportEntry } from './model.ts';
import type { Thumb } from './html.ts';

export const THUMB_EDGE = 256;

/** A relative link from the page's folder to a file, each path segment URL-encoded. */
export function linkTo(file: string, pageDir: string): string {
  return relative(pageDir, file).split(sep).map(encodeURIComponent).join('/');
}

async function toJpeg(bytes: Buffer): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(bytes, { failOn: 'none', limitInputPixels: PIXEL_LIMIT })
    .rotate()
    .resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 72, mozjpeg: true })
    .toBuffer();
}

async function embed(path: string, opts: ThumbOptions): Promise<Thumb> {
  let bytes: Buffer;
  try {
    // Checked by size before any byte is read, so a huge file is never loaded only to be refused.
    bytes = (await readPath(path, { maxInputBytes: opts.maxInputBytes, ...(opts.signal ? { signal: opts.signal } : {}) })).bytes;
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
    if (err.reason === 'not-found') return { none: 'image not found' };
    if (err.reason === 'too-large') return { none: 'image too large for a preview' };
    return { none: `cannot read the image (${(err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.reason})` };
  }
  // A bomb is refused from its header, before sharp or the image layer's decoders see it.
  if (overPixelLimit(declaredSize(bytes))) return { none: 'image too large for a preview' };
  let jpeg: Buffer | undefined;
  try {
    jpeg = await toJpeg(bytes);
  } catch {
    // HEIC, BMP, ICO, RAW ...: what the image layer makes of it for sending, if anything.
    const prepared = await opts.decode?.(path);
    if (prepared) jpeg = await toJpeg(prepared).catch(() => undefined);
  }
  return jpeg ? { src: `data:image/jpeg;base64,${jpeg.toString('base64')}` } : { none: 'no preview (not an image this can read)' };
}

export interface ThumbOptions {
  link: boolean;
  /** The folder of the page, for --link. */
  pageDir: string;
  maxInputBytes: number;
  concurrency?: number;
  signal?: AbortSignal | undefined;
  /** For what sharp cannot read: bytes it can (the image layer's preparation). */
  decode?: ((path: string) => Promise<Buffer | undefined>) | undefined;
}

/** One thumb per entry, in order; a few decoded at a time. */
export async function makeThumbs(entries: ReportEntry[], opts: ThumbOptions): Promise<Thumb[]> {
  const out: Thumb[] = new Array<Thumb>(entries.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < entries.length; i = next++) {
      opts.signal?.throwIfAborted();
      const e = entries[i] as ReportEntry;
      if (e.remote) out[i] = { none: 'remote image (not fetched)' };
      else if (opts.link) out[i] = { src: linkTo(e.location, opts.pageDir) };
      else out[i] = await embed(e.location, opts);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, work));
  return out;
}
