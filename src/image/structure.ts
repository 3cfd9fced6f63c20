// A structural check of JPEG, PNG and GIF in JavaScript, so that an image sent as it is never
// loads sharp (≈30 ms per call, ≈1 ms of CPU per image in a batch).
//
// It walks the file to its end marker: every JPEG segment and entropy-coded scan, every PNG chunk
// with its CRC and its image data (inflated in small pieces, never held whole), every GIF block with its LZW codes. It reads what
// decides whether the bytes can go out unchanged: dimensions, EXIF orientation, location
// metadata, animation. WebP is left to sharp: libwebp refuses corrupt VP8 data that only a decode
// finds (a structural walk passed flipped bits that sharp refused).
//
// It only ever vouches: anything it does not fully understand or that looks wrong gives null, and
// the caller then asks sharp (which decodes and refuses what is broken, as before). So it cannot
// refuse a good image, and everything it passes has been walked byte by byte to its end.
/** node:zlib, for PNG only: loading it costs a JPEG's run ≈2 ms. */
const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

export interface Structure {
  width: number;
  height: number;
  /** EXIF orientation, 1 when there is none. */
  orientation: number;
  /** EXIF GPS tags or XMP GPS properties are present. */
  location: boolean;
  /** More than one frame. */
  animated: boolean;
}

/**
 * The most pixels imgdesc decodes: sharp's own default (16383 x 16383), applied from the header
 * before any byte is inflated or decoded, whatever decodes the format.
 */
export const PIXEL_LIMIT = 268_402_689;

/**
 * The stored size a header declares, read without inflating or decoding anything (JPEG: the
 * segments up to the frame header; PNG: IHDR; GIF: the screen and each frame's descriptor up to
 * the first image; WebP: VP8/VP8L/VP8X; BMP: the info header). null when the header says nothing
 * this can read: the decoder then applies the same limit itself.
 */
export function headerDimensions(bytes: Uint8Array, type: string): { width: number; height: number } | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (type === 'png' || type === 'apng') {
      if (b.toString('latin1', 12, 16) !== 'IHDR') return null;
      return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
    }
    if (type === 'gif') return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
    if (type === 'jpeg') return jpegFrameSize(b);
    if (type === 'webp') return webpSize(b);
    if (type === 'bmp') {
      // BITMAPCOREHEADER (12 bytes) has 16-bit sizes; the others 32-bit, height negative when top-down
      if (b.readUInt32LE(14) === 12) return { width: b.readUInt16LE(18), height: b.readUInt16LE(20) };
      return { width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) };
    }
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
  return null;
}

/** headerDimensions for bytes whose type is not known yet, told apart by their magic numbers. */
export function declaredSize(bytes: Uint8Array): { width: number; height: number } | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type =
    b[0] === 0x89 && b.toString('latin1', 1, 4) === 'PNG'
      ? 'png'
      : b[0] === 0xff && b[1] === 0xd8
        ? 'jpeg'
        : b.toString('latin1', 0, 3) === 'GIF'
          ? 'gif'
          : b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP'
            ? 'webp'
            : b.toString('latin1', 0, 2) === 'BM'
              ? 'bmp'
              : '';
  return headerDimensions(b, type);
}

/** Over the pixel limit, from whatever the header declares. */
export function overPixelLimit(size: { width: number; height: number } | null, limit = PIXEL_LIMIT): boolean {
  return !!size && size.width * size.height > limit;
}

function jpegFrameSize(b: Buffer): { width: number; height: number } | null {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    while (b[at] === 0xff) at++;
    const marker = b[at++] as number;
    if (marker === 0xd9 || marker === 0xda) return null; // no frame header before the scan
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    const len = b.readUInt16BE(at);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: b.readUInt16BE(at + 5), height: b.readUInt16BE(at + 3) };
    }
    at += len;
  }
  return null;
}

function webpSize(b: Buffer): { width: number; height: number } | null {
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X') return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  return null;
}

/** Thrown inside the walkers for anything unexpected; never leaves this module. */
class Unsure extends Error {}

function need(ok: boolean): asserts ok {
  if (!ok) throw new Unsure();
}

/** What a walk finds; the EXIF segment is parsed afterwards, loading its reader only then. */
type Walked = Omit<Structure, 'orientation'> & { exif?: Buffer };

/**
 * Facts about `bytes` of `type` ('jpeg' | 'png' | 'gif'), or null when the file is not
 * walked to its end cleanly (truncated, corrupt, or a variant this check leaves to the decoder).
 * Throws StructureRefusal for a PNG whose data inflates far past its pixels (a bomb).
 */
export async function inspectStructure(bytes: Uint8Array, type: string): Promise<Structure | null> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const walked = type === 'jpeg' ? inspectJpeg(buf) : type === 'png' ? await inspectPng(buf) : type === 'gif' ? inspectGif(buf) : null;
    if (!walked) return null;
    const { exif, ...facts } = walked;
    if (!exif) return { ...facts, orientation: 1 };
    const e = await readExif(exif);
    return { ...facts, orientation: e.orientation, location: facts.location || e.location };
  } catch (err) {
    if (err instanceof Unsure || err instanceof RangeError) return null;
    throw err;
  }
}

// ---- metadata shared by the formats ------------------------------------------------------------

const XMP_GPS = /GPS(Latitude|Longitude)/;

/** XMP text that places the picture: the same test the sharp path applies to its `xmp`. */
export function xmpHasLocation(xmp: Buffer): boolean {
  return XMP_GPS.test(xmp.toString('latin1'));
}

/** EXIF (with or without its "Exif\0\0" prefix) carrying GPS tags beyond the version. Throws when unreadable. */
export async function exifHasLocation(exif: Buffer): Promise<boolean> {
  const { default: exifReader } = await import('exif-reader');
  return gpsIn(exifReader(exif).GPSInfo);
}

function gpsIn(gps: Record<string, unknown> | undefined): boolean {
  return !!gps && Object.keys(gps).some((k) => k !== 'GPSVersionID');
}

async function readExif(exif: Buffer): Promise<{ orientation: number; location: boolean }> {
  const { default: exifReader } = await import('exif-reader');
  let parsed;
  try {
    parsed = exifReader(exif);
  } catch {
    throw new Unsure();
  }
  const o = parsed.Image?.Orientation;
  const orientation = o === undefined ? 1 : o;
  need(typeof orientation === 'number' && Number.isInteger(orientation) && orientation >= 1 && orientation <= 8);
  return { orientation, location: gpsIn(parsed.GPSInfo) };
}

// ---- JPEG ---------------------------------------------------------------------------------------

/** Huffman-coded frames libjpeg decodes: baseline, extended sequential, progressive. */
const SOF_HUFFMAN = new Set([0xc0, 0xc1, 0xc2]);

function inspectJpeg(b: Buffer): Walked {
  need(b[0] === 0xff && b[1] === 0xd8);
  let at = 2;
  let frame: { width: number; height: number; progressive: boolean; components: Map<number, number> } | undefined;
  const quant = new Set<number>();
  const huffman = new Set<string>();
  const scanned = new Set<number>();
  let location = false;
  let exif: Buffer | undefined;
  for (;;) {
    need(b[at] === 0xff);
    while (b[at] === 0xff) at++; // fill bytes
    const marker = b[at++];
    need(marker !== undefined);
    if (marker === 0xd9) break; // EOI
    need(marker !== 0xd8 && marker !== 0x01 && !(marker >= 0xd0 && marker <= 0xd7));
    const len = b.readUInt16BE(at);
    need(len >= 2 && at + len <= b.length);
    const seg = b.subarray(at + 2, at + len);
    at += len;
    if (marker === 0xe1) {
      if (seg.subarray(0, 6).toString('latin1') === 'Exif\0\0') {
        need(exif === undefined); // libexif reads the first one; two are unusual enough to leave to the decoder
        exif = seg;
      } else if (xmpHasLocation(seg)) location = true;
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      need(SOF_HUFFMAN.has(marker) && frame === undefined);
      const precision = seg[0];
      const height = seg.readUInt16BE(1);
      const width = seg.readUInt16BE(3);
      const n = seg[5] ?? 0;
      // 12-bit samples, CMYK, a height given later (DNL): the decoder's business
      need(precision === 8 && width > 0 && height > 0 && width * height <= PIXEL_LIMIT && (n === 1 || n === 3) && seg.length === 6 + 3 * n);
      const components = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const id = seg[6 + 3 * i] as number;
        const sampling = seg[7 + 3 * i] as number;
        const tq = seg[8 + 3 * i] as number;
        need(!components.has(id) && sampling >> 4 >= 1 && sampling >> 4 <= 4 && (sampling & 15) >= 1 && (sampling & 15) <= 4 && tq <= 3);
        components.set(id, tq);
      }
      frame = { width, height, progressive: marker === 0xc2, components };
    } else if (marker === 0xdb) {
      for (let p = 0; p < seg.length; ) {
        const pq = (seg[p] as number) >> 4;
        need(pq <= 1);
        quant.add((seg[p] as number) & 15);
        p += 1 + 64 * (pq + 1);
        need(p <= seg.length);
      }
    } else if (marker === 0xc4) {
      for (let p = 0; p < seg.length; ) {
        const tc = (seg[p] as number) >> 4;
        const th = (seg[p] as number) & 15;
        need(tc <= 1 && th <= 3 && p + 17 <= seg.length);
        let count = 0;
        for (let i = 1; i <= 16; i++) count += seg[p + i] as number;
        need(count <= 256);
        huffman.add(`${tc}${th}`);
        p += 17 + count;
        need(p <= seg.length);
      }
    } else if (marker === 0xdd) {
      need(seg.length === 2);
    } else if (marker === 0xda) {
      need(frame !== undefined);
      const ns = seg[0] ?? 0;
      need(ns >= 1 && ns <= 4 && seg.length === 4 + 2 * ns);
      const ss = seg[1 + 2 * ns] as number;
      const se = seg[2 + 2 * ns] as number;
      const a = seg[3 + 2 * ns] as number;
      if (!frame.progressive) need(ss === 0 && se === 63 && a === 0);
      else need(ss <= se && se <= 63 && (ss === 0 ? se === 0 : ns === 1) && a >> 4 <= 13 && (a & 15) <= 13);
      for (let i = 0; i < ns; i++) {
        const id = seg[1 + 2 * i] as number;
        const tables = seg[2 + 2 * i] as number;
        const tq = frame.components.get(id);
        need(tq !== undefined && quant.has(tq));
        // DC scans use a DC table except a progressive DC refinement (raw bits); AC scans an AC table
        if (ss === 0 && (!frame.progressive || a >> 4 === 0)) need(huffman.has(`0${tables >> 4}`));
        if (se > 0) need(huffman.has(`1${tables & 15}`));
        scanned.add(id);
      }
      at = skipEntropyData(b, at);
    }
    // APPn, COM and other segments: length checked above, contents not needed
  }
  need(frame !== undefined && scanned.size === frame.components.size);
  return { width: frame.width, height: frame.height, location, animated: false, ...(exif ? { exif } : {}) };
}

/** Skips an entropy-coded segment: stuffed 0xFF00 and restart markers in order; stops at the next marker. */
function skipEntropyData(b: Buffer, at: number): number {
  let rst = 0;
  for (;;) {
    const ff = b.indexOf(0xff, at);
    need(ff >= 0 && ff + 1 < b.length);
    const next = b[ff + 1] as number;
    if (next === 0x00) at = ff + 2;
    else if (next >= 0xd0 && next <= 0xd7) {
      need(next - 0xd0 === rst);
      rst = (rst + 1) & 7;
      at = ff + 2;
    } else if (next === 0xff) at = ff + 1;
    else return ff;
  }
}

// ---- PNG ----------------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Allowed bit depths per colour type. */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

async function inspectPng(b: Buffer): Promise<Walked> {
  need(b.subarray(0, 8).equals(PNG_SIGNATURE));
  const { crc32 } = zlib();
  let at = 8;
  let ihdr: { width: number; height: number; depth: number; colour: number; interlaced: boolean } | undefined;
  let palette = false;
  const idat: Buffer[] = [];
  let idatDone = false;
  let location = false;
  for (;;) {
    const len = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    need(len < 0x80000000 && at + 12 + len <= b.length);
    const data = b.subarray(at + 8, at + 8 + len);
    need(crc32(b.subarray(at + 4, at + 8 + len)) === b.readUInt32BE(at + 8 + len));
    at += 12 + len;
    if (ihdr === undefined) {
      need(type === 'IHDR' && len === 13);
      const depth = data[8] as number;
      const colour = data[9] as number;
      ihdr = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth, colour, interlaced: data[12] === 1 };
      need(
        ihdr.width > 0 &&
          ihdr.height > 0 &&
          !!PNG_DEPTHS[colour]?.includes(depth) &&
          data[10] === 0 &&
          data[11] === 0 &&
          (data[12] as number) <= 1,
      );
      need(ihdr.width * ihdr.height <= PIXEL_LIMIT); // before any IDAT is inflated
      continue;
    }
    if (idat.length > 0 && type !== 'IDAT') idatDone = true;
    if (type === 'IEND') break;
    if (type === 'IDAT') {
      need(!idatDone);
      idat.push(data);
    } else if (type === 'PLTE') {
      need(!palette && idat.length === 0 && len > 0 && len % 3 === 0 && len <= 768);
      palette = true;
    } else if (type === 'eXIf') {
      // sharp reads a PNG's orientation from here; leave that to it
      throw new Unsure();
    } else if (type === 'iTXt' || type === 'tEXt' || type === 'zTXt') {
      // XMP lives in iTXt "XML:com.adobe.xmp"; compressed text is left to the decoder
      if (type === 'zTXt' || (type === 'iTXt' && data[data.indexOf(0) + 1] === 1)) throw new Unsure();
      if (xmpHasLocation(data)) location = true;
    } else if (type === 'acTL') {
      throw new Unsure(); // APNG: sniffing tells it apart already
    } else {
      // an unknown critical chunk (upper-case first letter) cannot be skipped by a decoder
      need(((type.charCodeAt(0) >> 5) & 1) === 1);
    }
  }
  need(ihdr !== undefined && idat.length > 0 && at === b.length && (ihdr.colour !== 3 || palette));
  const { width, height, depth, colour, interlaced } = ihdr;
  const bitsPerPixel = depth * (PNG_CHANNELS[colour] as number);
  const passes = interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)] as const)
    : [[width, height] as const];
  const rows: Array<{ count: number; stride: number }> = [];
  for (const [w, h] of passes) if (w > 0 && h > 0) rows.push({ count: h, stride: 1 + Math.ceil((w * bitsPerPixel) / 8) });
  // Also proves the zlib stream whole (its Adler-32) and exactly as long as the image needs.
  await checkScanlines(idat, rows);
  return { width, height, location, animated: false };
}

/** Image data up to this many inflated bytes is inflated in one synchronous call (a few ms at most). */
const INFLATE_WHOLE_MAX = 1 << 20;
const INFLATE_CHUNK = 64 * 1024;
/**
 * Image data that inflates this far past what the declared pixels need is a bomb, not an encoder's
 * slip (libpng ignores a little extra data): refused, instead of inflated to its end by the decoder.
 */
const EXCESS_REFUSED = 1 << 20;

/**
 * A verdict the walk is sure of: the file is built to cost far more than it declares. The only
 * thing this module refuses by itself; everything else it is unsure of is left to the decoder.
 */
export class StructureRefusal extends Error {}
const TOO_MUCH_DATA = 'its image data inflates to far more than its pixels need';

/**
 * Inflates the IDAT data and checks every scanline's filter byte, holding at most one piece of
 * output at a time: a bomb costs a small buffer, not its declared size, and a big image is
 * inflated in pieces between which other work runs.
 */
async function checkScanlines(idat: Buffer[], rows: Array<{ count: number; stride: number }>): Promise<void> {
  let expected = 0;
  for (const r of rows) expected += r.count * r.stride;
  let pass = 0;
  let left = rows[0]?.count ?? 0;
  let next = 0; // offset of the next filter byte within the output seen so far
  let seen = 0;
  const scan = (piece: Buffer): void => {
    const end = seen + piece.length;
    if (end > expected + EXCESS_REFUSED) throw new StructureRefusal(TOO_MUCH_DATA);
    while (next < Math.min(end, expected)) {
      const r = rows[pass] as { count: number; stride: number };
      need((piece[next - seen] as number) <= 4);
      next += r.stride;
      if (--left === 0 && ++pass < rows.length) left = (rows[pass] as { count: number }).count;
    }
    seen = end;
  };
  const z = zlib();
  if (expected <= INFLATE_WHOLE_MAX) {
    let out: Buffer;
    try {
      out = z.inflateSync(Buffer.concat(idat), { maxOutputLength: expected + EXCESS_REFUSED + 1 });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new StructureRefusal(TOO_MUCH_DATA);
      throw err;
    }
    scan(out);
  } else {
    const inflate = z.createInflate({ chunkSize: INFLATE_CHUNK });
    await new Promise<void>((resolve, reject) => {
      inflate.on('data', (piece: Buffer) => {
        try {
          scan(piece);
        } catch (err) {
          inflate.destroy();
          reject(err);
        }
      });
      inflate.on('error', reject);
      inflate.on('end', resolve);
      // Fed one IDAT chunk at a time, as the inflater asks: never more than a chunk buffered.
      (async () => {
        for (const part of idat) {
          if (inflate.destroyed) return;
          if (!inflate.write(part)) await new Promise((r) => inflate.once('drain', r));
        }
        inflate.end();
      })().catch(reject);
    }).catch((err: unknown) => {
      if (err instanceof Unsure || err instanceof StructureRefusal) throw err;
      throw new Unsure(); // a broken zlib stream: the decoder says what is wrong
    });
  }
  need(seen === expected);
}

// ---- GIF ----------------------------------------------------------------------------------------

function inspectGif(b: Buffer): Walked {
  const sig = b.toString('latin1', 0, 6);
  need(sig === 'GIF87a' || sig === 'GIF89a');
  const width = b.readUInt16LE(6);
  const height = b.readUInt16LE(8);
  need(width > 0 && height > 0 && width * height <= PIXEL_LIMIT);
  const flags = b[10] as number;
  let at = 13 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  let frames = 0;
  let location = false;
  for (;;) {
    const block = b[at++];
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = b[at++];
      const start = at;
      at = skipSubBlocks(b, at);
      // an XMP application extension ("XMP DataXMP") holds its packet in the sub-blocks
      if (label === 0xff && b.toString('latin1', start + 1, start + 12) === 'XMP DataXMP' && xmpHasLocation(b.subarray(start, at)))
        location = true;
    } else {
      need(block === 0x2c);
      const fw = b.readUInt16LE(at + 4);
      const fh = b.readUInt16LE(at + 6);
      const f = b[at + 8] as number;
      at += 9 + (f & 0x80 ? 3 << ((f & 7) + 1) : 0);
      need(fw > 0 && fh > 0 && fw * fh <= PIXEL_LIMIT && ((flags | f) & 0x80) !== 0);
      const minCodeSize = b[at++] as number;
      need(minCodeSize >= 2 && minCodeSize <= 8);
      const start = at;
      at = skipSubBlocks(b, at);
      checkLzw(b.subarray(start, at), minCodeSize, fw * fh);
      frames++;
    }
  }
  need(frames > 0);
  return { width, height, location, animated: frames > 1 };
}

/** Returns the offset after a run of data sub-blocks and its zero terminator. */
function skipSubBlocks(b: Buffer, at: number): number {
  for (;;) {
    const n = b[at] as number | undefined;
    need(n !== undefined);
    at += 1 + n;
    if (n === 0) return at;
    need(at < b.length);
  }
}

/**
 * Runs a frame's LZW code stream without building pixels: every code must be known when read and
 * the stream must hold at least the frame's pixels; its end code or the end of data stops it.
 */
function checkLzw(blocks: Buffer, minCodeSize: number, pixelsWanted: number): void {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  let size = minCodeSize + 1;
  let next = clear + 2;
  // lengths of the strings each code stands for
  const lengths = new Uint16Array(4096);
  for (let i = 0; i < clear; i++) lengths[i] = 1;
  let prev = -1;
  let pixels = 0;
  let bits = 0;
  let nbits = 0;
  for (let i = 0; i < blocks.length; ) {
    const n = blocks[i++] as number;
    for (const stop = i + n; i < stop; i++) {
      bits |= (blocks[i] as number) << nbits;
      nbits += 8;
      while (nbits >= size) {
        const code = bits & ((1 << size) - 1);
        bits >>>= size;
        nbits -= size;
        if (code === clear) {
          size = minCodeSize + 1;
          next = clear + 2;
          prev = -1;
          continue;
        }
        if (code === end) {
          need(pixels >= pixelsWanted);
          return;
        }
        need(code <= next && (code < next || prev >= 0) && !(code >= clear && code < clear + 2));
        const len = code < next ? (lengths[code] as number) : (lengths[prev] as number) + 1;
        need(len > 0);
        pixels += len;
        if (prev >= 0 && next < 4096) {
          lengths[next] = (lengths[prev] as number) + 1;
          next++;
          if (next === 1 << size && size < 12) size++;
        }
        prev = code;
      }
    }
  }
  need(pixels >= pixelsWanted);
}

/**
 * A whole JPEG without its APP1 (EXIF, XMP) and APP13 (IPTC) segments: location and the rest of
 * the photo's metadata removed without decoding or re-encoding a pixel. Segments are dropped only
 * up to the first scan; the caller walks the result again to prove no location is left.
 * null when the file does not have the shape this expects.
 */
export function stripJpegMetadata(b: Buffer): Buffer | null {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  const kept: Buffer[] = [b.subarray(0, 2)];
  let at = 2;
  for (;;) {
    if (at + 4 > b.length || b[at] !== 0xff) return null;
    let m = at;
    while (b[m] === 0xff) m++; // fill bytes
    const marker = b[m] as number;
    if (marker === 0xda || marker === 0xd9) break; // the first scan (or the end): the rest as it is
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || m + 3 > b.length) return null;
    const end = m + 1 + b.readUInt16BE(m + 1);
    if (end > b.length) return null;
    if (marker !== 0xe1 && marker !== 0xed) kept.push(b.subarray(at, end));
    at = end;
  }
  kept.push(b.subarray(at));
  return Buffer.concat(kept);
}
