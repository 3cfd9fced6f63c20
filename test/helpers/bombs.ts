// Decompression and pixel bombs, built in memory in milliseconds (no large files committed): used
// by the hostile-input tests and by `npm run bench` (peak RSS and time per bomb).
import { constants, crc32, deflateRawSync } from 'node:zlib';

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid zlib stream of `n` zero bytes, about n/1000 bytes long: one fully flushed deflate block
 * of 1 MiB of zeros, repeated (a full flush resets the state, so the copies are identical).
 */
export function zlibZeros(n: number): Buffer {
  const block = 1 << 20;
  const full = deflateRawSync(Buffer.alloc(block), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const parts: Buffer[] = [Buffer.from([0x78, 0x9c])];
  let left = n;
  for (; left >= block; left -= block) parts.push(full);
  parts.push(deflateRawSync(Buffer.alloc(left), { level: 9 }));
  // Adler-32 of zeros: A stays 1, B counts the bytes.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((n % 65521) << 16) | 1) >>> 0);
  parts.push(adler);
  return Buffer.concat(parts);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * A PNG declaring width x height whose image data is all zeros (a valid, black image), plus
 * `extra` zero bytes of data past what the pixels need. 100000x100000 at 1 bit is 1.2 MB and
 * inflates to 1.25 GB.
 */
export function pngBomb(o: { width: number; height: number; depth?: number; colour?: number; extra?: number }): Buffer {
  const depth = o.depth ?? 1;
  const colour = o.colour ?? 0;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width, 0);
  ihdr.writeUInt32BE(o.height, 4);
  ihdr[8] = depth;
  ihdr[9] = colour;
  const row = 1 + Math.ceil((o.width * depth * (CHANNELS[colour] ?? 1)) / 8);
  const idat = zlibZeros(row * o.height + (o.extra ?? 0));
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr)];
  for (let i = 0; i < idat.length; i += 1 << 20) parts.push(pngChunk('IDAT', idat.subarray(i, i + (1 << 20))));
  parts.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** A baseline JPEG header declaring width x height (up to 65535 each), with one tiny scan. */
export function jpegBomb(width: number, height: number): Buffer {
  const seg = (marker: number, data: number[]): number[] => [0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 255, ...data];
  return Buffer.from([
    0xff,
    0xd8,
    ...seg(0xdb, [0, ...new Array<number>(64).fill(1)]),
    ...seg(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0]),
    ...seg(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0]),
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
    0x00,
    0xff,
    0xd9,
  ]);
}

/** A GIF whose screen and one frame declare width x height, with an LZW stream of a few bytes. */
export function gifBomb(width: number, height: number): Buffer {
  const u16 = (n: number): number[] => [n & 255, n >> 8];
  return Buffer.from([
    ...Buffer.from('GIF89a', 'latin1'),
    ...u16(width),
    ...u16(height),
    0x80,
    0,
    0,
    0,
    0,
    0,
    255,
    255,
    255,
    0x2c,
    ...u16(0),
    ...u16(0),
    ...u16(width),
    ...u16(height),
    0,
    2,
    2,
    0x4c,
    0x01,
    0,
    0x3b,
  ]);
}

/** A 32-bit BMP header declaring width x height, with a few bytes of pixels. */
export function bmpBomb(width: number, height: number): Buffer {
  const b = Buffer.alloc(54 + 16);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(32, 28);
  return b;
}

/** A lossless WebP (VP8X) whose canvas declares width x height. */
export function webpBomb(width: number, height: number): Buffer {
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'latin1');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(4 + vp8x.length, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, vp8x]);
}

/** An SVG whose `count` blur filters each take seconds to render: a bomb of work, not of bytes. */
export function svgBlurBomb(count: number): Buffer {
  const filters = Array.from(
    { length: count },
    (_, i) => `<filter id="f${i}"><feGaussianBlur stdDeviation="1000"/></filter><rect width="2000" height="2000" filter="url(#f${i})"/>`,
  );
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000">${filters.join('')}</svg>`);
}
