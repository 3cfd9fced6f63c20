// The image layer: input (path, -, data: URL, http(s) URL) → checked, prepared image ready to send.
// The only module the core imports; it knows nothing of the terminal or of `process`.
import { decodeDataUrl, readPath, readStreamCapped, shortDataUrl } from './read.ts';
import { describeNonImage, sniff } from './sniff.ts';
import { prepareBytes } from './prepare.ts';
import { ImageError, type ImageOptions, type ImageReport, type PreparedImage } from './types.ts';

export { ImageError } from './types.ts';
export type { ImageErrorReason, ImageOptions, ImageReport, PreparedImage } from './types.ts';

export function isRemoteUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
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

export async function loadImage(input: string, opts: ImageOptions): Promise<PreparedImage> {
  if (isRemoteUrl(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch (err) {
      throw new ImageError('bad-url', `${input}: not a valid URL`, { cause: err });
    }
    if (!url.hostname) throw new ImageError('bad-url', `${input}: not a valid URL`);
    if (!opts.inline) {
      // The relay fetches it; nothing about it is known here, so the report says so.
      const report = emptyReport(input, 'url');
      return { url: input, mime: null, report, warnings: [] };
    }
    const { download } = await import('./download.ts');
    const bytes = await download(url, input, opts);
    return fromBytes(input, input, 'url', bytes, opts);
  }
  if (/^data:/i.test(input)) {
    const bytes = decodeDataUrl(input, opts.maxInputBytes);
    return fromBytes(input, 'data: URL', 'data-url', bytes, opts);
  }
  if (input === '-') {
    if (!opts.stdin) throw new ImageError('unreadable', 'stdin: no standard input to read the image from');
    const bytes = await readStreamCapped(opts.stdin, opts.maxInputBytes, 'stdin', opts.signal);
    return fromBytes(input, 'stdin', 'stdin', bytes, opts);
  }
  if (input === '') throw new ImageError('not-found', "'': no such file");
  const readOpts: { maxInputBytes: number; cwd?: string; signal?: AbortSignal } = { maxInputBytes: opts.maxInputBytes };
  if (opts.cwd !== undefined) readOpts.cwd = opts.cwd;
  if (opts.signal !== undefined) readOpts.signal = opts.signal;
  const bytes = await readPath(input, readOpts);
  return fromBytes(input, input, 'file', bytes, opts);
}

async function fromBytes(
  source: string,
  name: string,
  kind: ImageReport['kind'],
  bytes: Buffer,
  opts: ImageOptions,
): Promise<PreparedImage> {
  if (bytes.length === 0) {
    throw new ImageError('empty', kind === 'file' ? `${name}: empty file` : `${name}: empty input`);
  }
  const sniffed = await sniff(bytes);
  if (!sniffed.image) {
    throw new ImageError('not-image', `${name}: not an image (detected ${describeNonImage(sniffed)})`);
  }
  const report = emptyReport(source, kind);
  report.sourceType = sniffed.type;
  report.bytesIn = bytes.length;
  return prepareBytes({ name: kind === 'data-url' ? shortDataUrl(source) : name, bytes, sniffed, report }, opts);
}
