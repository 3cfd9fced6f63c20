// Batch inputs: files, folders and quoted globs (or a --files-from list) → the list of images to do.
// Only paths are listed here, up front; nothing is read or prepared (that happens in the pipeline).
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { UsageError } from '../types.ts';
import { xmpPathFor } from '../metadata/plan.ts';
import { HF_METADATA } from './hf-metadata.ts';
import { shardKey } from './shard.ts';

/** --sidecar-name: `photo.txt` (stem) or `photo.jpg.txt` (full). */
export type SidecarNaming = 'stem' | 'full';

export interface BatchItem {
  /** The path as the user gave it (or as folder + relative name); what results name it by. */
  image: string;
  /** Absolute path, for de-duplication and resume matching (the URL itself for URLs). */
  key: string;
  /**
   * Named by the user (a file argument, a --files-from line): a non-image is a failure.
   * Found in a folder or by a glob: a non-image is skipped and counted.
   */
  explicit: boolean;
  url: boolean;
  /** What is read, when it is not `image` (a manifest row's data: URL). */
  source?: string;
  /**
   * What decides its shard: the path relative to the input root (the folder or the glob's fixed
   * part), the path as given for a named file, the URL, or a manifest's value or id. Default: image.
   */
  shardKey?: string;
  /** A manifest row's id (--id-col): results are named, resumed and merged by it. */
  id?: string;
  /** A manifest row's other columns, carried into the record. */
  row?: Record<string, unknown>;
  /** This image's own prompt (`imgdesc alt`: built from where the image appears), instead of the batch's. */
  prompt?: string /** A manifest row's file must stay inside `root` (links resolved); `row` names it (`rows.csv:12`). */;
  confine?: { root: string; row: string };
}

/** What resume and merge match an item by: its id when it has one, else the path or URL. */
export function resumeKey(item: { id?: string | undefined; key: string }): string {
  return item.id !== undefined ? `id\0${item.id}` : item.key;
}

/** The fixed folder a glob starts from: `photos/2024` for `photos/2024/**\/*.jpg`. */
export function globRoot(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const p of parts.slice(0, -1)) {
    if (GLOB_CHARS.test(p)) break;
    fixed.push(p);
  }
  return fixed.join('/') || '.';
}

export interface ExpandOptions {
  cwd: string;
  recursive: boolean;
  /** The text of the --files-from list, when given. */
  filesFrom?: string | undefined;
  /** --files-from is NUL-separated (-0). */
  nul?: boolean | undefined;
}

const GLOB_CHARS = /[*?[\]{}]/;

export function isRemote(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/** Splits a --files-from list: one path per line (CRLF tolerated, blank lines ignored), or NUL-separated. */
export function splitFileList(text: string, nul: boolean): string[] {
  if (nul) return text.split('\0').filter((p) => p !== '');
  return text
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.trim() !== '');
}

/** Hidden entries (.DS_Store, .git, our own sidecar temp files) are left out of folder listings. */
function hidden(name: string): boolean {
  return name.startsWith('.');
}

/** A file found in a folder; `real` is its real path when known without asking (not a link itself). */
interface Found {
  image: string;
  abs: string;
  real: string | undefined;
}

async function listFolder(dir: string, shown: string, recursive: boolean, out: Found[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  // The folder's real path once, rather than each file's: 100,000 realpath calls took seconds.
  const realDir = await realpath(dir).catch(() => undefined);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (hidden(e.name)) continue;
    const abs = join(dir, e.name);
    const image = join(shown, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    const link = e.isSymbolicLink();
    if (link) {
      const st = await stat(abs).catch(() => undefined);
      isDir = st?.isDirectory() ?? false;
      isFile = st?.isFile() ?? false;
      // Following a linked folder could loop; only files are followed.
      if (isDir) continue;
    }
    if (isFile) out.push({ image, abs, real: link || realDir === undefined ? undefined : join(realDir, e.name) });
    else if (isDir && recursive) await listFolder(abs, image, recursive, out);
  }
}

/**
 * Expands the inputs in order, de-duplicated by real path (a symlink, `dir/../dir` or a glob
 * through a linked folder names a file once). A missing file or folder is a usage error (exit 2,
 * nothing sent); a folder or glob with nothing in it adds nothing, like an empty list (the CLI says
 * so). Paths from --files-from are explicit but not checked here: a stale line is one failed item,
 * not a refused batch.
 */
export async function expandInputs(inputs: string[], opts: ExpandOptions): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  const seen = new Set<string>();
  const add = async (image: string, key: string, explicit: boolean, url = false, root?: string, known?: string) => {
    const real = url ? key : (known ?? (await realpath(key).catch(() => key)));
    if (seen.has(real)) return;
    seen.add(real);
    items.push({ image, key, explicit, url, shardKey: url ? image : shardKey(root === undefined ? image : relative(root, image)) });
  };

  for (const input of inputs) {
    if (input === '') throw new UsageError("'': not a file, folder or glob");
    if (input === '-')
      throw new UsageError('batch cannot read an image from stdin', { hint: 'use --files-from - to read a list of paths' });
    if (isRemote(input)) {
      await add(input, input, true, true);
      continue;
    }
    const abs = resolve(opts.cwd, input);
    const st = await stat(abs).catch((err: NodeJS.ErrnoException) => err);
    if (!(st instanceof Error)) {
      if (st.isDirectory()) {
        const found: Found[] = [];
        await listFolder(abs, input, opts.recursive, found);
        for (const f of found) await add(f.image, f.abs, false, false, input, f.real);
      } else {
        await add(input, abs, true);
      }
      continue;
    }
    if (st.code !== 'ENOENT' && st.code !== 'ENOTDIR') throw new UsageError(`${input}: cannot read (${st.code ?? st.message})`);
    if (!GLOB_CHARS.test(input)) throw new UsageError(`${input}: no such file or folder`);
    const { glob } = await import('tinyglobby');
    // Globs behave like the shell's: dotfiles only when the pattern names them; sorted for a stable order.
    const matches = (await glob(input, { cwd: opts.cwd, onlyFiles: true, dot: false, expandDirectories: false })).sort();
    const root = globRoot(input);
    for (const m of matches) await add(m, resolve(opts.cwd, m), false, false, root);
  }

  if (opts.filesFrom !== undefined) {
    for (const p of splitFileList(opts.filesFrom, opts.nul === true)) {
      if (isRemote(p)) await add(p, p, true, true);
      else await add(p, resolve(opts.cwd, p), true);
    }
  }
  return items;
}

/** `{name}`, `{stem}`, `{dir}`, `{path}` in a batch prompt; anything else in braces is left alone. */
export function renderPrompt(template: string, image: string): string {
  const path = image;
  const name = isRemote(image) ? basename(new URL(image).pathname) : basename(image);
  const ext = extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  const dir = isRemote(image) ? image.slice(0, image.lastIndexOf('/')) : dirname(image);
  const values: Record<string, string> = { name, stem, dir, path };
  return template.replace(/\{(name|stem|dir|path)\}/g, (_m, k: string) => values[k] ?? '');
}

/**
 * `photo.jpg` → `photo.txt` beside it (for a file without an extension, `photo` → `photo.txt`);
 * with `full` naming `photo.jpg.txt`, so `a.jpg` and `a.png` in one folder do not share one.
 */
export function sidecarPath(imagePath: string, ext: string, naming: SidecarNaming = 'stem'): string {
  const e = ext.startsWith('.') ? ext.slice(1) : ext;
  const name = basename(imagePath);
  if (naming === 'full') return join(dirname(imagePath), `${name}.${e}`);
  const dot = extname(name);
  const stem = dot && dot !== name ? name.slice(0, -dot.length) : name;
  return join(dirname(imagePath), `${stem}.${e}`);
}

/**
 * `-o` as an absolute path or template → whether a listed file is one of the batch's outputs: the
 * file itself, or with `{shard}` any shard's (another task's part in the same folder is no input).
 */
export function outputMatcher(output: string | undefined): (path: string) => boolean {
  if (output === undefined) return () => false;
  if (!output.includes('{shard}')) return (p) => p === output;
  const [head = '', ...rest] = output.split('{shard}');
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc(head)}${rest.map((r) => `\\d+${esc(r)}`).join('')}$`);
  return (p) => re.test(p);
}

/**
 * Leaves out, among files found in folders or by globs, what a batch writes there: its `-o` file,
 * and beside the images listed with them their caption sidecars (`photo.txt` with `--sidecar txt`,
 * either naming), XMP sidecars and `metadata.jsonl`. Left in, a rerun would count as "not images"
 * files the first run did not have. A file no listed image owns (`README.txt`) stays, and is a
 * non-image on every run alike; so do files the user named (a named non-image is reported as such).
 */
export function withoutOwnFiles(
  items: BatchItem[],
  own: { sidecar?: string | undefined; isOutput: (path: string) => boolean },
): BatchItem[] {
  // Each file a listed image would own, with its owner, or null once two images claim it (then it
  // is another's, whoever asks): a file is not its own sidecar (README.txt is where `--sidecar txt`
  // would put README.txt's caption). No set per file: a folder of 100,000 images claims 300,000.
  const owners = new Map<string, string | null>();
  const claim = (path: string, owner: string) => {
    const had = owners.get(path);
    if (had === undefined) owners.set(path, owner);
    else if (had !== null && had !== owner) owners.set(path, null);
  };
  for (const i of items) {
    if (i.url) continue;
    if (own.sidecar !== undefined) for (const naming of ['stem', 'full'] as const) claim(sidecarPath(i.key, own.sidecar, naming), i.key);
    claim(xmpPathFor(i.key, 'ext'), i.key);
    claim(xmpPathFor(i.key, 'stem'), i.key);
    claim(join(dirname(i.key), HF_METADATA), i.key);
  }
  const ownedByAnother = (key: string) => {
    const owner = owners.get(key);
    return owner === null || (owner !== undefined && owner !== key);
  };
  return items.filter((i) => i.explicit || i.url || (!own.isOutput(i.key) && !ownedByAnother(i.key)));
}
