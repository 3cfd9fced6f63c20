// Pictures of images for `imgdesc report`, for the formats a plain decoder cannot read (HEIC, BMP,
// ICO, RAW): the image layer prepares them as it does for sending, small.
import { loadImage } from '../image/index.ts';

export interface PreviewOptions {
  maxEdge: number;
  maxInputBytes: number;
  /** The PATH searched for the system's libheif tools. */
  searchPath?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The image as JPEG, PNG or WebP bytes with its long edge at most maxEdge; undefined when it cannot be read. */
export async function previewBytes(path: string, opts: PreviewOptions): Promise<Buffer | undefined> {
  try {
    const img = await loadImage(path, {
      maxEdge: opts.maxEdge,
      maxBytes: 5 * 1024 * 1024,
      resize: true,
      keepMetadata: false,
      passUrl: true,
      maxInputBytes: opts.maxInputBytes,
      timeoutMs: 30_000,
      ...(opts.searchPath !== undefined ? { searchPath: opts.searchPath } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!img.url.startsWith('data:')) return undefined;
    return Buffer.from(img.url.slice(img.url.indexOf(',') + 1), 'base64');
  } catch {
    return undefined;
  }
}
