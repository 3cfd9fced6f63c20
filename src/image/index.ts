// The image layer: input (path, -, data: URL, http(s) URL) → checked, prepared image ready to send.
// The only module the core imports; it knows nothing of the terminal or of `process`.
import { resolve } from 'node:path';
import { InterruptedError } from '../types.ts';
import { decodeDataUrl, readPath, readStreamCapped, shortDataUrl, type ReadResult } from './read.ts';
import { describeNonImage, sniff } from './sniff.ts';
import { needsWholeBytes, prepareBytes } from './prepare.ts';
import { ImageError, type ImageOptions, type ImageReport, type PreparedImage } from './types.ts';

export { ImageError } from './types.ts';
export { claudeTokens, geminiTokens, openaiTokens } from './tokens.ts';
export { probeImageDataUrl } from './probe.ts';
export { findHeifTool } from './decoders.ts';
export type { ImageErrorReason, ImageOptions, ImageReport, PreparedImage } from './types.ts';
export type { ReadResult } from './read.ts';

export function isRemoteUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

function whole(bytes: Buffer): ReadResult {
  return { bytes, size: bytes.length, path: null, file: false };
}

function emptyReport(source: string, kind: ImageReport['kind']): ImageReport {
  return {
    source,
    kind,
    sourceType: null,
    bytesIn: null,
    bytesOut: null,
    widthIn: null,
    heightIn: null,
    widthOut: null,
    heightOut: null,
    orientation: null,
    rotated: false,
    resized: false,
    converted: false,
    reencoded: false,
    metadataStripped: false,
    animated: false,
    unchanged: false,
    quality: null,
    estimatedTokens: null,
    openaiTokens: null,
  };
}

function readOptions(opts: ImageOptions): Parameters<typeof readPath>[1] {
  const readOpts: Parameters<typeof readPath>[1] = { maxInputBytes: opts.maxInputBytes };
  if (opts.cwd !== undefined) readOpts.cwd = opts.cwd;
  if (opts.signal !== undefined) readOpts.signal = opts.signal;
  return readOpts;
}

/**
 * Reads a local image file as loadImage does, for a caller that also needs its bytes (batch hashes
 * them) and then passes the result to loadImage, so the file is read once. A file too big to be
 * sent as it is gets only its head read: sharp reads those itself.
 */
/**
 * Whether a local file is something batch sends or records (an image, or an empty or unreadable
 * file it reports), rather than a non-image it skips when met in a folder. Reads the first bytes only.
 */
export async function isImageOrFailure(path: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(4100), 0, 4100, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return true;
  }
  return head.length === 0 || (await sniff(head)).image;
}

export async function readImageFile(input: string, opts: ImageOptions): Promise<ReadResult> {
  if (input === '') throw new ImageError('not-found', "'': no such file");
  return readPath(input, { ...readOptions(opts), headOnlyAbove: Math.floor(opts.maxBytes / 4) * 3 });
}

/** `read`: the file as readImageFile returned it, when the caller has read it already. */
export async function loadImage(input: string, opts: ImageOptions, read?: ReadResult): Promise<PreparedImage> {
  if (isRemoteUrl(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch (err) {
      throw new ImageError('bad-url', `${input}: not a valid URL`, { cause: err });
    }
    if (!url.hostname) throw new ImageError('bad-url', `${input}: not a valid URL`);
    if (opts.passUrl) {
      // The relay fetches it; nothing about it is known here, so the report says so.
      const report = emptyReport(input, 'url');
      report.notFetched = 'pass-url';
      return { url: input, mime: null, report, warnings: [] };
    }
    const { checkUrlHost, credentialsIn, shownUrl } = await import('../net/fetch.ts');
    const credentials = credentialsIn(url);
    if (credentials) {
      throw new ImageError('bad-url', `${shownUrl(url)}: ${credentials}`, {
        hint: 'download it yourself, e.g. curl -u USER -o photo.jpg URL, and give imgdesc the file',
      });
    }
    if (opts.noFetch) {
      // --dry-run sends nothing, to the relay or to the image host; the host rule is still checked
      // (from the URL alone: no name is looked up), so a refusal shows before anything is paid for.
      try {
        checkUrlHost(url, opts.urlPolicy ?? { allowPrivate: false });
      } catch (err) {
        throw new ImageError('private-address', `${input}: ${(err as Error).message}`, { cause: err });
      }
      const report = emptyReport(input, 'url');
      report.notFetched = 'dry-run';
      return { url: input, mime: null, report, warnings: [] };
    }
    const { download } = await import('./download.ts');
    const bytes = await download(url, input, opts);
    return fromBytes(input, input, 'url', whole(bytes), opts);
  }
  if (/^data:/i.test(input)) {
    const bytes = decodeDataUrl(input, opts.maxInputBytes);
    return fromBytes(input, 'data: URL', 'data-url', whole(bytes), opts);
  }
  if (input === '-') {
    if (!opts.stdin) throw new ImageError('unreadable', 'stdin: no standard input to read the image from');
    const bytes = await readStreamCapped(opts.stdin, opts.maxInputBytes, 'stdin', opts.signal);
    return fromBytes(input, 'stdin', 'stdin', whole(bytes), opts);
  }
  const got = read ?? (await readImageFile(input, opts));
  return fromBytes(input, input, 'file', got, opts, () => readPath(input, readOptions(opts)));
}

async function fromBytes(
  source: string,
  name: string,
  kind: ImageReport['kind'],
  got: ReadResult,
  opts: ImageOptions,
  readWhole?: () => Promise<ReadResult>,
): Promise<PreparedImage> {
  if (opts.signal?.aborted) throw new InterruptedError();
  if (got.size === 0) {
    throw new ImageError('empty', kind === 'file' ? `${name}: empty file` : `${name}: empty input`);
  }
  const sniffed = await sniff(got.bytes);
  if (!sniffed.image) {
    throw new ImageError('not-image', `${name}: not an image (detected ${describeNonImage(sniffed)})`);
  }
  const report = emptyReport(source, kind);
  report.sourceType = sniffed.type;
  report.bytesIn = got.size;
  if (got.path && readWhole && needsWholeBytes(sniffed.type)) got = await readWhole();
  const { bytes, size, path } = got;
  // External decoders (libheif, exiftool) read a regular file where it is.
  const file = kind === 'file' && got.file ? resolve(opts.cwd ?? '.', source) : undefined;
  return prepareBytes({ name: kind === 'data-url' ? shortDataUrl(source) : name, bytes, size, path, file, sniffed, report }, opts);
}
