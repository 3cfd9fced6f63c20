// Deciding what the bytes are. Names, extensions and declared mime types are never trusted.

export interface Sniffed {
  /** Our format name: 'jpeg','png','apng','gif','webp','heic','avif','tiff','svg','bmp','ico',... */
  type: string;
  /** Human label used in messages, e.g. "JPEG XL". */
  label: string;
  mime: string;
  /** False when the bytes are something other than an image (PDF, zip, text ...). */
  image: boolean;
}

const LABELS: Record<string, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  apng: 'APNG',
  gif: 'GIF',
  webp: 'WebP',
  heic: 'HEIC',
  avif: 'AVIF',
  tiff: 'TIFF',
  svg: 'SVG',
  bmp: 'BMP',
  ico: 'ICO',
  cur: 'CUR',
  jxl: 'JPEG XL',
  jp2: 'JPEG 2000',
  psd: 'PSD (Photoshop)',
  icns: 'ICNS',
  jxr: 'JPEG XR',
  bpg: 'BPG',
  flif: 'FLIF',
  xcf: 'XCF (GIMP)',
  dng: 'DNG raw',
  cr2: 'Canon CR2 raw',
  cr3: 'Canon CR3 raw',
  nef: 'Nikon NEF raw',
  arw: 'Sony ARW raw',
  orf: 'Olympus ORF raw',
  rw2: 'Panasonic RW2 raw',
  raf: 'Fujifilm RAF raw',
};

/** file-type's extension → our type name, where they differ. */
const RENAME: Record<string, string> = { jpg: 'jpeg', tif: 'tiff', j2c: 'jp2', jpx: 'jp2', jpm: 'jp2', mj2: 'jp2' };

export function formatLabel(type: string): string {
  return LABELS[type] ?? type.toUpperCase();
}

function startsWith(buf: Uint8Array, bytes: number[], at = 0): boolean {
  if (buf.length < at + bytes.length) return false;
  return bytes.every((b, i) => buf[at + i] === b);
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Magic numbers of the sendable formats, for files file-type declines because their insides are
 * broken (a corrupt PNG chunk): they are still that format, and the decoder then says what is wrong.
 */
function magicFallback(buf: Uint8Array): string | null {
  if (startsWith(buf, PNG_SIG)) return 'png';
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(buf, [0x52, 0x49, 0x46, 0x46]) && startsWith(buf, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return null;
}

const SVG_START = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*<svg[\s>/]/i;

function looksLikeSvg(buf: Uint8Array): boolean {
  const head = Buffer.from(buf.subarray(0, 64 * 1024))
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  return SVG_START.test(head);
}

function looksLikeText(buf: Uint8Array): boolean {
  const head = buf.subarray(0, 4096);
  if (head.includes(0)) return false;
  // Replacement characters mean the bytes were not valid UTF-8, so not text we can name.
  return !Buffer.from(head).toString('utf8').slice(0, -4).includes('\uFFFD');
}

/**
 * The four sendable formats have unambiguous signatures; recognising them here spares the common
 * case file-type's import (≈40 ms). PNG needs its chunks walked up to IDAT to tell APNG apart.
 */
function fastPath(buf: Uint8Array): string | null {
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x47, 0x49, 0x46, 0x38]) && (buf[4] === 0x37 || buf[4] === 0x39) && buf[5] === 0x61) return 'gif';
  if (
    startsWith(buf, [0x52, 0x49, 0x46, 0x46]) &&
    startsWith(buf, [0x57, 0x45, 0x42, 0x50], 8) &&
    startsWith(buf, [0x56, 0x50, 0x38], 12)
  ) {
    return 'webp';
  }
  if (startsWith(buf, PNG_SIG) && startsWith(buf, [0x49, 0x48, 0x44, 0x52], 12)) {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let at = 8; at + 8 <= buf.length; ) {
      const type = Buffer.from(buf.subarray(at + 4, at + 8)).toString('latin1');
      if (type === 'acTL') return 'apng';
      if (type === 'IDAT' || type === 'IEND') return 'png';
      at += 12 + view.getUint32(at);
    }
  }
  return null;
}

/** A TIFF whose first IFD has a DNGVersion tag (0xC612) is a DNG raw file. */
export function isDng(buf: Uint8Array): boolean {
  const le = startsWith(buf, [0x49, 0x49, 0x2a, 0x00]);
  if (!le && !startsWith(buf, [0x4d, 0x4d, 0x00, 0x2a])) return false;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ifd = view.getUint32(4, le);
  if (ifd + 2 > buf.length) return false;
  const n = view.getUint16(ifd, le);
  for (let i = 0; i < n; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 2 > buf.length) return false;
    if (view.getUint16(at, le) === 0xc612) return true;
  }
  return false;
}

export async function sniff(buf: Uint8Array): Promise<Sniffed> {
  const fast = fastPath(buf);
  if (fast) {
    return { type: fast, label: formatLabel(fast), mime: fast === 'apng' ? 'image/apng' : `image/${fast}`, image: true };
  }
  const { fileTypeFromBuffer } = await import('file-type');
  const ft = await fileTypeFromBuffer(buf);
  if (ft && ft.ext !== 'xml') {
    let type = RENAME[ft.ext] ?? ft.ext;
    if (type === 'tiff' && isDng(buf)) type = 'dng';
    return { type, label: formatLabel(type), mime: type === 'dng' ? 'image/x-adobe-dng' : ft.mime, image: ft.mime.startsWith('image/') };
  }
  if (looksLikeSvg(buf)) return { type: 'svg', label: 'SVG', mime: 'image/svg+xml', image: true };
  const magic = magicFallback(buf);
  if (magic) return { type: magic, label: formatLabel(magic), mime: `image/${magic}`, image: true };
  if (ft) return { type: 'xml', label: 'XML', mime: ft.mime, image: false };
  if (looksLikeText(buf)) {
    const t = Buffer.from(buf.subarray(0, 1)).toString();
    const json = t === '{' || t === '[' || /^\s*[{[]/.test(Buffer.from(buf.subarray(0, 64)).toString('utf8'));
    return json
      ? { type: 'json', label: 'JSON text', mime: 'application/json', image: false }
      : { type: 'text', label: 'text', mime: 'text/plain', image: false };
  }
  return { type: 'unknown', label: 'unknown binary data', mime: 'application/octet-stream', image: false };
}

/** What to say about a non-image: "PDF, application/pdf". */
export function describeNonImage(s: Sniffed): string {
  if (s.type === 'text' || s.type === 'json' || s.type === 'unknown') return s.label;
  return `${s.label}, ${s.mime}`;
}
