// Formats sharp's prebuilt libvips cannot read, decoded to RGBA pixels by maintained libraries.
import { ImageError } from './types.ts';

export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

function corrupt(name: string, label: string, err: unknown): ImageError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ImageError('corrupt', `${name}: corrupt or unreadable ${label} (${why})`, { cause: err });
}

/** HEIC/HEIF: libvips here has no HEVC decoder, so libheif (wasm) decodes; it applies irot/imir itself. */
export async function decodeHeic(bytes: Buffer, name: string): Promise<RawPixels> {
  const { default: decode } = await import('heic-decode');
  try {
    const img = await decode({ buffer: bytes });
    return { data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), width: img.width, height: img.height, channels: 4 };
  } catch (err) {
    throw corrupt(name, 'HEIC', err);
  }
}

export async function decodeBmp(bytes: Buffer, name: string): Promise<RawPixels> {
  const { default: decode } = await import('decode-bmp');
  try {
    const img = decode(bytes);
    return { data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), width: img.width, height: img.height, channels: 4 };
  } catch (err) {
    throw corrupt(name, 'BMP', err);
  }
}

/**
 * ICO/CUR: the largest entry stands for the icon. PNG entries come back encoded (sharp reads
 * them), BMP entries as RGBA pixels.
 */
export async function decodeIco(bytes: Buffer, name: string, label: string): Promise<RawPixels | Buffer> {
  const { default: decode } = await import('decode-ico');
  let entries;
  try {
    entries = decode(bytes);
  } catch (err) {
    throw corrupt(name, label, err);
  }
  const best = [...entries].sort((a, b) => b.width * b.height - a.width * a.height || b.bpp - a.bpp)[0];
  if (!best) throw new ImageError('corrupt', `${name}: ${label} file holds no images`);
  const data = Buffer.from(best.data.buffer, best.data.byteOffset, best.data.byteLength);
  if (best.type === 'png') return data;
  return { data, width: best.width, height: best.height, channels: 4 };
}
