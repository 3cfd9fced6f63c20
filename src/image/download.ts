// Fetches an http(s) image here (the default; --pass-url sends the URL as given), with a timeout, a size cap and few redirects, so it can
// be checked and prepared like a local file.
import { InterruptedError, timeoutSignal } from '../types.ts';
import { loadUndici } from '../undici.ts';
import { readStreamCapped, tooLarge } from './read.ts';
import { ImageError, type ImageOptions } from './types.ts';

const MAX_REDIRECTS = 3;

export async function download(url: URL, name: string, opts: ImageOptions): Promise<Buffer> {
  const { request } = await loadUndici();
  const timeout = timeoutSignal(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let current = url;
  for (let hop = 0; ; hop++) {
    let res;
    try {
      // Only an Accept header: no credentials of any kind go to an image host.
      res = await request(current, {
        method: 'GET',
        headers: { accept: 'image/*', 'user-agent': 'imgdesc' },
        signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
    } catch (err) {
      throw failure(name, err, opts, timeout);
    }
    const status = res.statusCode;
    if (status >= 300 && status < 400 && status !== 304) {
      res.body.resume();
      const location = res.headers.location;
      const loc = Array.isArray(location) ? location[0] : location;
      if (!loc) throw new ImageError('download', `${name}: download failed (HTTP ${status} without a Location)`);
      if (hop >= MAX_REDIRECTS) throw new ImageError('download', `${name}: download failed (more than ${MAX_REDIRECTS} redirects)`);
      let next: URL;
      try {
        next = new URL(loc, current);
      } catch (err) {
        throw new ImageError('download', `${name}: download failed (bad redirect to ${loc})`, { cause: err });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ImageError('download', `${name}: download failed (redirect to ${next.protocol} refused)`);
      }
      current = next;
      continue;
    }
    if (status < 200 || status >= 300) {
      res.body.resume();
      throw new ImageError('download', `${name}: download failed (HTTP ${status})`);
    }
    const ctHeader = res.headers['content-type'];
    const contentType = (Array.isArray(ctHeader) ? ctHeader[0] : ctHeader) ?? '';
    const lengthHeader = res.headers['content-length'];
    const length = Number(Array.isArray(lengthHeader) ? lengthHeader[0] : lengthHeader);
    if (Number.isFinite(length) && length > opts.maxInputBytes) {
      res.body.destroy();
      throw tooLarge(name, opts.maxInputBytes);
    }
    let bytes: Buffer;
    try {
      bytes = await readStreamCapped(res.body, opts.maxInputBytes, name, signal);
    } catch (err) {
      if (err instanceof ImageError && err.reason === 'too-large') throw err;
      throw failure(name, err, opts, timeout);
    }
    // Servers often label images generically (application/octet-stream); the bytes decide later.
    // A declared non-image type is refused only when nothing else says it is an image.
    const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (mime && !mime.startsWith('image/') && mime !== 'application/octet-stream' && mime !== 'binary/octet-stream') {
      const { sniff } = await import('./sniff.ts');
      const s = await sniff(bytes);
      if (!s.image) throw new ImageError('download', `${name}: not an image (server sent ${mime}, HTTP ${status})`);
    }
    return bytes;
  }
}

function failure(name: string, err: unknown, opts: ImageOptions, timeout: AbortSignal): Error {
  if (opts.signal?.aborted) return new InterruptedError();
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  if (timeout.aborted || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new ImageError('download', `${name}: download timed out after ${Math.round(opts.timeoutMs / 100) / 10} s`, { cause: err });
  }
  const why = typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message : String(err);
  return new ImageError('download', `${name}: download failed (${why})`, { cause: err });
}
