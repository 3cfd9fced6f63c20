// The answer cache: complete, accepted answers stored by a hash of everything that decides them,
// one file per answer under $XDG_CACHE_HOME/imgdesc/answers/ab/<rest of the key>.json.
//
// One file per entry because the cache is shared by concurrent runs and must survive kill -9
// without a lock: an entry is written to a temp file and renamed into place, so a reader sees the
// old file, the new one, or none; two runs storing the same key both write whole files and the
// last rename wins. A file that does not parse (a disk that filled up, a hand edit) is a miss.
// Entries are touched on a hit, so pruning removes the least recently used first.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, opendir, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Automatic pruning runs at most this often (it lists the whole cache). */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const VERSION = 1;

/** What is kept of a response: enough to give the same answer, usage and timing again. */
export interface StoredResponse {
  status: number;
  requestId: string | null;
  body: unknown;
  /** How long the original request took. */
  elapsedMs: number;
}

export interface CacheEntry {
  v: typeof VERSION;
  key: string;
  /** When the answer was received (ms since the epoch). */
  at: number;
  response: StoredResponse;
}

export interface CacheStats {
  dir: string;
  entries: number;
  bytes: number;
  maxBytes: number;
}

/**
 * The key of a request: sha256 over the endpoint and the body's canonical JSON (keys sorted), with
 * each inline image replaced by the hash of its bytes and `stream` left out (a transport choice, not
 * the question). The body holds everything that decides the answer: the prepared image bytes,
 * prompt, system message, model and every request parameter (max tokens, temperature, reasoning,
 * schema, n, detail). The endpoint is in it because relays map model names as they like: `gpt-4o`
 * on one relay may be another model on the next.
 */
export function answerKey(endpoint: string, body: Record<string, unknown>, imageHashes: ReadonlyMap<string, string>): string {
  const { stream: _stream, ...rest } = body;
  const canonical = JSON.stringify(rest, function (this: unknown, key, value: unknown) {
    if (key === 'url' && typeof value === 'string') {
      const h = imageHashes.get(value);
      if (h !== undefined) return `sha256:${h}`;
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const o = value as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return value;
  });
  return createHash('sha256').update(`imgdesc-answer-v${VERSION}\n${endpoint}\n`).update(canonical).digest('hex');
}

/** sha256 of the bytes a data: URL carries; null for anything else (a URL passed as given). */
export function dataUrlHash(url: string): string | null {
  if (!url.startsWith('data:')) return null;
  const comma = url.indexOf(',');
  if (comma < 0) return null;
  const meta = url.slice(5, comma);
  const data = url.slice(comma + 1);
  const bytes = meta.endsWith(';base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'utf8');
  return createHash('sha256').update(bytes).digest('hex');
}

function isEntry(v: unknown, key: string): v is CacheEntry {
  const e = v as CacheEntry | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.v === VERSION &&
    e.key === key &&
    typeof e.at === 'number' &&
    typeof e.response === 'object' &&
    e.response !== null &&
    typeof e.response.status === 'number' &&
    typeof e.response.elapsedMs === 'number'
  );
}

export class AnswerCache {
  /** Bucket folders made by this process (mkdir once each). */
  private readonly made = new Set<string>();

  constructor(
    /** $XDG_CACHE_HOME/imgdesc */
    readonly root: string,
    /** The `cache-max-size` setting (default 500 MiB). */
    readonly maxBytes: number,
  ) {}

  get dir(): string {
    return join(this.root, 'answers');
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key.slice(2)}.json`);
  }

  /** The stored answer for `key`, or undefined (none, unreadable, torn). Touches it for LRU. */
  async get(key: string): Promise<CacheEntry | undefined> {
    const file = this.path(key);
    let text: string;
    try {
      // Sync: a small file, and every batch image asks; a pooled async read costs more CPU than it reads.
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isEntry(entry, key)) return undefined;
    const now = new Date();
    await utimes(file, now, now).catch(() => {});
    return entry;
  }

  /** Stores an answer atomically (0600 in 0700 folders). Throws when it cannot be written. */
  async put(key: string, response: StoredResponse, at = Date.now()): Promise<void> {
    const file = this.path(key);
    const bucket = join(this.dir, key.slice(0, 2));
    if (!this.made.has(bucket)) {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await mkdir(bucket, { recursive: true, mode: 0o700 });
      this.made.add(bucket);
    }
    const entry: CacheEntry = { v: VERSION, key, at, response };
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
    try {
      // Sync for the same reason as get: a few kilobytes, once per answer.
      writeFileSync(tmp, JSON.stringify(entry) + '\n', { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {}
      throw err;
    }
    // Once per run that stores answers: bounded without every run paying for a listing.
    if (!this.pruning) this.pruning = this.pruneIfDue().catch(() => undefined);
  }

  /** The run's one automatic prune (await it before exit, or let the process wait for it). */
  pruning: Promise<unknown> | undefined;

  /** Forgets one answer (`--refresh` replaces it by storing; a failed refresh keeps nothing stale). */
  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch(() => {});
  }

  /** Every entry file with its size and last use; temp files older than a minute are removed. */
  private async list(): Promise<{ path: string; size: number; used: number }[]> {
    const out: { path: string; size: number; used: number }[] = [];
    let top;
    try {
      top = await opendir(this.dir);
    } catch {
      return out;
    }
    const now = Date.now();
    for await (const bucket of top) {
      if (!bucket.isDirectory() || !/^[0-9a-f]{2}$/.test(bucket.name)) continue;
      const dir = join(this.dir, bucket.name);
      let files;
      try {
        files = await opendir(dir);
      } catch {
        continue;
      }
      for await (const f of files) {
        const path = join(dir, f.name);
        const st = await stat(path).catch(() => undefined);
        if (!st?.isFile()) continue;
        // A temp file of a run that was killed mid-write.
        if (f.name.endsWith('.tmp')) {
          if (now - st.mtimeMs > 60_000) await unlink(path).catch(() => {});
          continue;
        }
        if (f.name.endsWith('.json')) out.push({ path, size: st.size, used: st.mtimeMs });
      }
    }
    return out;
  }

  async stats(): Promise<CacheStats> {
    const all = await this.list();
    return { dir: this.dir, entries: all.length, bytes: all.reduce((a, e) => a + e.size, 0), maxBytes: this.maxBytes };
  }

  /** Removes the least recently used entries until the cache is within `maxBytes`. */
  async prune(maxBytes = this.maxBytes): Promise<{ removed: number; freed: number; entries: number; bytes: number }> {
    const all = await this.list();
    let bytes = all.reduce((a, e) => a + e.size, 0);
    let removed = 0;
    let freed = 0;
    all.sort((a, b) => a.used - b.used);
    for (const e of all) {
      if (bytes <= maxBytes) break;
      await unlink(e.path).catch(() => {});
      bytes -= e.size;
      freed += e.size;
      removed++;
    }
    await this.stamp();
    return { removed, freed, entries: all.length - removed, bytes };
  }

  async clear(): Promise<{ removed: number; freed: number }> {
    const all = await this.list();
    await rm(this.dir, { recursive: true, force: true });
    this.made.clear();
    return { removed: all.length, freed: all.reduce((a, e) => a + e.size, 0) };
  }

  /**
   * Prunes when the last prune is older than an hour: called after a run stored answers, so the
   * cache stays bounded without a run paying for a listing every time.
   */
  async pruneIfDue(now = Date.now()): Promise<void> {
    const st = await stat(join(this.dir, '.pruned')).catch(() => undefined);
    if (st && now - st.mtimeMs < PRUNE_EVERY_MS) return;
    await this.prune();
  }

  private async stamp(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const file = join(this.dir, '.pruned');
      await writeFile(file, '', { mode: 0o600 });
      const now = new Date();
      await utimes(file, now, now);
    } catch {
      // no stamp: the next run prunes again
    }
  }
}
