// Which images a tool call may read. An agent passes whatever path a prompt put in front of it, so a
// file path is confined: to the client's roots when the client declares roots, otherwise to the
// folder the server was started in plus --allow-dir. Paths are compared after realpath, so a
// symlink inside a root that points outside is outside.
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../types.ts';

export interface Confinement {
  /** roots: the client's roots; dirs: the start folder and --allow-dir. */
  rule: 'roots' | 'dirs';
  /** Real (symlink-free) absolute folders. */
  dirs: string[];
  /** Relative paths are resolved here: the first root, or the start folder. */
  base: string;
}

/** Whether a real absolute path is one of `dirs` or below one. */
export function isInside(path: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => {
    const rel = relative(dir, path);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  });
}

/** The refusal for a path outside, naming the rule that applies. */
export function outsideMessage(input: string, c: Pick<Confinement, 'rule' | 'dirs'>): string {
  const list = c.dirs.length ? c.dirs.join(', ') : 'none';
  return c.rule === 'roots'
    ? `${input}: outside the client's roots (${list}); only files under the roots the client declares can be read`
    : `${input}: outside the folders this server may read (${list}): the folder imgdesc mcp started in and each --allow-dir`;
}

/** What kind of image reference a tool argument is; the path of a file:// URL. */
export function classifyImage(input: string): { kind: 'url' | 'data' | 'path'; value: string } | { kind: 'refused'; why: string } {
  if (/^https?:\/\//i.test(input)) return { kind: 'url', value: input };
  if (/^data:/i.test(input)) return { kind: 'data', value: input };
  if (/^file:/i.test(input)) {
    try {
      return { kind: 'path', value: fileURLToPath(input) };
    } catch {
      return { kind: 'refused', why: `${input}: not a valid file: URL` };
    }
  }
  if (input === '-')
    return { kind: 'refused', why: '-: stdin carries the MCP protocol here; give a file path, an http(s) URL or a data: URL' };
  // `c:\x` is a Windows path, not a scheme
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(input);
  if (scheme && !/^[a-z]:[\\/]/i.test(input)) {
    return { kind: 'refused', why: `${input}: ${scheme[1]}: URLs are not read; give a file path, an http(s) URL or a data: URL` };
  }
  return { kind: 'path', value: input };
}

/** The real path of a folder, or the folder as given when it cannot be resolved (it may appear later). */
export async function realDir(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    return resolve(dir);
  }
}

/**
 * The real path a tool may read for `input`, or a UsageError: no such file (the CLI's words), or
 * outside the confinement.
 */
export async function confinePath(input: string, path: string, c: Confinement): Promise<string> {
  let real: string;
  try {
    real = await realpath(resolve(c.base, path));
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`${input}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`${input}: permission denied`);
    throw new UsageError(`${input}: cannot read (${typeof code === 'string' ? code : String(err)})`);
  }
  if (!isInside(real, c.dirs)) throw new UsageError(outsideMessage(input, c));
  return real;
}

/** A root's folder: roots are file:// URIs (MCP 2025-06-18 §roots); anything else is ignored. */
export function rootPath(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}
