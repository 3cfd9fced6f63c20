// The image layer's public types and its one error class; re-exported by index.ts.
import type { AddressPolicy } from '../net/fetch.ts';
import { CliError, ExitCode, type ImageReport } from '../types.ts';

export interface ImageOptions {
  /** Long edge in px above which the image is shrunk (--max-edge). */
  maxEdge: number;
  /** Limit on the length of the base64 text of what is sent (--max-bytes). */
  maxBytes: number;
  /** false = --no-resize: send the original bytes or fail, never re-encode. */
  resize: boolean;
  keepMetadata: boolean;
  /**
   * Deadline for preparing one image, in ms (--prepare-timeout); 0 = none. Absent: by the size
   * of what is sent (prepareDeadlineMs), so a small SVG with costly filters cannot hold a run.
   */
  prepareTimeoutMs?: number;
  /**
   * Send http(s) URLs as given (--pass-url). Otherwise they are downloaded here and prepared like files,
   * because relays fetch them badly (one-api common/image/image.go sends a HEAD first and takes the
   * media type from the server's Content-Type) and would receive the original with its location.
   */
  passUrl: boolean;
  /** Inputs larger than this are refused before or while reading (--max-input-bytes). */
  maxInputBytes: number;
  /** Timeout for URL downloads. */
  timeoutMs: number;
  /** Which hosts URLs may be fetched from (--allow-private-urls); none: public addresses only. */
  urlPolicy?: AddressPolicy;
  /** --dry-run: a URL's host is checked, but nothing is fetched. */
  noFetch?: boolean;
  /** For the token estimate: the OpenAI tile formula is used when it starts with "gpt-". */
  model?: string;
  signal?: AbortSignal;
  /** Read when the input is "-". */
  stdin?: NodeJS.ReadableStream;
  /** Relative paths are resolved against this. */
  cwd?: string;
  /** The PATH searched for the system's libheif tools (heif-dec, heif-convert); none: WebAssembly. */
  searchPath?: string;
  /** The run's one exiftool process (RAW previews); without it, one is started per RAW file. */
  exiftool?: () => Promise<import('exiftool-vendored').ExifTool>;
}

// Lives in src/types.ts because ui renders it and may not import this layer.
export type { ImageReport };

export interface PreparedImage {
  url: string;
  mime: string | null;
  report: ImageReport;
  warnings: string[];
}

export type ImageErrorReason =
  | 'not-found'
  | 'unreadable'
  | 'directory'
  | 'empty'
  | 'too-large'
  | 'not-image'
  | 'corrupt'
  | 'unsupported'
  | 'needs-preparation'
  | 'too-slow'
  | 'bad-url'
  /** A URL whose host is loopback, private, link-local …: refused before anything is sent. */
  | 'private-address'
  /** The fetch of a URL failed on the way or at the far end: exit 4, not 2. */
  | 'download';

/**
 * An input that cannot be sent, one line naming the input and what was found: exit 2, but 4 for a
 * download that failed (DNS, refused, 5xx, timeout: the network's or the remote's fault, not the input's).
 */
export class ImageError extends CliError {
  readonly reason: ImageErrorReason;
  /** The image host's HTTP status, for a download it answered with an error. */
  readonly status: number | undefined;
  constructor(reason: ImageErrorReason, message: string, options?: { hint?: string; cause?: unknown; status?: number }) {
    super(message, reason === 'download' ? ExitCode.api : ExitCode.usage, options);
    this.name = 'ImageError';
    this.reason = reason;
    this.status = options?.status;
  }
}
