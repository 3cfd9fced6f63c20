// Where a description goes and which tags carry it. Pure: the exiftool side is in write.ts.

/** `photo.jpg.xmp` (darktable, digiKam) or `photo.xmp` (Lightroom, Capture One): --xmp-name. */
export type XmpNaming = 'ext' | 'stem';
export const XMP_NAMINGS: readonly XmpNaming[] = ['ext', 'stem'];

export function xmpPathFor(image: string, naming: XmpNaming): string {
  if (naming === 'ext') return `${image}.xmp`;
  const slash = Math.max(image.lastIndexOf('/'), image.lastIndexOf('\\'));
  const dot = image.lastIndexOf('.');
  return `${dot > slash + 1 ? image.slice(0, dot) : image}.xmp`;
}

/** Types exiftool writes in place without touching the pixels (by our sniffed type names). */
const EMBEDDABLE = new Set(['jpeg', 'heic', 'png', 'tiff', 'webp']);
/** Types with an IPTC block that photo managers read. */
const IPTC = new Set(['jpeg', 'tiff']);

export interface PhotoText {
  description: string;
  /** dc:subject (and IPTC keywords where embedded); empty: left as it is. */
  keywords: string[];
}

export type MetadataTarget =
  | { where: 'sidecar'; path: string; tags: Record<string, string | string[]> }
  | { where: 'embedded'; path: string; tags: Record<string, string | string[]> };

/**
 * Where --xmp or --embed puts one image's description, and the tags written. RAW files, and types
 * exiftool cannot write in place, always get a sidecar: a RAW is never rewritten.
 */
export function planTarget(image: string, type: string, mode: 'xmp' | 'embed', naming: XmpNaming, text: PhotoText): MetadataTarget {
  const keywords = text.keywords.length ? { 'XMP-dc:Subject': text.keywords } : {};
  if (mode === 'xmp' || !EMBEDDABLE.has(type)) {
    return { where: 'sidecar', path: xmpPathFor(image, naming), tags: { 'XMP-dc:Description': text.description, ...keywords } };
  }
  const tags: Record<string, string | string[]> = {
    'XMP-dc:Description': text.description,
    'EXIF:ImageDescription': text.description,
    ...keywords,
  };
  if (IPTC.has(type)) {
    tags['IPTC:CodedCharacterSet'] = 'UTF8';
    tags['IPTC:Caption-Abstract'] = text.description;
    if (text.keywords.length) tags['IPTC:Keywords'] = text.keywords;
  }
  return { where: 'embedded', path: image, tags };
}

/**
 * The description and keywords from an answer: a structured answer's `description`/`caption`
 * field (else the whole text) and its `tags`/`keywords` list.
 */
export function photoText(answer: string, data: unknown): PhotoText {
  const obj = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  const field = obj ? [obj.description, obj.caption, obj.alt_text].find((v) => typeof v === 'string' && v.trim()) : undefined;
  const list = obj ? [obj.keywords, obj.tags, obj.subjects].find((v) => Array.isArray(v)) : undefined;
  const keywords = Array.isArray(list)
    ? [
        ...new Set(
          list
            .filter((k): k is string => typeof k === 'string')
            .map((k) => k.trim())
            .filter(Boolean),
        ),
      ]
    : [];
  return { description: (typeof field === 'string' ? field : answer).trim(), keywords };
}

/** The first description a photo manager would show, from what exiftool read. */
export function existingDescription(tags: Record<string, unknown>): string | undefined {
  for (const k of ['Description', 'Caption-Abstract', 'ImageDescription']) {
    const v = tags[k];
    if (typeof v === 'string' && v.trim()) return v;
  }
  return undefined;
}

export function existingKeywords(tags: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of ['Subject', 'Keywords']) {
    const v = tags[k];
    for (const s of Array.isArray(v) ? v : v === undefined ? [] : [v])
      if (typeof s === 'string' || typeof s === 'number') out.push(String(s));
  }
  return [...new Set(out)];
}
