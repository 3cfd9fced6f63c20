// Fetches an http(s) image here (the default; --pass-url sends the URL as given), so it can be
// checked and prepared like a local file. The fetch itself (address rule on every hop, proxy,
// timeout, size cap, redirects) is net/fetch.ts, shared with every other fetch on a user's behalf.
import { AddressRefusedError, FetchError, fetchChecked } from '../net/fetch.ts';
import { CliError } from '../types.ts';
import { tooLarge } from './read.ts';
import { ImageError, type ImageOptions } from './types.ts';

export async function download(url: URL, name: string, opts: ImageOptions): Promise<Buffer> {
  let fetched;
  try {
    fetched = await fetchChecked(url, {
      policy: opts.urlPolicy ?? { allowPrivate: false },
      timeoutMs: opts.timeoutMs,
      maxBytes: opts.maxInputBytes,
      tooLarge: () => tooLarge(name, opts.maxInputBytes),
      signal: opts.signal,
      accept: 'image/*',
    });
  } catch (err) {
    if (err instanceof AddressRefusedError) throw new ImageError('private-address', `${name}: ${err.message}`, { cause: err });
    if (err instanceof FetchError) {
      const status = err.status;
      // The host in the line: a redirect or a CDN may be what failed, and `name` can be long
      throw new ImageError('download', `${name}: download from ${url.host} failed: ${err.message}`, {
        cause: err,
        ...(status !== undefined ? { status } : {}),
      });
    }
    if (err instanceof CliError) throw err; // too large, interrupted
    throw err;
  }
  const { bytes, status } = fetched;
  // Servers often label images generically (application/octet-stream); the bytes decide later.
  // A declared non-image type is refused only when nothing else says it is an image.
  const ct = fetched.headers['content-type'];
  const mime = ((Array.isArray(ct) ? ct[0] : ct) ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime && !mime.startsWith('image/') && mime !== 'application/octet-stream' && mime !== 'binary/octet-stream') {
    const { sniff } = await import('./sniff.ts');
    const s = await sniff(bytes);
    if (!s.image) throw new ImageError('not-image', `${name}: not an image (server sent ${mime}, HTTP ${status})`);
  }
  return bytes;
}
