// Formats sharp's prebuilt libvips cannot read, decoded to RGBA pixels by maintained libraries.
import { InterruptedError } from '../types.ts';
import { ImageError } from './types.ts';

export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

function corrupt(name: string, label: string, err: unknown): ImageError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ImageError('corrupt', `${name}: corrupt or unreadable ${label} (${why})`, { cause: err });
}

type Libheif = import('libheif-js').Libheif;
let libheif: Libheif | undefined;

/**
 * libheif's WebAssembly build, instantiated once per process (its heap is reused by every HEIC of
 * a batch). The factory reads libheif.wasm beside itself; the base64 bundle heic-decode loads
 * costs another 10 MB.
 */
async function loadLibheif(): Promise<Libheif> {
  if (!libheif) {
    const { createRequire } = await import('node:module');
    const factory = createRequire(import.meta.url)('libheif-js/libheif-wasm/libheif.js') as () => Libheif;
    libheif = factory();
  }
  return libheif;
}

/**
 * HEIC/HEIF without the system's libheif: libvips here has no HEVC decoder, so libheif's wasm
 * build decodes the primary image (applying irot/imir itself) to interleaved RGB, or RGBA when it
 * has alpha. `use` gets those pixels as a view on the wasm heap, without a copy, and must be done
 * with them when its promise settles: they are released then. A 12 MP photo costs 36 MB of heap
 * (reused by the next one) instead of 48 MB of heap plus a 48 MB copy.
 */
export async function withHeicPixels<T>(bytes: Buffer, name: string, use: (pixels: RawPixels) => Promise<T>): Promise<T> {
  const lib = await loadLibheif();
  const ctx = lib.heif_context_alloc();
  let handle: unknown = null;
  let image: unknown = null;
  try {
    const read = lib.heif_context_read_from_memory(ctx, bytes);
    if (read.code !== lib.heif_error_code.heif_error_Ok) throw new Error(read.message);
    handle = lib.heif_js_context_get_primary_image_handle(ctx);
    if (!handle || (handle as { code?: number }).code) throw new Error('no primary image');
    const alpha = !!lib.heif_image_handle_has_alpha_channel(handle);
    const chroma = alpha ? lib.heif_chroma.heif_chroma_interleaved_RGBA : lib.heif_chroma.heif_chroma_interleaved_RGB;
    const decoded = await lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!decoded || decoded.code) throw new Error(decoded?.message || 'decoding failed');
    image = decoded.image;
    const plane = (decoded.channels as HeifPlane[]).find((c) => c.id === lib.heif_channel.heif_channel_interleaved);
    if (!plane) throw new Error('no interleaved plane');
    const channels = alpha ? 4 : 3;
    const row = plane.width * channels;
    let data = Buffer.from(plane.data.buffer, plane.data.byteOffset, row * plane.height);
    if (plane.stride !== row) {
      // Padded rows (small images): copied tight, as sharp's raw input wants them.
      data = Buffer.alloc(row * plane.height);
      for (let y = 0; y < plane.height; y++) data.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
    }
    return await use({ data, width: plane.width, height: plane.height, channels });
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw corrupt(name, 'HEIC', err);
  } finally {
    if (image) lib.heif_image_release(image);
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
  }
}

interface HeifPlane {
  id: number;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}

export async function decodeBmp(bytes: Buffer, name: string): Promise<RawPixels> {
  const { default: decode } = await import('decode-bmp');
  try {
    const img = decode(bytes);
    return {
      data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      width: img.width,
      height: img.height,
      channels: 4,
    };
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
          if (
            await access(p, constants.X_OK).then(
              () => true,
              () => false,
            )
          )
            return p;
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
export async function decodeHeicSystem(
  tool: string,
  input: { file: string | undefined; bytes: Buffer },
  name: string,
  signal?: AbortSignal,
): Promise<Buffer> {
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

/**
 * The SVG renderer's process: sharp at the given density, to 8-bit sRGB pixels on stdout after a
 * 12-byte header (width, height, channels). CommonJS through `node -e`, so it runs the same from
 * the bundle and from the sources.
 */
const SVG_RENDERER = `
const sharp = require(process.argv[1]);
sharp.cache(false);
const parts = [];
process.stdin.on('data', (c) => parts.push(c));
process.stdin.on('end', async () => {
  try {
    const { data, info } = await sharp(Buffer.concat(parts), { failOn: 'error', pages: 1, density: Number(process.argv[2]) })
      .toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const head = Buffer.alloc(12);
    head.writeUInt32LE(info.width, 0);
    head.writeUInt32LE(info.height, 4);
    head.writeUInt32LE(info.channels, 8);
    process.stdout.write(Buffer.concat([head, data]));
  } catch (e) {
    process.stderr.write(String(e && e.message).split('\\n')[0]);
    process.exitCode = 1;
  }
});`;

/**
 * Renders an SVG in a process of its own, killed when `signal` aborts (the preparation's deadline
 * or the run's stop): librsvg's filters can cost minutes for a kilobyte and cannot be interrupted
 * in this process. Costs a Node start and a sharp load (≈0.1 s), paid by SVGs only.
 */
export async function renderSvgIsolated(
  svg: Buffer,
  density: number,
  maxEdge: number,
  name: string,
  signal?: AbortSignal,
): Promise<RawPixels> {
  const { spawn } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const { readStreamCapped } = await import('../read-capped.ts');
  const sharpPath = createRequire(import.meta.url).resolve('sharp');
  const child = spawn(process.execPath, ['-e', SVG_RENDERER, sharpPath, String(density)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
    killSignal: 'SIGKILL',
  });
  child.stdin.on('error', () => undefined); // a renderer killed early closes its end
  child.stdin.end(svg);
  // Rendered near maxEdge on its long side; room for a declared size that rounds up.
  const cap = 12 + 4 * (2 * maxEdge + 64) ** 2;
  const exited = new Promise<number | null>((resolve, reject) => {
    // 'error' comes for a failed spawn and again for an abort: every one is handled here
    child.on('error', reject);
    child.once('close', resolve);
  });
  exited.catch(() => undefined); // awaited below, after the output: not unhandled meanwhile
  const [out, err] = await Promise.all([
    readStreamCapped(child.stdout, { max: cap }).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    }),
    readStreamCapped(child.stderr, { max: 64 * 1024 }).catch(() => Buffer.alloc(0)),
  ]).catch(async (e: unknown) => {
    await exited.catch(() => undefined);
    if (signal?.aborted) throw new InterruptedError();
    throw corrupt(name, 'SVG', e);
  });
  let code: number | null;
  try {
    code = await exited;
  } catch (e) {
    if (signal?.aborted) throw new InterruptedError();
    throw corrupt(name, 'SVG', e);
  }
  if (signal?.aborted) throw new InterruptedError();
  if (code !== 0 || out.length < 12) throw corrupt(name, 'SVG', new Error(err.toString('utf8').trim() || `renderer exited ${code}`));
  const width = out.readUInt32LE(0);
  const height = out.readUInt32LE(4);
  const channels = out.readUInt32LE(8);
  if ((channels !== 3 && channels !== 4) || out.length !== 12 + width * height * channels) {
    throw corrupt(name, 'SVG', new Error('the renderer gave a short answer'));
  }
  return { data: out.subarray(12), width, height, channels };
}
