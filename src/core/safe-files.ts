// Files imgdesc writes beside the user's own (sidecars, XMP, metadata.jsonl, -o) are never reached
// through a link someone planted, and never anything but a regular file: an existing one that is a
// symbolic link, a folder, a device or a FIFO is refused, naming it, before anything is read from
// it or written to it (what git does for links out of a work tree). Reads open with O_NOFOLLOW and
// check what they opened, so a link planted between the check and the read is refused too.
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { UsageError } from '../types.ts';

export type FileKind = 'none' | 'file' | 'link' | 'other';

/**
 * A file imgdesc will not read or write through (`refused-file`), or a manifest row outside its
 * dataset (`outside-root`). Exit 2 for a run; a failed item (its code in the record) in a batch.
 */
export class RefusedFileError extends UsageError {
  readonly reason: string;
  constructor(message: string, reason = 'refused-file', hint?: string) {
    super(message, hint === undefined ? {} : { hint });
    this.name = 'RefusedFileError';
    this.reason = reason;
  }
}

/** What is at `path`, the link itself (not what it points to). */
export async function fileKind(path: string): Promise<FileKind> {
  try {
    const st = await lstat(path);
    return st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  } catch {
    // Absent, or its folder cannot be read: a later step says why it cannot be written.
    return 'none';
  }
}

/**
 * What `-o` may be: a new file, a regular file, or a stream to write to (a terminal, /dev/null, a
 * FIFO, also through a link such as /dev/stdout); a link to a file, a folder, a block device or a
 * socket is refused. `link` is the path itself (lstat), `target` what it leads to (stat).
 */
export function outputKind(
  link: { isSymbolicLink(): boolean } | undefined,
  target: { isFile(): boolean; isCharacterDevice(): boolean; isFIFO(): boolean } | undefined,
): 'new' | 'file' | 'stream' | { refused: 'link' | 'other' } {
  if (link === undefined) return 'new';
  if (target !== undefined && (target.isCharacterDevice() || target.isFIFO())) return 'stream';
  if (link.isSymbolicLink()) return { refused: 'link' };
  if (target?.isFile()) return 'file';
  return { refused: 'other' };
}

/** Why `what` at `path` of this kind is refused, or null (absent or a regular file). */
export function refusal(kind: FileKind, what: string): string | null {
  if (kind === 'link') return `${what} is a symbolic link; imgdesc does not read or write through links`;
  // a folder, a device, a FIFO or a socket
  if (kind === 'other') return `${what} is not a regular file`;
  return null;
}

/** Null when `path` is absent or a regular file, else why it is refused. */
export async function refusedTarget(path: string, what: string): Promise<string | null> {
  return refusal(await fileKind(path), what);
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * The text of a regular file we may rewrite, opened without following a link; undefined when it
 * does not exist. A link or anything but a regular file: RefusedFileError naming it as `what`.
 */
export async function readOwnFile(path: string, what: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // O_NOFOLLOW on a link: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD)
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') throw new RefusedFileError(refusal('link', what) as string);
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new RefusedFileError(refusal('other', what) as string);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Extensions of images (and camera RAW files): a sidecar by one of these names would replace a picture. */
const IMAGE_EXTENSIONS = new Set(
  (
    'jpg jpeg jpe jfif png apng gif webp avif heic heif hif tif tiff bmp dib svg svgz ico jxl jp2 j2k psd ' +
    'dng cr2 cr3 crw nef nrw arw srf sr2 raf orf rw2 pef srw x3f 3fr erf mrw rwl iiq kdc dcr mos'
  ).split(' '),
);

/** Whether `--sidecar EXT` names an image type (`jpg`, `.PNG`). */
export function isImageExtension(ext: string): boolean {
  return IMAGE_EXTENSIONS.has(ext.replace(/^\./, '').toLowerCase());
}

/**
 * Whether `path` is `root` or inside it. Both absolute and already resolved (realpath): links are
 * resolved first, so a link inside the dataset that points out of it is outside.
 */
export function insideRoot(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The path with every link resolved; for a file that does not exist, its folder resolved. */
export async function resolvedPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return realpath(dirname(path)).then(
      (dir) => join(dir, basename(path)),
      () => path,
    );
  }
}
