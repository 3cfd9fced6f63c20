// Formats sharp's prebuilt libvips cannot read, decoded to RGBA pixels by maintained libraries.
import { InterruptedError } from '../types.ts';
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

/**
 * A temporary folder for an external decoder's files, removed when `use` settles. Inputs that
 * are not regular files (stdin, URLs, data: URLs) are written there first.
 */
export async function withScratch<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'imgdesc-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function fileFor(input: { file: string | undefined; bytes: Buffer }, dir: string, name: string): Promise<string> {
  if (input.file) return input.file;
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const p = join(dir, name);
  await writeFile(p, input.bytes);
  return p;
}

const heifTools = new Map<string, Promise<string | null>>();

/**
 * The system's libheif decoder on this PATH: `heif-dec` (libheif ≥ 1.17) or `heif-convert`
 * (Debian 12's libheif-examples). Looked up once per PATH.
 */
export function findHeifTool(searchPath: string | undefined): Promise<string | null> {
  const key = searchPath ?? '';
  let found = heifTools.get(key);
  if (!found) {
    found = (async () => {
      if (!searchPath) return null;
      const { access, constants } = await import('node:fs/promises');
      const { delimiter, join } = await import('node:path');
      for (const name of ['heif-dec', 'heif-convert']) {
        for (const dir of searchPath.split(delimiter).filter(Boolean)) {
          const p = join(dir, name);
          if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
        }
      }
      return null;
    })();
    heifTools.set(key, found);
  }
  return found;
}

/**
 * HEIC through the system's libheif (native HEVC decoding, about twice as fast as the wasm build
 * and outside this process's memory). The result is a high-quality JPEG that sharp then shrinks
 * on load. libheif has applied the HEIF rotation (irot/imir) already; the EXIF orientation it
 * copies into the JPEG must not be applied again.
 */
export async function decodeHeicSystem(tool: string, input: { file: string | undefined; bytes: Buffer }, name: string, signal?: AbortSignal): Promise<Buffer> {
  const { execFile } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  return withScratch(async (dir) => {
    const src = await fileFor(input, dir, 'in.heic');
    const out = join(dir, 'out.jpg');
    await new Promise<void>((resolve, reject) => {
      execFile(tool, ['--quiet', '-q', '92', src, out], { signal, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
        if (!err) resolve();
        else if (signal?.aborted) reject(new InterruptedError());
        else reject(corrupt(name, 'HEIC', new Error(String(stderr).trim().split('\n').at(-1) || err.message)));
      });
    });
    // A file holding several top-level images gives out-1.jpg, out-2.jpg…; the first is the primary.
    return readFile(out).catch(() => readFile(join(dir, 'out-1.jpg')));
  });
}
