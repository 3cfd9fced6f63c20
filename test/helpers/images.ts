// Synthetic images built with sharp, so image tests need no fixture files.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ImageError, type ImageErrorReason, type ImageOptions } from '../../src/image/index.ts';

export const MiB = 1024 * 1024;

export function imageOptions(over: Partial<ImageOptions> = {}): ImageOptions {
  return {
    maxEdge: 1568,
    maxBytes: 5 * MiB,
    resize: true,
    keepMetadata: false,
    passUrl: false,
    maxInputBytes: 50 * MiB,
    timeoutMs: 5000,
    ...over,
  };
}

/** Deterministic noise: compresses badly, like a real photo, so byte limits bite. */
export function noise(width: number, height: number, channels: 3 | 4 = 3, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(width * height * channels);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  if (channels === 4) for (let i = 3; i < buf.length; i += 4) buf[i] = 255;
  return buf;
}

/** A smooth gradient photo stand-in: realistic JPEG sizes, fast to make. */
export function gradient(width: number, height: number): Buffer {
  const buf = Buffer.allocUnsafe(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      buf[i++] = (x * 255) / width;
      buf[i++] = (y * 255) / height;
      buf[i++] = ((x + y) * 7) & 0xff;
    }
  }
  return buf;
}

export const GPS_EXIF = {
  IFD0: { Make: 'TestCam' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
};

export async function cameraJpeg(opts: {
  width: number;
  height: number;
  orientation?: number;
  gps?: boolean;
  quality?: number;
}): Promise<Buffer> {
  let p = sharp(gradient(opts.width, opts.height), { raw: { width: opts.width, height: opts.height, channels: 3 } }).jpeg({
    quality: opts.quality ?? 90,
  });
  if (opts.orientation) p = p.withMetadata({ orientation: opts.orientation });
  if (opts.gps) p = p.withExif(GPS_EXIF);
  return p.toBuffer();
}

/**
 * The upright picture used by the orientation tests: 64x32, red top-left 32x16 quarter, blue
 * elsewhere. `storedFor(n)` gives the pixels a camera would store so that EXIF orientation n
 * displays this picture.
 */
export const UPRIGHT = { width: 64, height: 32 };

async function upright(): Promise<Buffer> {
  const { width, height } = UPRIGHT;
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const red = x < width / 2 && y < height / 2;
      buf[i] = red ? 255 : 0;
      buf[i + 2] = red ? 0 : 255;
    }
  }
  return sharp(buf, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** One operation per sharp instance: sharp's own operation order would otherwise apply. */
async function op(buf: Buffer, f: (s: sharp.Sharp) => sharp.Sharp): Promise<Buffer> {
  return f(sharp(buf)).png().toBuffer();
}

export async function storedFor(orientation: number): Promise<Buffer> {
  const c = await upright();
  let s: Buffer;
  switch (orientation) {
    case 2:
      s = await op(c, (x) => x.flop());
      break;
    case 3:
      s = await op(c, (x) => x.rotate(180));
      break;
    case 4:
      s = await op(c, (x) => x.flip());
      break;
    case 5:
      s = await op(await op(c, (x) => x.rotate(90)), (x) => x.flop());
      break;
    case 6:
      s = await op(c, (x) => x.rotate(270));
      break;
    case 7:
      s = await op(await op(c, (x) => x.rotate(90)), (x) => x.flip());
      break;
    case 8:
      s = await op(c, (x) => x.rotate(90));
      break;
    default:
      s = c;
  }
  return sharp(s).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
}

/** The UPRIGHT picture as sent: red top-left quarter, blue top-right and bottom-left. */
export async function assertUprightPicture(bytes: Buffer): Promise<void> {
  const [tlR, , tlB] = await pixelAt(bytes, 8, 4);
  const [trR, , trB] = await pixelAt(bytes, 56, 4);
  const [blR, , blB] = await pixelAt(bytes, 8, 28);
  assert.ok(tlR > 200 && tlB < 60, `top-left red, got ${tlR},${tlB}`);
  assert.ok(trB > 200 && trR < 60, 'top-right blue');
  assert.ok(blB > 200 && blR < 60, 'bottom-left blue');
}

/** Decodes a data: URL as sent. */
export function dataUrlBytes(url: string): { mime: string; bytes: Buffer } {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!m) throw new Error(`not a base64 data URL: ${url.slice(0, 40)}`);
  return { mime: m[1] as string, bytes: Buffer.from(m[2] as string, 'base64') };
}

export async function pixelAt(img: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
}

export async function animatedGif(): Promise<Buffer> {
  const frames = 3;
  const w = 40;
  const h = 30;
  const buf = Buffer.alloc(w * h * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < w * h; i++) {
      const o = (f * w * h + i) * 4;
      buf[o] = f === 0 ? 255 : 0;
      buf[o + 1] = f === 1 ? 255 : 0;
      buf[o + 2] = f === 2 ? 255 : 0;
      buf[o + 3] = 255;
    }
  }
  return sharp(buf, { raw: { width: w, height: h * frames, channels: 4, pageHeight: h } as sharp.CreateRaw })
    .gif({ loop: 0 })
    .toBuffer();
}

/** For assert.rejects: an ImageError (exit 2) with this reason, and a message matching. */
export function rejectsWith(reason: ImageErrorReason, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.reason, reason, err.message);
    // A download that failed (network, remote) is exit 4; every other refused input is exit 2.
    assert.equal(err.exitCode, reason === 'download' ? 4 : 2);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/**
 * A minimal DNG: one TIFF directory whose single strip is a complete JPEG (what exiftool reports
 * as the DNG's PreviewImage), with DNGVersion and the given EXIF orientation. Real DNGs keep the
 * sensor data in sub-directories; the preview is all imgdesc reads.
 */
export function dngWithPreview(jpeg: Buffer, width: number, height: number, orientation = 1): Buffer {
  const SHORT = 3;
  const LONG = 4;
  const BYTE = 1;
  const entries: [number, number, number, number | number[]][] = [
    [254, LONG, 1, 1],
    [256, LONG, 1, width],
    [257, LONG, 1, height],
    [258, SHORT, 3, -1], // BitsPerSample 8,8,8: stored after the directory
    [259, SHORT, 1, 7],
    [262, SHORT, 1, 6],
    [273, LONG, 1, -2], // StripOffsets: the JPEG
    [274, SHORT, 1, orientation],
    [277, SHORT, 1, 3],
    [278, LONG, 1, height],
    [279, LONG, 1, jpeg.length],
    [50706, BYTE, 4, [1, 4, 0, 0]],
    [50707, BYTE, 4, [1, 1, 0, 0]],
  ];
  const ifdAt = 8;
  const bitsAt = ifdAt + 2 + entries.length * 12 + 4;
  const jpegAt = bitsAt + 6;
  const head = Buffer.alloc(jpegAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(ifdAt, 4);
  head.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, count, value], i) => {
    const at = ifdAt + 2 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    if (Array.isArray(value)) value.forEach((b, j) => head.writeUInt8(b, at + 8 + j));
    else if (value === -1) head.writeUInt32LE(bitsAt, at + 8);
    else if (value === -2) head.writeUInt32LE(jpegAt, at + 8);
    else if (type === SHORT) head.writeUInt16LE(value, at + 8);
    else head.writeUInt32LE(value, at + 8);
  });
  for (let j = 0; j < 3; j++) head.writeUInt16LE(8, bitsAt + j * 2);
  return Buffer.concat([head, jpeg]);
}

/** The pixels a camera stores for orientation n, without any EXIF of their own (a RAW preview). */
export async function storedPixelsFor(orientation: number): Promise<Buffer> {
  return sharp(await storedFor(orientation))
    .jpeg({ quality: 95 })
    .toBuffer();
}
