// The picked model, cached per model-list URL in $XDG_CACHE_HOME/imgdesc/models.json, so a run
// without a model set sends no extra request. A cache: losing it costs one GET, so read errors are
// treated as "nothing cached" and write errors are ignored. The config file is never touched.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CachedPick {
  picked: string;
  /** Every id the relay listed, for "closest ids" without another request. */
  ids: string[];
  /** When the list was fetched (ms since the epoch). */
  at: number;
}

/** Picks older than this are refreshed from the relay. */
export const MODEL_CACHE_TTL_MS = 24 * 60 * 60 * 1000;

export function cacheDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'imgdesc');
}

/** $XDG_STATE_HOME/imgdesc: the history of answers lives there. */
export function stateDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'imgdesc');
}

type CacheFile = Record<string, CachedPick>;

async function readAll(dir: string): Promise<CacheFile> {
  try {
    const data: unknown = JSON.parse(await readFile(join(dir, 'models.json'), 'utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as CacheFile) : {};
  } catch {
    return {};
  }
}

function valid(v: unknown): v is CachedPick {
  const p = v as CachedPick | undefined;
  return typeof p?.picked === 'string' && Array.isArray(p.ids) && typeof p.at === 'number';
}

export async function readCachedPick(dir: string, key: string): Promise<CachedPick | undefined> {
  const entry = (await readAll(dir))[key];
  return valid(entry) ? entry : undefined;
}

/** Stores (or with `undefined`, forgets) the pick for `key`; written atomically, errors ignored. */
export async function writeCachedPick(dir: string, key: string, pick: CachedPick | undefined): Promise<void> {
  try {
    const all = await readAll(dir);
    if (pick) all[key] = pick;
    else delete all[key];
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `models.json.${Math.random().toString(36).slice(2)}.tmp`);
    await writeFile(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, join(dir, 'models.json'));
  } catch {
    // a cache that cannot be written only costs a request next time
  }
}
