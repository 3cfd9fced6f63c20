// From verified bytes to what is sent: a JPEG/PNG/GIF that is whole and fine goes as it is without
// sharp; anything else is checked with sharp, then sent as-is or decoded once, rotated, shrunk and
// re-encoded until the base64 text fits.
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { decodeBmp, decodeHeicSystem, decodeIco, findHeifTool, renderSvgIsolated, withHeicPixels, type RawPixels } from './decoders.ts';
import { copyExif } from './exiftool.ts';
import { extractRawPreview, RAW_TYPES } from './raw.ts';
import { formatBytes } from '../format.ts';
import { InterruptedError } from '../types.ts';
import { formatLabel, type Sniffed } from './sniff.ts';
import {
  exifHasLocation,
  headerDimensions,
  inspectStructure,
  overPixelLimit,
  PIXEL_LIMIT,
  StructureRefusal,
  stripJpegMetadata,
  xmpHasLocation,
} from './structure.ts';
import { claudeTokens, openaiTokens } from './tokens.ts';
import { ImageError, type ImageOptions, type ImageReport, type PreparedImage } from './types.ts';

type SharpFn = typeof import('sharp');

let sharpLoaded: Promise<SharpFn> | undefined;

/** sharp is heavy to load; it is loaded once, on the first image, never for --help. */
export function loadSharp(): Promise<SharpFn> {
  sharpLoaded ??= import('sharp').then((m) => {
    const sharp = m.default;
    // One image per run (or per batch item): libvips' operation cache only costs memory here.
    sharp.cache(false);
    return sharp;
  });
  return sharpLoaded;
}

/** Formats both OpenAI and Anthropic accept as they are. */
const SENDABLE = new Set(['jpeg', 'png', 'gif', 'webp']);
/** Formats this libvips decodes itself. */
const SHARP_NATIVE = new Set(['jpeg', 'png', 'apng', 'gif', 'webp', 'avif', 'tiff', 'svg']);

const JPEG_QUALITIES = [85, 75, 60, 45];
const SHRINK_QUALITIES = [60, 45];
const SHRINK_STEP = 0.75;
const MIN_EDGE = 16;

/** Formats the index hands over whole (their decoders need every byte in memory anyway). */
export function needsWholeBytes(type: string): boolean {
  return !SHARP_NATIVE.has(type) && !RAW_TYPES.has(type);
}

export function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (
    (msg.split('\n')[0] ?? msg).replace(/^Input (buffer|file) (has corrupt header|contains unsupported image format)?:?\s*/i, '').trim() ||
    msg
  );
}

function isUnsupportedFormat(err: unknown): boolean {
  return err instanceof Error && /unsupported image format/i.test(err.message);
}

export interface Subject {
  /** The input as the user typed it, for messages. */
  name: string;
  /** The whole input, or only its head when `path` is set (sharp then reads the file). */
  bytes: Buffer;
  size: number;
  path: string | null;
  /** The resolved path of a regular file, for decoders that run as other programs. */
  file?: string | undefined;
  sniffed: Sniffed;
  report: ImageReport;
}

/** EXIF GPS IFD, or GPS tags in XMP, count as location. Unparseable EXIF counts too: stripping is cheap. */
async function hasLocation(meta: Metadata): Promise<boolean> {
  if (meta.xmp && xmpHasLocation(meta.xmp)) return true;
  if (!meta.exif) return false;
  try {
    return await exifHasLocation(meta.exif);
  } catch {
    return true;
  }
}

/** What is known about an image before its pixels are decoded. */
export interface PreparationFacts {
  /** The sniffed type ('jpeg', 'heic', …). */
  type: string;
  /** Stored size in px (0 when the header could not be read). */
  width: number;
  height: number;
  /** EXIF orientation, 1 when absent. */
  orientation: number;
  animated: boolean;
  /** Location metadata that would leave the machine (already false with --keep-metadata). */
  location: boolean;
  /** Bytes of the original. */
  size: number;
}

export type PreparationPlan =
  /** Fine as it is: the original bytes are sent. */
  | { action: 'send'; problems: [] }
  /** Needs preparation but --no-resize forbids it. */
  | { action: 'refuse'; problems: string[] }
  /**
   * Decode, rotate, shrink and re-encode. `originalAllowed`: the original is an accepted type whose
   * only problem is its pixel size, so it may still be sent when shrinking would make it bigger.
   */
  | { action: 'convert'; problems: string[]; originalAllowed: boolean };

/** The decision docs/describe.md "What is sent" describes, from facts alone: send, refuse, or convert, and why. */
export function planPreparation(f: PreparationFacts, o: Pick<ImageOptions, 'maxEdge' | 'maxBytes' | 'resize'>): PreparationPlan {
  const label = formatLabel(f.type);
  const problems: string[] = [];
  if (!SENDABLE.has(f.type)) problems.push(f.type === 'apng' ? 'APNG is animated' : `${label} is not accepted by vision APIs`);
  else if (f.animated) problems.push(`${label} is animated`);
  const tooWide = Math.max(f.width, f.height) > o.maxEdge;
  if (tooWide) problems.push(`${f.width}x${f.height} exceeds --max-edge ${o.maxEdge}`);
  if (base64Length(f.size) > o.maxBytes) {
    problems.push(`${formatBytes(base64Length(f.size))} of base64 exceeds --max-bytes ${formatBytes(o.maxBytes)}`);
  }
  if (f.orientation > 1) problems.push(`EXIF orientation ${f.orientation} needs rotating`);
  if (f.location) problems.push('it carries GPS location metadata (use --keep-metadata to send it)');
  if (problems.length === 0) return { action: 'send', problems: [] };
  if (!o.resize) return { action: 'refuse', problems };
  return { action: 'convert', problems, originalAllowed: tooWide && problems.length === 1 };
}

/** The original bytes, as they are. */
function sendAsIs(subject: Subject, opts: ImageOptions, width: number, height: number, warnings: string[]): PreparedImage {
  const mime = `image/${subject.sniffed.type}`;
  return finish(
    subject,
    opts,
    { url: `data:${mime};base64,${subject.bytes.toString('base64')}`, mime, warnings },
    {
      width,
      height,
      bytesOut: subject.bytes.length,
      quality: null,
      unchanged: true,
      rotated: false,
    },
  );
}

/**
 * The common case without loading sharp: a JPEG, PNG or GIF walked whole to its end marker (see
 * structure.ts) that can go as it is. Anything else, or any doubt, is left to sharp.
 */
async function sendWithoutSharp(subject: Subject, opts: ImageOptions): Promise<PreparedImage | null> {
  if (subject.path !== null) return null; // only the head was read: too big to go as it is
  // Too many pixels to go as it is: the walk (which inflates a PNG's data) would only be undone.
  const declared = headerDimensions(subject.bytes, subject.sniffed.type);
  if (declared && Math.max(declared.width, declared.height) > opts.maxEdge) return null;
  let s;
  try {
    s = await inspectStructure(subject.bytes, subject.sniffed.type);
  } catch (err) {
    if (err instanceof StructureRefusal) throw corruptError(subject.name, formatLabel(subject.sniffed.type), err);
    throw err;
  }
  if (!s) return null;
  const facts = { ...s, type: subject.sniffed.type, location: s.location && !opts.keepMetadata, size: subject.size };
  const plan = planPreparation(facts, opts);
  const { report } = subject;
  if (plan.action === 'send') {
    report.widthIn = s.width;
    report.heightIn = s.height;
    report.orientation = s.orientation;
    report.animated = false;
    return sendAsIs(subject, opts, s.width, s.height, []);
  }
  // A JPEG whose one problem is where it was taken: its metadata segments are dropped and the
  // pixels go as they were, instead of a re-encode that loses quality and often grows the file.
  if (plan.action === 'convert' && facts.type === 'jpeg' && facts.location && plan.problems.length === 1) {
    const stripped = stripJpegMetadata(subject.bytes);
    // walked again: whole, and no location left anywhere (an APP1 after the first scan, say)
    const again = stripped ? await inspectStructure(stripped, 'jpeg').catch(() => null) : null;
    if (stripped && again && !again.location && again.orientation === 1 && base64Length(stripped.length) <= opts.maxBytes) {
      report.widthIn = s.width;
      report.heightIn = s.height;
      report.orientation = s.orientation;
      report.animated = false;
      const mime = 'image/jpeg';
      return finish(
        subject,
        opts,
        { url: `data:${mime};base64,${stripped.toString('base64')}`, mime, warnings: [] },
        {
          width: s.width,
          height: s.height,
          bytesOut: stripped.length,
          quality: null,
          unchanged: false,
          reencoded: false,
          rotated: false,
          uprightW: s.width,
          uprightH: s.height,
          hadMetadata: true,
        },
      );
    }
  }
  return null;
}

/** How the pixels of each type are decoded (pure; the HEIC choice depends on the machine). */
export type Decoder = 'sharp' | 'svg' | 'heic-system' | 'heic-wasm' | 'bmp' | 'ico' | 'raw-preview';

export function chooseDecoder(type: string, heifTool: boolean): Decoder | null {
  if (type === 'svg') return 'svg';
  if (SHARP_NATIVE.has(type)) return 'sharp';
  if (type === 'heic') return heifTool ? 'heic-system' : 'heic-wasm';
  if (type === 'bmp') return 'bmp';
  if (type === 'ico' || type === 'cur') return 'ico';
  if (RAW_TYPES.has(type)) return 'raw-preview';
  return null;
}

type Pixels = { data: Buffer; info: { width: number; height: number; channels: number } };

/** What a decoder is given: the image, the run's options, sharp (with the deadline) and its tools. */
interface DecodeContext {
  subject: Subject;
  opts: ImageOptions;
  sharp: MakeSharp;
  /** The system's libheif tool, when HEIC goes through it. */
  heifTool: string | null;
  /** The input as external decoders take it: a regular file's path, else its bytes. */
  input: { file: string | undefined; bytes: Buffer };
}

/** Where the header and the pixels come from, before the plan. */
interface Source {
  /** What sharp reads: the file as it is, its bytes, a RAW's preview, an ICO's PNG entry. */
  encoded: Buffer | string;
  /** Pixels decoded already (BMP, an ICO's BMP entry): sharp reads no header then. */
  raw: RawPixels | null;
  /** An orientation applied by hand instead of the input's own EXIF (a RAW's, for its preview). */
  orientation: number | null;
}

/**
 * One way of decoding a format. By default sharp reads the input as it is, header then pixels;
 * each decoder says only where it differs.
 */
interface ImageDecoder {
  /** What -v says about it; null: sharp's own. */
  label?(heifTool: string | null): string;
  /** Before the plan: a form other than the input itself (pixels, a preview, an icon entry). */
  source?(c: DecodeContext): Promise<Source>;
  /** sharp may not read its header; the decoder reads the image later regardless. */
  headerOptional?: boolean;
  /** Its pixels come out upright (libheif applies irot/imir; the EXIF tag is informative). */
  upright?: boolean;
  /** After the plan, a form sharp decodes instead (HEIC through the system's libheif: a JPEG). */
  convert?(c: DecodeContext): Promise<Buffer>;
  /**
   * After the plan, pixels it makes itself, shrunk with `shrink`. `declared` is the size the
   * header gave; `decodedAt` reports the stored size when only decoding tells it.
   */
  pixels?(
    c: DecodeContext,
    shrink: (p: Sharp) => Sharp,
    declared: { width: number; height: number },
    decodedAt: (width: number, height: number) => void,
  ): Promise<Pixels>;
  /** --keep-metadata: sharp carries the original's metadata over itself (it decodes it again). */
  keepsMetadata?: boolean;
  /** --keep-metadata: the original's EXIF is copied onto what is sent (its pixels came from elsewhere). */
  copiesExif?: boolean;
  /** What is sent had metadata removed even when sharp's header showed none. */
  dropsMetadata?(keepMetadata: boolean): boolean;
}

const rawSharp = (c: DecodeContext, r: RawPixels): Sharp =>
  c.sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } });

const DECODERS: Record<Decoder, ImageDecoder> = {
  sharp: { keepsMetadata: true },
  svg: {
    // librsvg's filters cost what they like (20 blurs in 1 KB: 17 s) and cannot be stopped
    // in-process: the SVG is rendered in a process of its own, killed at the deadline. At 72 dpi
    // an SVG renders at its declared size; the density puts its long edge near maxEdge.
    async pixels(c, shrink, declared) {
      const long = Math.max(declared.width, declared.height, 1);
      const density = Math.min(2400, Math.max(1, (72 * c.opts.maxEdge) / long));
      const r = await renderSvgIsolated(c.subject.bytes, density, c.opts.maxEdge, c.subject.name, c.opts.signal);
      return shrink(rawSharp(c, r)).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    },
  },
  'heic-system': {
    label: (tool) => `system libheif (${tool?.split(/[\\/]/).pop()})`,
    headerOptional: true,
    upright: true,
    convert: (c) => decodeHeicSystem(c.heifTool as string, c.input, c.subject.name, c.opts.signal),
    copiesExif: true,
    dropsMetadata: (keep) => !keep,
  },
  'heic-wasm': {
    label: () => 'libheif WebAssembly (install libheif-examples for native speed)',
    headerOptional: true,
    upright: true,
    // Shrunk while the decoded pixels are still on libheif's heap: they are never copied whole.
    pixels: (c, shrink, _declared, decodedAt) =>
      withHeicPixels(c.subject.bytes, c.subject.name, (r) => {
        decodedAt(r.width, r.height);
        return shrink(rawSharp(c, r)).raw().toBuffer({ resolveWithObject: true });
      }),
    copiesExif: true,
    dropsMetadata: (keep) => !keep,
  },
  bmp: {
    source: async (c) => ({ encoded: c.subject.bytes, raw: await decodeBmp(c.subject.bytes, c.subject.name), orientation: null }),
  },
  ico: {
    async source(c) {
      const r = await decodeIco(c.subject.bytes, c.subject.name, formatLabel(c.subject.sniffed.type));
      return Buffer.isBuffer(r) ? { encoded: r, raw: null, orientation: null } : { encoded: c.subject.bytes, raw: r, orientation: null };
    },
  },
  'raw-preview': {
    label: () => 'embedded RAW preview (exiftool)',
    async source(c) {
      const { sniffed, name } = c.subject;
      const preview = await extractRawPreview(c.input, name, sniffed.type, formatLabel(sniffed.type), c.opts.exiftool, c.opts.signal);
      return { encoded: preview.jpeg, raw: null, orientation: preview.orientation };
    },
    copiesExif: true,
    dropsMetadata: () => true,
  },
};

/**
 * Which encoding is sent (pure): the smallest candidate. The original counts only when it may be
 * sent as it is (an accepted type whose one problem was its pixel size: the API shrinks it the
 * same way, and the upload is smaller).
 */
export function chooseOutput<T extends { bytes: number }>(candidates: T[], original: { bytes: number; allowed: boolean }): T | 'original' {
  const best = candidates.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  return original.allowed && original.bytes <= best.bytes ? 'original' : best;
}

/** Applies an EXIF orientation that sharp cannot read from the pixels' own metadata. */
function orient(p: Sharp, o: number): Sharp {
  const turn = [0, 0, 0, 180, 180, 270, 90, 90, 270][o] ?? 0;
  if (turn) p = p.rotate(turn);
  // 2, 4, 5 and 7 are mirror images: a flop after the turn (180 + flop is a flip).
  return o === 2 || o === 4 || o === 5 || o === 7 ? p.flop() : p;
}

function corruptError(name: string, label: string, err: unknown): ImageError {
  // libvips stopped by its own deadline a moment before the run's timer: the timer's error wins
  if (err instanceof Error && /^timeout: \d+% complete/.test(err.message))
    return new ImageError('too-slow', `${name}: stopped at its deadline`);
  if (err instanceof Error && /exceeds pixel limit/i.test(err.message)) return tooManyPixels(name, label, null);
  return new ImageError('corrupt', `${name}: corrupt or truncated ${label} (${firstLine(err)})`, { cause: err });
}

/** A bomb or a giant, refused from its header before anything is inflated or decoded. */
export function tooManyPixels(name: string, label: string, size: { width: number; height: number } | null): ImageError {
  const mp = Math.floor(PIXEL_LIMIT / 1e6);
  const dims = size ? `${size.width}x${size.height} ` : '';
  return new ImageError('too-large', `${name}: ${dims}${label} has more pixels than imgdesc decodes (${mp} megapixels)`);
}

/**
 * The deadline for preparing one image (pure): --prepare-timeout when given (0: none), else 5 s
 * per megapixel of the largest image sent (--max-edge squared), and never under 10 s: what a
 * 12 MP HEIC through WebAssembly needs on a busy machine, many times over.
 */
export function prepareDeadlineMs(o: Pick<ImageOptions, 'maxEdge' | 'prepareTimeoutMs'>): number {
  if (o.prepareTimeoutMs !== undefined) return o.prepareTimeoutMs;
  return Math.max(10_000, Math.round((5_000 * o.maxEdge * o.maxEdge) / 1e6));
}

function tooSlow(name: string, ms: number, given: boolean): ImageError {
  const s = `${Math.round(ms / 100) / 10} s`;
  return new ImageError('too-slow', `${name}: preparing it took longer than ${s}${given ? ' (--prepare-timeout)' : ''}; stopped`, {
    hint: given
      ? 'a larger --prepare-timeout gives it longer'
      : 'convert it to PNG or JPEG first, or give it longer with --prepare-timeout',
  });
}

type MakeSharp = (input?: Buffer | string, options?: SharpOptions) => Sharp;

/** sharp whose every pipeline has libvips stop its own work at the deadline (at its next tile). */
function timedSharp(sharp: SharpFn, deadlineAt: number | null): MakeSharp {
  return (input, options) => {
    const p = sharp(input, options);
    if (deadlineAt === null) return p;
    // whole seconds, rounded up: the run's own timer fires first and says why
    return p.timeout({ seconds: Math.max(1, Math.ceil((deadlineAt - Date.now()) / 1000)) });
  };
}

/**
 * Prepares one image within its deadline (prepareDeadlineMs). At the deadline the wait ends with a
 * clear error whatever is still running, and what can be stopped is: libvips pipelines (their
 * timeout), external decoders (the signal kills them), an SVG's rendering (its own process).
 */
export async function prepareBytes(subject: Subject, opts: ImageOptions): Promise<PreparedImage> {
  const ms = prepareDeadlineMs(opts);
  if (ms === 0) return prepareWithin(subject, opts, null);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ms);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  const late = new Promise<never>((_, reject) =>
    deadline.signal.addEventListener('abort', () => reject(tooSlow(subject.name, ms, opts.prepareTimeoutMs !== undefined)), {
      once: true,
    }),
  );
  try {
    return await Promise.race([prepareWithin(subject, { ...opts, signal }, Date.now() + ms), late]);
  } catch (err) {
    if (deadline.signal.aborted && !opts.signal?.aborted) throw tooSlow(subject.name, ms, opts.prepareTimeoutMs !== undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function prepareWithin(subject: Subject, opts: ImageOptions, deadlineAt: number | null): Promise<PreparedImage> {
  const { name, bytes, sniffed, report } = subject;
  const type = sniffed.type;
  const label = formatLabel(type);
  const declared = headerDimensions(bytes, type);
  if (overPixelLimit(declared)) throw tooManyPixels(name, label, declared);
  const heifTool = type === 'heic' ? await findHeifTool(opts.searchPath) : null;
  const decoder = chooseDecoder(type, !!heifTool);
  if (!decoder) {
    throw new ImageError('unsupported', `${name}: ${label} images are not supported; convert it to PNG or JPEG first`);
  }
  const impl = DECODERS[decoder];
  report.decoder = impl.label?.(heifTool) ?? null;
  const unchanged = await sendWithoutSharp(subject, opts);
  if (unchanged) return unchanged;
  const sharp = timedSharp(await loadSharp(), deadlineAt);
  const warnings: string[] = [];
  const input = { file: subject.file, bytes };

  const c: DecodeContext = { subject, opts, sharp, heifTool, input };
  const source = impl.source ? await impl.source(c) : { encoded: subject.path ?? bytes, raw: null, orientation: null };
  const { raw, orientation: fixedOrientation } = source;
  let { encoded } = source;
  let meta: Metadata | null = null;
  const inOpts: SharpOptions = { failOn: 'error', pages: 1 };

  if (!raw) {
    try {
      // An SVG's declared size may be enormous; reading its header costs nothing, and it is
      // rendered below at a density that fits maxEdge.
      meta = await sharp(encoded, type === 'svg' ? { ...inOpts, limitInputPixels: false } : inOpts).metadata();
    } catch (err) {
      if (!impl.headerOptional) {
        if (type === 'svg') throw new ImageError('not-image', `${name}: not an image (invalid SVG: ${firstLine(err)})`, { cause: err });
        if (isUnsupportedFormat(err)) {
          const what = type === 'avif' ? 'animated AVIF (image sequence)' : label;
          throw new ImageError('unsupported', `${name}: ${what} images are not supported; convert it to PNG or JPEG first`, { cause: err });
        }
        throw corruptError(name, label, err);
      }
    }
  }

  if (meta && type !== 'svg' && overPixelLimit({ width: meta.width ?? 0, height: meta.height ?? 0 })) {
    throw tooManyPixels(name, label, { width: meta.width ?? 0, height: meta.height ?? 0 });
  }
  if (meta) {
    report.widthIn = meta.width ?? null;
    report.heightIn = meta.height ?? null;
    report.animated = (meta.pages ?? 1) > 1 || type === 'apng';
  } else if (raw) {
    report.widthIn = raw.width;
    report.heightIn = raw.height;
  }
  if (report.animated) warnings.push(`${name} is animated: sending its first frame only`);

  const orientation = fixedOrientation ?? (impl.upright ? 1 : (meta?.orientation ?? 1));
  report.orientation = orientation > 1 || meta?.orientation ? orientation : null;
  const location = meta && !opts.keepMetadata ? await hasLocation(meta) : false;
  let w = report.widthIn ?? 0;
  let h = report.heightIn ?? 0;
  const plan = planPreparation({ type, width: w, height: h, orientation, animated: report.animated, location, size: subject.size }, opts);

  if (plan.action === 'send') return sendOriginal(subject, opts, warnings, w, h, sharp);
  if (plan.action === 'refuse') {
    throw new ImageError('needs-preparation', `${name}: ${plan.problems.join('; ')} and --no-resize was given`);
  }

  // Decode once: rotate upright, shrink (JPEG shrink-on-load keeps big photos cheap), sRGB 8-bit.
  const shrink = (p: Sharp): Sharp => p.resize({ width: opts.maxEdge, height: opts.maxEdge, fit: 'inside', withoutEnlargement: true });
  const fromEncoded = (): Sharp => {
    const p = sharp(encoded, inOpts);
    return fixedOrientation !== null ? orient(p, fixedOrientation) : impl.upright ? p : p.rotate();
  };
  if (impl.convert) {
    encoded = await impl.convert(c);
    meta = await sharp(encoded).metadata();
    report.widthIn = w = meta.width ?? 0;
    report.heightIn = h = meta.height ?? 0;
  }
  let pixels: Pixels;
  try {
    if (impl.pixels) {
      pixels = await impl.pixels(c, shrink, { width: w, height: h }, (dw, dh) => {
        report.widthIn = w = dw;
        report.heightIn = h = dh;
      });
    } else if (meta?.icc && meta.space === 'srgb' && meta.depth === 'uchar') {
      // Colour profiles are converted after shrinking: on 1.8 million pixels instead of 12 million.
      // The shrunk image keeps its profile through a lossless, uncompressed TIFF.
      const small = await shrink(fromEncoded()).keepIccProfile().tiff({ compression: 'none' }).toBuffer();
      pixels = await sharp(small).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    } else {
      pixels = await shrink(raw ? rawSharp(c, raw) : fromEncoded())
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
    }
  } catch (err) {
    throw err instanceof ImageError || err instanceof InterruptedError ? err : corruptError(name, label, err);
  }
  const { width, height, channels } = pixels.info;
  const alpha = (channels === 2 || channels === 4) && hasRealAlpha(pixels.data, channels);
  const rawOpts = { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } };
  // Metadata lives in the original only, so only sharp-decoded files can carry it over.
  // Only sharp's own formats carry metadata it can copy (an SVG's render would escape its deadline).
  const keep = opts.keepMetadata && !!impl.keepsMetadata;

  const make = (tw: number, th: number): Sharp => {
    let p: Sharp;
    if (keep) {
      // This path decodes again, which --keep-metadata pays for.
      p = sharp(encoded, inOpts).rotate().resize(tw, th, { fit: 'fill' }).toColourspace('srgb').keepMetadata();
    } else {
      p = sharp(pixels.data, rawOpts);
      if (tw !== width || th !== height) p = p.resize(tw, th, { fit: 'fill' });
    }
    return alpha ? p : p.removeAlpha();
  };

  let out = await encodeToFit(make, width, height, alpha, opts.maxBytes);
  if (!out) {
    throw new ImageError('too-large', `${name}: cannot be made to fit --max-bytes ${formatBytes(opts.maxBytes)}`);
  }
  const uprightW = orientation >= 5 ? h : w;
  const uprightH = orientation >= 5 ? w : h;
  // Never larger than needed: a JPEG bigger than the original file is tried as WebP too (WebP
  // costs several times JPEG's encoding time, so only then), and the smallest is sent.
  const candidates = [{ ...out, bytes: out.data.length }];
  if (out.format === 'jpeg' && out.quality !== null && out.data.length > subject.size) {
    const webp = await make(out.width, out.height).webp({ quality: out.quality }).toBuffer();
    if (base64Length(webp.length) <= opts.maxBytes) candidates.push({ ...out, data: webp, format: 'webp', bytes: webp.length });
  }
  // A head-only read (`path` set) never has the whole original to send.
  const pick = chooseOutput(candidates, { bytes: subject.size, allowed: plan.originalAllowed && !subject.path });
  if (pick === 'original') {
    warnings.push(`${name}: sent as it is (${w}x${h}); the shrunk image would have been larger`);
    return sendOriginal(subject, opts, warnings, w, h, sharp);
  }
  out = pick;

  // Pixels from libheif or a RAW's preview: the original's EXIF is copied over, marked upright.
  if (opts.keepMetadata && impl.copiesExif && out.format !== 'png') {
    const withExif = await copyExif(input, out.data, out.format, opts.exiftool);
    if (base64Length(withExif.length) <= opts.maxBytes) out = { ...out, data: withExif };
    else warnings.push(`${name}: its EXIF was dropped to fit --max-bytes ${formatBytes(opts.maxBytes)}`);
  }
  const mime = `image/${out.format}`;
  const rotated = orientation > 1 && !impl.upright;
  const outW = out.width;
  const outH = out.height;
  // An SVG has no pixel size of its own, so rendering it at maxEdge is not worth a warning.
  if (type !== 'svg' && (outW !== uprightW || outH !== uprightH)) {
    warnings.push(`${name}: resized ${uprightW}x${uprightH} → ${outW}x${outH}`);
  }
  return finish(
    subject,
    opts,
    { url: `data:${mime};base64,${out.data.toString('base64')}`, mime, warnings },
    {
      width: outW,
      height: outH,
      bytesOut: out.data.length,
      quality: out.quality,
      unchanged: false,
      rotated,
      uprightW,
      uprightH,
      hadMetadata: !!(meta?.exif || meta?.xmp || meta?.iptc) || !!impl.dropsMetadata?.(opts.keepMetadata),
    },
  );
}

/** The original bytes, once a full decode has proved them whole (a model shown half a picture describes it anyway). */
async function sendOriginal(
  subject: Subject,
  opts: ImageOptions,
  warnings: string[],
  w: number,
  h: number,
  sharp: MakeSharp,
): Promise<PreparedImage> {
  try {
    await sharp(subject.bytes, { failOn: 'error', pages: 1 }).raw().toBuffer();
  } catch (err) {
    throw corruptError(subject.name, formatLabel(subject.sniffed.type), err);
  }
  return sendAsIs(subject, opts, w, h, warnings);
}

function hasRealAlpha(data: Buffer, channels: number): boolean {
  for (let i = channels - 1; i < data.length; i += channels) if (data[i] !== 255) return true;
  return false;
}

interface Encoded {
  data: Buffer;
  format: 'jpeg' | 'png' | 'webp';
  quality: number | null;
  width: number;
  height: number;
}

/** Quality first, then size: a smaller sharp picture tells a model more than a blurry big one. */
async function encodeToFit(
  make: (w: number, h: number) => Sharp,
  width: number,
  height: number,
  alpha: boolean,
  maxBytes: number,
): Promise<Encoded | null> {
  const fits = (b: Buffer): boolean => base64Length(b.length) <= maxBytes;
  let scale = 1;
  for (;;) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    if (alpha && scale === 1) {
      const png = await make(w, h).png().toBuffer();
      if (fits(png)) return { data: png, format: 'png', quality: null, width: w, height: h };
    }
    for (const q of scale === 1 ? JPEG_QUALITIES : SHRINK_QUALITIES) {
      const p = make(w, h);
      const data = alpha ? await p.webp({ quality: q, alphaQuality: 90 }).toBuffer() : await p.jpeg({ quality: q }).toBuffer();
      if (fits(data)) return { data, format: alpha ? 'webp' : 'jpeg', quality: q, width: w, height: h };
    }
    if (Math.min(w, h) * SHRINK_STEP < MIN_EDGE) return null;
    scale *= SHRINK_STEP;
  }
}

interface Outcome {
  width: number;
  height: number;
  bytesOut: number;
  quality: number | null;
  unchanged: boolean;
  /** Pixels decoded and encoded again; default: whenever the bytes are not the original's. */
  reencoded?: boolean;
  rotated: boolean;
  uprightW?: number;
  uprightH?: number;
  hadMetadata?: boolean;
}

function finish(subject: Subject, opts: ImageOptions, sent: { url: string; mime: string; warnings: string[] }, o: Outcome): PreparedImage {
  const r = subject.report;
  r.widthOut = o.width;
  r.heightOut = o.height;
  r.bytesOut = o.bytesOut;
  r.quality = o.quality;
  r.unchanged = o.unchanged;
  r.reencoded = o.reencoded ?? !o.unchanged;
  r.rotated = o.rotated;
  r.resized = !o.unchanged && (o.width !== o.uprightW || o.height !== o.uprightH);
  r.converted = sent.mime !== `image/${subject.sniffed.type}`;
  r.metadataStripped = !o.unchanged && !opts.keepMetadata && !!o.hadMetadata;
  r.estimatedTokens = claudeTokens(o.width, o.height);
  r.openaiTokens = opts.model?.startsWith('gpt-') ? openaiTokens(o.width, o.height) : null;
  return { url: sent.url, mime: sent.mime, report: r, warnings: sent.warnings };
}
