// `imgdesc alt`: the documents (which files, read whole and checked), where each image comes from,
// and writing a document back with only its alt text changed.
import { copyFile, lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../../types.ts';
import { writeFileAtomic } from '../batch-output.ts';
import { applyEdits, docKind, editFor, findImages, type DocKind, type FoundImage } from './find.ts';

/** Documents larger than this are not documentation: refused before they are read. */
export const MAX_DOC_BYTES = 8 * 1024 * 1024;

/** Folders never searched for documents. */
const SKIP_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', 'vendor', '.venv', '__pycache__']);

export interface DocFile {
  /** Absolute path. */
  path: string;
  /** As shown to the user (relative to the working folder). */
  shown: string;
  kind: DocKind;
}

/**
 * Documents from files, folders (searched recursively, hidden folders and node_modules skipped)
 * and quoted globs. A file named on its own must be a document; one found in a folder is taken
 * when its extension says it is one. A symbolic link is neither followed nor written through.
 */
export async function listDocs(inputs: readonly string[], cwd: string): Promise<DocFile[]> {
  const out = new Map<string, DocFile>();
  const add = (path: string) => {
    const kind = docKind(path);
    if (kind && !out.has(path)) out.set(path, { path, shown: relative(cwd, path) || path, kind });
    return kind;
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) await walk(p);
      } else if (e.isFile()) add(p);
    }
  };
  for (const input of inputs) {
    const abs = resolve(cwd, input);
    const st = await lstat(abs).catch(() => undefined);
    if (st?.isDirectory()) await walk(abs);
    else if (st?.isSymbolicLink()) throw new UsageError(`${input}: is a symbolic link; give the file it points to`);
    else if (st?.isFile()) {
      if (!add(abs)) throw new UsageError(`${input}: not a Markdown or HTML document (.md, .markdown, .mdx, .html, .htm)`);
    } else if (/[*?[{]/.test(input)) {
      const { glob } = await import('tinyglobby');
      const matches = await glob(input, {
        cwd,
        absolute: true,
        onlyFiles: true,
        followSymbolicLinks: false,
        ignore: ['**/node_modules/**'],
      });
      const docs = matches.filter((m) => docKind(m));
      if (docs.length === 0) throw new UsageError(`${input}: matches no Markdown or HTML document`);
      for (const m of docs.sort()) add(m);
    } else throw new UsageError(`${input}: no such file or folder`);
  }
  return [...out.values()];
}

export interface ReadDoc extends DocFile {
  bytes: Buffer;
  text: string;
  mode: number;
  images: FoundImage[];
}

/**
 * A document, read whole (it is small) and parsed. Text that is not UTF-8 could not be written
 * back byte for byte: it is refused, as is anything that is not a regular file.
 */
export async function readDoc(doc: DocFile): Promise<ReadDoc> {
  const st = await lstat(doc.path);
  if (!st.isFile()) throw new UsageError(`${doc.shown}: not a regular file`);
  if (st.size > MAX_DOC_BYTES) throw new UsageError(`${doc.shown}: larger than ${MAX_DOC_BYTES / 1024 / 1024} MiB; not read`);
  const bytes = await readFile(doc.path, { flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new UsageError(`${doc.shown}: not UTF-8 text; left as it is`);
  return { ...doc, bytes, text, mode: st.mode & 0o7777, images: await findImages(text, doc.kind) };
}

/** Where an image comes from: a file, a URL (fetched with the address checks), or a data: URL. */
export type ImageSource = { ok: true; key: string; source: string; url: boolean } | { ok: false; reason: string };

/**
 * The image a document's `src` names. Relative paths resolve against the document's folder,
 * absolute site paths (`/img/a.png`) against `--site-root`; a query or fragment is not part of a
 * file's name.
 */
export function imageSource(src: string, docPath: string, siteRoot: string | undefined): ImageSource {
  const s = src.trim();
  if (/^data:/i.test(s)) return { ok: true, key: s, source: s, url: false };
  if (/^https?:\/\//i.test(s)) return { ok: true, key: s, source: s, url: true };
  if (s.startsWith('//')) return { ok: true, key: `https:${s}`, source: `https:${s}`, url: true };
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return { ok: false, reason: `${s.split(':')[0]}: URLs are not images imgdesc reads` };
  if (s === '') return { ok: false, reason: 'the image has no source' };
  let path = s.replace(/[?#].*$/s, '');
  try {
    path = decodeURIComponent(path);
  } catch {
    // Not percent-encoded after all: the name as written.
  }
  if (path.startsWith('/')) {
    if (siteRoot === undefined) return { ok: false, reason: `${s}: a site path; give --site-root DIR to say where the site's files are` };
    const full = resolve(siteRoot, `.${path}`);
    return { ok: true, key: full, source: full, url: false };
  }
  const full = resolve(dirname(docPath), path);
  return { ok: true, key: full, source: full, url: false };
}

/** Whether `path` (after its links are followed) is inside one of `roots`. */
export async function insideRoots(path: string, roots: readonly string[]): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) return true; // missing: the image layer says so, naming the file.
  for (const root of roots) {
    const r = await realpath(root).catch(() => resolve(root));
    if (real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)) return true;
  }
  return false;
}

/** The document with alt text written at these images; only the alt text's bytes differ. */
export function withAltText(doc: Pick<ReadDoc, 'text'>, changes: readonly { image: FoundImage; alt: string }[]): string {
  return applyEdits(
    doc.text,
    changes.map((c) => editFor(c.image.site, c.alt)),
  );
}

/**
 * Reads the new text back with the same parser: the same images, in the same places, and each
 * changed one reads back as exactly the alt text written. Anything else means the edit was not
 * understood as meant, and the document is left as it is.
 */
export async function verifyAltText(
  doc: Pick<ReadDoc, 'kind' | 'images'>,
  next: string,
  changes: readonly { image: FoundImage; alt: string }[],
): Promise<string | null> {
  const after = await findImages(next, doc.kind);
  if (after.length !== doc.images.length) return `${after.length} images after the edit, ${doc.images.length} before`;
  const want = new Map(changes.map((c) => [doc.images.indexOf(c.image), c.alt]));
  for (let i = 0; i < after.length; i++) {
    const a = after[i];
    const b = doc.images[i];
    if (!a || !b || a.src !== b.src) return `image ${i + 1} changed its source`;
    const alt = want.get(i);
    if (alt !== undefined && a.alt !== alt) return `image ${i + 1} reads back as ${JSON.stringify(a.alt)}`;
  }
  return null;
}

/** `README.md.orig`, or `README.md.orig.1` … when that is taken: an older backup is never overwritten. */
async function backupPath(path: string): Promise<string> {
  for (let i = 0; ; i++) {
    const p = i === 0 ? `${path}.orig` : `${path}.orig.${i}`;
    if (!(await lstat(p).catch(() => undefined))) return p;
  }
}

export type WriteOutcome = { written: true; backup?: string } | { written: false; reason: string };

/**
 * Writes the document with its new alt text, atomically (a reader, or a run stopped now, sees the
 * old file or the new one, never half of each), keeping its permissions. A document that changed
 * since it was read is left alone: someone else's edit is not ours to overwrite.
 */
export async function writeDoc(doc: ReadDoc, next: string, opts: { backup: boolean }): Promise<WriteOutcome> {
  const now = await readFile(doc.path, { flag: constants.O_RDONLY | constants.O_NOFOLLOW }).catch(() => undefined);
  if (!now?.equals(doc.bytes)) return { written: false, reason: 'it changed while imgdesc was running; run it again' };
  let backup: string | undefined;
  if (opts.backup) {
    backup = await backupPath(doc.path);
    await copyFile(doc.path, backup, constants.COPYFILE_EXCL);
  }
  await writeFileAtomic(doc.path, next, { mode: doc.mode });
  return backup ? { written: true, backup } : { written: true };
}
