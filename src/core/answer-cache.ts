// The answer cache: complete, accepted answers stored by a hash of everything that decides them,
// one JSON line per answer in 256 append-only files, $XDG_CACHE_HOME/imgdesc/answers/<ab>.jsonl,
// where `ab` is the first byte of the key.
//
// Why append-only files and not a file per answer: creating a file costs the kernel 50–500 µs
// (inode, directory entry, journal), several times what the rest of storing an answer costs, and a
// batch of misses stores thousands; an append to an existing file is one write(). The cache is
// shared by concurrent runs and must survive kill -9 without a lock: each entry is appended with a
// single write() to a file opened O_APPEND, which Linux applies whole and at the end of a regular
// file, so writers never interleave and a reader sees whole lines (or a torn last one after a full
// disk or a power cut, which is a miss; an entry glued to it is still found: each starts with
// `{"key":"`). The latest entry of a key wins. Each run indexes a file the first time it looks in
// it (key → offset) and reads only what was appended since on later looks, so a batch of hits
// reads each file once. Pruning rewrites the files (temp file, rename), dropping the least recently
// used answers: a hit appends a small `{"used":…}` line when the answer was last used more than a
// day ago, so a repeated batch writes nothing. It happens as the cache is used, a file at a time:
// an append that takes a file past its 256th of the size trims that file (Store.trim).
import { hash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageReport } from '../types.ts';

/** A hit records its use when the last recorded one is older than this (for least-recently-used pruning). */
const TOUCH_AFTER_MS = 24 * 60 * 60 * 1000;
const VERSION = 3;
const NL = 0x0a;
const ENTRY = Buffer.from('{"key":"');
const USED = Buffer.from('{"used":"');

/** What is kept of a response: enough to give the same answer, usage and timing again. */
export interface StoredResponse {
  status: number;
  requestId: string | null;
  body: unknown;
  /** How long the original request took. */
  elapsedMs: number;
}

export interface CacheEntry {
  key: string;
  v: typeof VERSION;
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
 * The digest an inline image is keyed by: its type and the sha256 of its bytes, `image/png:<hex>`
 * (knownDigest), for a data: URL in the form prepared images take (`data:<type>;base64,<data>`).
 * null for anything else, which is keyed by its text (a URL passed as given). The bytes' sha256,
 * not the text's: a batch has already hashed a file that is sent as it is (its record's sha256), so
 * that image is keyed without hashing it again.
 */
export function imageDigest(url: string): string | null {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0 || !url.endsWith(';base64', comma)) return null;
  // one call, no Hash object
  return knownDigest(url.slice(5, comma - 7), hash('sha256', Buffer.from(url.slice(comma + 1), 'base64'), 'hex'));
}

/** The digest of an image of type `mime` whose bytes' sha256 is known (as imageDigest gives it). */
export function knownDigest(mime: string, sha256: string): string {
  return `${mime}:${sha256}`;
}

/** The sha256 of the bytes from a digest (what `sha256sum` says of them). */
export function digestHash(digest: string): string {
  return digest.slice(digest.lastIndexOf(':') + 1);
}

/** The digest of each inline image by its URL (a Map will do). */
export interface Digests {
  get(url: string): string | undefined;
}

/** JSON with the keys of every object sorted and each `url` found in `digests` replaced by its digest. */
function canonical(value: unknown, digests: Digests): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  // built as one string (no array of parts per object: this runs for every request)
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out += `${i > 0 ? ',' : ''}${v === undefined ? 'null' : canonical(v, digests)}`;
    }
    return `${out}]`;
  }
  const o = value as Record<string, unknown>;
  let out = '{';
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined || typeof v === 'function') continue;
    const d = k === 'url' && typeof v === 'string' ? digests.get(v) : undefined;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${d !== undefined ? JSON.stringify(`sha256:${d}`) : canonical(v, digests)}`;
  }
  return `${out}}`;
}

/**
 * The key of a request: sha256 over the endpoint and the body's canonical JSON (keys sorted), with
 * each inline image replaced by its digest (imageDigest) and `stream` left out (a transport choice,
 * not the question). The body holds everything that decides the answer: the prepared image bytes,
 * prompt, system message, model and every request parameter (max tokens, temperature, reasoning,
 * schema, n, detail). The endpoint is in it because relays map model names as they like: `gpt-4o`
 * on one relay may be another model on the next. Only the small part of the body is serialised:
 * an image is never copied, only hashed once.
 */
export function answerKey(endpoint: string, body: Record<string, unknown>, digests: Digests): string {
  const { stream: _stream, ...rest } = body;
  return hash('sha256', `imgdesc-answer-v${VERSION}\n${endpoint}\n${canonical(rest, digests)}`, 'hex');
}

/** A stored response as this version reads it. */
function isResponse(v: unknown): v is StoredResponse {
  const r = v as StoredResponse | null;
  return typeof r === 'object' && r !== null && typeof r.status === 'number' && typeof r.elapsedMs === 'number';
}

/** What a line of a store holds: a key, when it was stored, and the value under the store's field. */
interface Line {
  key: string;
  v: typeof VERSION;
  at: number;
  [field: string]: unknown;
}

/** Where a line of a cache file is: [start, end) without its newline. */
interface Slot {
  start: number;
  end: number;
}

/** One cache file as far as this process has read it. */
interface FileIndex {
  ino: number;
  /** Bytes read and indexed: up to the end of the last whole line. */
  size: number;
  entries: Map<string, Slot>;
  /** The latest recorded use of a key (a `{"used":…}` line, or its entry's time). */
  used: Map<string, number>;
}

const hexKey = (buf: Buffer, at: number) => buf.toString('latin1', at, at + 64);

/** One file of a store: its name, what this run has read of it, its fd, lines waiting for flush(). */
interface Bucket {
  file: string;
  index?: FileIndex | undefined;
  handle?: { fd: number; ino: number } | undefined;
  pending?: { lines: string[]; bytes: number } | undefined;
}

/** The value of a lower-case hex digit's char code; -256 for anything else (so a sum stays negative). */
const hexDigit = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -256);

/** Indexes the whole lines of `buf` (which starts at `base` in the file); returns the bytes consumed. */
function indexLines(buf: Buffer, base: number, into: FileIndex): number {
  let a = 0;
  for (;;) {
    const b = buf.indexOf(NL, a);
    if (b < 0) return a;
    indexLine(buf, a, b, base, into);
    a = b + 1;
  }
}

function indexLine(buf: Buffer, a: number, b: number, base: number, into: FileIndex): void {
  const line = buf.subarray(a, b);
  const mark = (m: Buffer, at: number) =>
    at >= 0 && at + m.length + 64 <= line.length && line.compare(m, 0, m.length, at, at + m.length) === 0;
  // The line, and a line glued after a torn one (its last entry or use marker).
  for (const at of new Set([0, line.lastIndexOf(ENTRY), line.lastIndexOf(USED)])) {
    if (mark(ENTRY, at)) {
      into.entries.set(hexKey(line, at + ENTRY.length), { start: base + a + at, end: base + b });
    } else if (mark(USED, at)) {
      const m = /"at":(\d+)/.exec(line.toString('latin1', at + USED.length + 64, Math.min(line.length, at + USED.length + 96)));
      const key = hexKey(line, at + USED.length);
      if (m) into.used.set(key, Math.max(into.used.get(key) ?? 0, Number(m[1])));
    }
  }
}

/** Reads `length` bytes at `position` of an open file (short only at its end). */
function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** An entry of a cache file as pruning sees it: where it is and when it was last used. */
interface Live {
  key: string;
  start: number;
  end: number;
  at: number;
  used: number;
}

/**
 * The keys of the entries to drop so that the rest take at most `maxBytes` (each line with its
 * newline), least recently used first; the `keep` most recently used are kept whatever their size. Pure.
 */
export function dropped(live: readonly Live[], maxBytes: number, keep = 0): Set<string> {
  const order = [...live].sort((a, b) => a.used - b.used);
  let bytes = order.reduce((a, e) => a + e.end - e.start + 1, 0);
  const out = new Set<string>();
  for (let i = 0; i < order.length - keep && bytes > maxBytes; i++) {
    const e = order[i] as Live;
    out.add(e.key);
    bytes -= e.end - e.start + 1;
  }
  return out;
}

/** A file's bytes indexed from the start. */
function indexed(buf: Buffer): FileIndex {
  const index: FileIndex = { ino: 0, size: 0, entries: new Map(), used: new Map() };
  index.size = indexLines(buf, 0, index);
  return index;
}

/** The lines of `kept` (entries of `buf`), in file order, each followed by its use when later than it. */
function content(buf: Buffer, kept: Live[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...kept].sort((a, b) => a.start - b.start)) {
    parts.push(buf.subarray(e.start, e.end + 1));
    if (e.used > e.at) parts.push(Buffer.from(`${JSON.stringify({ used: e.key, at: e.used })}\n`));
  }
  return Buffer.concat(parts);
}

/**
 * Replaces a file by `content` plus whatever was appended to it after its first `read` bytes (temp
 * file, rename); returns its new size. An append between that copy and the rename is lost (a miss
 * later).
 */
function rewrite(path: string, read: number, bytes: Buffer): number {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    let size = bytes.length;
    try {
      writeAll(fd, bytes);
      const now = statSync(path, { throwIfNoEntry: false });
      if (now && now.size > read) {
        const from = openSync(path, 'r');
        try {
          const tail = readAt(from, now.size - read, read);
          writeAll(fd, tail);
          size += tail.length;
        } finally {
          closeSync(from);
        }
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return size;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * 256 (or 16) append-only JSON-lines files in `dir`, one line per value: `{"key":…,"v":…,"at":…,"<field>":…}`.
 * The latest line of a key is its value.
 */
class Store {
  private made = false;
  /**
   * What this run knows of each file: by the first byte of the key, in an array (a lookup per
   * answer costs no string hashing), and by name for keys that do not start with two hex digits.
   */
  private readonly buckets: (Bucket | undefined)[] = [];
  private readonly odd = new Map<string, Bucket>();

  constructor(
    readonly dir: string,
    /** The field the value is stored under (`response` for answers). */
    private readonly field: string,
    /** Whether a stored value is one this version can use. */
    private readonly valid: (v: unknown) => boolean,
    /**
     * Each file read once per run, and what other runs append after that not seen: for values
     * whose miss costs little (the memo), where a stat per look costs more than it finds.
     */
    private readonly snapshot = false,
    /**
     * Hex digits of the key that name its file: 2 (256 files, each a small part of a large store
     * to read on a first look) or 1 (16 files: fewer to make and read for a store every batch
     * reads whole, the memo).
     */
    private readonly digits: 1 | 2 = 2,
  ) {}

  private isLine(v: unknown, key: string): v is Line {
    const e = v as Line | null;
    return typeof e === 'object' && e !== null && e.v === VERSION && e.key === key && typeof e.at === 'number' && this.valid(e[this.field]);
  }

  /** The file of a key, and what this run knows of it. */
  private bucketOf(key: string): Bucket {
    const n = this.digits === 1 ? hexDigit(key.charCodeAt(0)) : hexDigit(key.charCodeAt(0)) * 16 + hexDigit(key.charCodeAt(1));
    if (n >= 0) {
      let b = this.buckets[n];
      if (b === undefined) this.buckets[n] = b = { file: join(this.dir, `${key.slice(0, this.digits)}.jsonl`) };
      return b;
    }
    const ab = key.slice(0, this.digits);
    let b = this.odd.get(ab);
    if (b === undefined) this.odd.set(ab, (b = { file: join(this.dir, `${ab}.jsonl`) }));
    return b;
  }

  private *allBuckets(): Iterable<Bucket> {
    for (const b of this.buckets) if (b) yield b;
    yield* this.odd.values();
  }

  /** The file a key's values are appended to. */
  fileOf(key: string): string {
    return this.bucketOf(key).file;
  }

  /**
   * The file as it is now (its inode and size), or undefined when there is none. A file this run
   * holds open is looked at through its fd (no path to resolve); when that one is no longer in the
   * folder (replaced by a prune, removed by cache clear), by its path.
   */
  private look(b: Bucket): { ino: number; size: number } | undefined {
    if (b.handle) {
      const st = fstatSync(b.handle.fd);
      if (st.nlink > 0) return st;
    }
    return statSync(b.file, { throwIfNoEntry: false });
  }

  /**
   * The run's fd of a cache file, for reading and appending: one open per file, not per answer.
   * Reopened when the file was replaced since (another run pruned it) or removed (cache clear).
   */
  private fdOf(b: Bucket, st: { ino: number } | undefined): number {
    const h = b.handle;
    if (h && st && h.ino === st.ino) return h.fd;
    if (h) {
      closeSync(h.fd);
      b.handle = undefined;
    }
    let fd: number;
    try {
      fd = openSync(b.file, 'a+', 0o600);
    } catch (err) {
      // a cache that can only be read is still read
      if (st === undefined) throw err;
      fd = openSync(b.file, 'r');
    }
    const ino = fstatSync(fd).ino;
    b.handle = { fd, ino };
    // Replaced again between the look and the open: the caller's index is of another file.
    if (st && ino !== st.ino) throw new Error(`${b.file} was replaced`);
    return fd;
  }

  /** Closes the files (a long-lived caller; a run's process closes them by ending). */
  close(): void {
    for (const b of this.allBuckets()) {
      if (b.handle) closeSync(b.handle.fd);
      b.handle = undefined;
    }
  }

  /** Forgets what was read of the files (they were rewritten or removed). */
  private forget(): void {
    for (const b of this.allBuckets()) b.index = undefined;
  }

  /**
   * The value stored for `key`, or undefined (none, unreadable, torn). Records the use now and
   * then (LRU). Sync underneath: every batch image asks, and a pooled async read costs more CPU
   * than it reads; a file not changed since it was last looked at costs one stat.
   */
  get(key: string, now = Date.now()): { at: number; value: unknown } | undefined {
    const b = this.bucketOf(key);
    try {
      // A store read as it was (the memo): a file is looked at once per run.
      const seen = this.snapshot ? b.index : undefined;
      if (seen) {
        const slot = seen.entries.get(key);
        if (!slot) return undefined;
        const h = b.handle;
        const entry: unknown = h ? JSON.parse(readAt(h.fd, slot.end - slot.start, slot.start).toString('utf8')) : undefined;
        return this.isLine(entry, key) ? { at: entry.at, value: entry[this.field] } : undefined;
      }
      const st = this.look(b);
      if (!st) {
        // nothing there (yet): this run's first append to it is indexed as it is written
        b.index = { ino: -1, size: 0, entries: new Map(), used: new Map() };
        return undefined;
      }
      let index = b.index;
      // Rewritten by a prune (a new file) or cut short: read it again from the start.
      if (!index || index.ino !== st.ino || st.size < index.size) {
        index = { ino: st.ino, size: 0, entries: new Map(), used: new Map() };
        b.index = index;
      }
      if (st.size > index.size) {
        const fd = this.fdOf(b, st);
        index.size += indexLines(readAt(fd, st.size - index.size, index.size), index.size, index);
      }
      const slot = index.entries.get(key);
      if (!slot) return undefined;
      const entry: unknown = JSON.parse(readAt(this.fdOf(b, st), slot.end - slot.start, slot.start).toString('utf8'));
      if (!this.isLine(entry, key)) return undefined;
      const last = Math.max(entry.at, index.used.get(key) ?? 0);
      if (now - last > TOUCH_AFTER_MS) {
        this.append(b, `${JSON.stringify({ used: key, at: now })}\n`, undefined);
        index.used.set(key, now);
      }
      return { at: entry.at, value: entry[this.field] };
    } catch {
      // an unreadable file or entry is a miss
      return undefined;
    }
  }

  /**
   * Stores a value with one append (0600 files in a 0700 folder). Throws when it cannot be written.
   * `later`: kept with the file's other such lines until flush() (or 16 KiB of them), written with
   * one append: for values that may be lost (a memo), where an append per value costs more than
   * the value saves.
   */
  put(key: string, value: unknown, at = Date.now(), later = false): void {
    // JSON.stringify({ key, v, at, [field]: value }) as it spells it, without making the object
    // (a key is 64 hex digits and the field a plain name: nothing in them to escape)
    const line = `{"key":"${key}","v":${VERSION},"at":${JSON.stringify(at)},"${this.field}":${JSON.stringify(value) ?? 'null'}}\n`;
    const b = this.bucketOf(key);
    if (!later) {
      this.write(b, line, key);
      return;
    }
    const p = (b.pending ??= { lines: [], bytes: 0 });
    p.lines.push(line);
    p.bytes += line.length;
    if (p.bytes >= 16 * 1024) {
      b.pending = undefined;
      this.write(b, p.lines.join(''), undefined);
    }
  }

  /** Writes the lines stored `later`: one append per file. Never throws (they may be lost). */
  flush(): void {
    for (const b of this.allBuckets()) {
      const p = b.pending;
      if (!p) continue;
      b.pending = undefined;
      try {
        this.write(b, p.lines.join(''), undefined);
      } catch {
        // lost: looked up again, they are read and prepared again
      }
    }
  }

  /** Appends `text` (with `key`: the one entry of that key). */
  private write(b: Bucket, text: string, key: string | undefined): void {
    if (!this.made) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
    try {
      this.append(b, text, key);
    } catch (err) {
      // the folder removed under the run (cache clear): made again
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.append(b, text, key);
    }
  }

  /**
   * Appends one line with one write() (the file is open O_APPEND). When nothing else was appended
   * since the file was last indexed, the line is indexed at once (no read on the next look): as the
   * entry of `key` when it is one (nothing to search for), else line by line.
   */
  private append(b: Bucket, line: string, key: string | undefined): void {
    const length = Buffer.byteLength(line);
    const write = (fd: number) => {
      // the string as it is (no Buffer made for it); the rest of a short write from its bytes
      const n = writeSync(fd, line);
      if (n < length) {
        const bytes = Buffer.from(line);
        let off = n;
        while (off < length) off += writeSync(fd, bytes, off, length - off);
      }
      return fstatSync(fd);
    };
    let st = write(b.handle?.fd ?? this.fdOf(b, undefined));
    // The file this run holds open was replaced since (another run pruned it) or removed (cache
    // clear): what was just written went with it, so it is written again to the file there now.
    if (st.nlink === 0) st = write(this.fdOf(b, undefined));
    if (st.size > this.budget) {
      try {
        // read again from the start on the next look
        this.trim(b);
        return;
      } catch {
        // a folder this run cannot rewrite files in (the next run tries again): not read for
        // nothing at each append
        this.budget = Number.POSITIVE_INFINITY;
      }
    }
    let index = b.index;
    if (key !== undefined) {
      // An entry: indexed as it is (nothing to search for), also in a file this run found
      // missing or made with it.
      if (index?.ino === -1 && index.size === 0) index.ino = st.ino;
      else if (!index && st.size === length) b.index = index = { ino: st.ino, size: 0, entries: new Map(), used: new Map() };
      if (!index || index.ino !== st.ino || st.size !== index.size + length) return;
      index.entries.set(key, { start: index.size, end: index.size + length - 1 });
      index.size += length;
    } else if (index && index.ino === st.ino && st.size === index.size + length)
      index.size += indexLines(Buffer.from(line), index.size, index);
  }

  /** The files with their sizes. */
  async list(): Promise<{ path: string; size: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: { path: string; size: number }[] = [];
    for (const name of names) {
      if (!(name.length === this.digits + 6 && /^[0-9a-f]{1,2}\.jsonl$/.test(name))) continue;
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ path: join(this.dir, name), size: st.size });
    }
    return out;
  }

  /** Each file read whole and indexed, one at a time (for info and prune: never all at once). */
  private async *files(): AsyncGenerator<{ path: string; buf: Buffer; index: FileIndex }> {
    for (const f of await this.list()) {
      let buf: Buffer;
      try {
        buf = readFileSync(f.path);
      } catch {
        continue;
      }
      yield { path: f.path, buf, index: indexed(buf) };
    }
  }

  /** The entries of a file this version can read, with when each was last used. */
  private live(buf: Buffer, index: FileIndex): Live[] {
    const out: Live[] = [];
    for (const [key, s] of index.entries) {
      let entry: unknown;
      try {
        entry = JSON.parse(buf.toString('utf8', s.start, s.end));
      } catch {
        continue;
      }
      if (this.isLine(entry, key))
        out.push({ key, start: s.start, end: s.end, at: entry.at, used: Math.max(entry.at, index.used.get(key) ?? 0) });
    }
    return out;
  }

  async stats(): Promise<{ entries: number; bytes: number }> {
    let entries = 0;
    let bytes = 0;
    for await (const f of this.files()) {
      bytes += f.buf.length;
      for (const [key, s] of f.index.entries) if (/^[0-9a-f]{64}$/.test(key) && f.buf[s.end - 1] === 0x7d) entries++;
    }
    return { entries, bytes };
  }

  /**
   * Rewrites the files within `maxBytes`, dropping the least recently used entries first (and
   * torn, foreign and replaced lines). Two passes over the files, one file in memory at a time:
   * when each entry was last used, then each file without the entries dropped (an entry read in the
   * first pass is not parsed again; one appended since is).
   */
  async prune(maxBytes: number): Promise<{ removed: number; freed: number; entries: number; bytes: number }> {
    const seen = new Map<string, Live>();
    let before = 0;
    for await (const f of this.files()) {
      before += f.buf.length;
      for (const e of this.live(f.buf, f.index)) seen.set(e.key, e);
    }
    const drop = dropped([...seen.values()], maxBytes);
    let after = 0;
    let entries = 0;
    for await (const f of this.files()) {
      const kept: Live[] = [];
      const since: FileIndex = { ino: 0, size: 0, entries: new Map(), used: f.index.used };
      for (const [key, s] of f.index.entries) {
        if (drop.has(key)) continue;
        const e = seen.get(key);
        // the same line where the first pass read it (the file is only appended to meanwhile)
        if (e?.start === s.start && e.end === s.end) kept.push({ ...e, used: Math.max(e.used, f.index.used.get(key) ?? 0) });
        else since.entries.set(key, s);
      }
      kept.push(...this.live(f.buf, since));
      entries += kept.length;
      after += rewrite(f.path, f.buf.length, content(f.buf, kept));
    }
    this.forget();
    this.close();
    return { removed: drop.size, freed: Math.max(0, before - after), entries, bytes: after };
  }

  /**
   * Bytes a file may hold: when an append takes it past that, it is rewritten within three quarters
   * of it (trim). The cache stays within its size as it is used, without a run reading it all.
   */
  budget = Number.POSITIVE_INFINITY;

  /**
   * Rewrites the file within three quarters of its budget, least recently used entries first,
   * keeping at least the newest. About a 256th of the cache: a few MB read and written once per
   * quarter of a budget appended to the file.
   */
  private trim(b: Bucket): void {
    const buf = readFileSync(b.file);
    const index = indexed(buf);
    const live = this.live(buf, index);
    const drop = dropped(live, Math.floor(this.budget * 0.75), 1);
    rewrite(
      b.file,
      buf.length,
      content(
        buf,
        live.filter((e) => !drop.has(e.key)),
      ),
    );
    // the run's fd and index are of the file replaced
    if (b.handle) closeSync(b.handle.fd);
    b.handle = undefined;
    b.index = undefined;
  }

  async clear(): Promise<{ removed: number; freed: number }> {
    const st = await this.stats();
    await rm(this.dir, { recursive: true, force: true });
    this.made = false;
    this.forget();
    this.close();
    return { removed: st.entries, freed: st.bytes };
  }
}

/** What a batch knows of a file it prepared before (PreparedMemo). */
export interface PreparedInfo {
  /** sha256 of the file. */
  sha256: string;
  /** imageDigest of the data: URL it was prepared into. */
  digest: string;
  mime: string | null;
  report: ImageReport;
  warnings: string[];
}

function isPrepared(v: unknown): v is PreparedInfo {
  const p = v as PreparedInfo | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.sha256 === 'string' &&
    typeof p.digest === 'string' &&
    typeof p.report === 'object' &&
    p.report !== null &&
    Array.isArray(p.warnings)
  );
}

/** A file as a batch sees it: which file, and the settings it is prepared with. */
export interface FileIdentity {
  /** Absolute path. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Changed by every write and every change of the file's times or mode: a restored mtime is still seen. */
  ctimeMs: number;
  ino: number;
  dev: number;
  /** Everything the prepared bytes depend on besides the file (the image options, the version). */
  settings: string;
}

/** The memo's key of a file: a change to its size, time or inode, or to a setting, is another key. */
export function preparedKey(id: FileIdentity): string {
  // NUL between the parts: no path holds one, and the settings are JSON (which escapes it)
  return hash(
    'sha256',
    `imgdesc-prepared\0${id.path}\0${id.size}\0${id.mtimeMs}\0${id.ctimeMs}\0${id.ino}\0${id.dev}\0${id.settings}`,
    'hex',
  );
}

export class AnswerCache {
  private readonly answers: Store;
  /**
   * What files prepared before were prepared into (their digest), by path, size, time and inode:
   * a batch asked again finds its answers with a stat per image, without reading or preparing it.
   */
  private readonly memo: Store;

  constructor(
    /** $XDG_CACHE_HOME/imgdesc */
    readonly root: string,
    /** The `cache-max-size` setting (default 500 MiB). */
    readonly maxBytes: number,
  ) {
    this.answers = new Store(join(root, 'answers'), 'response', isResponse);
    this.memo = new Store(join(root, 'prepared'), 'prepared', isPrepared, true, 1);
    // the memo within a sixteenth of the size (as prune leaves it), the answers within the rest
    this.memo.budget = Math.floor(maxBytes / 16 / 16);
    this.answers.budget = Math.floor((maxBytes - maxBytes / 16) / 256);
  }

  get dir(): string {
    return this.answers.dir;
  }

  /** The file a key's answers are appended to. */
  fileOf(key: string): string {
    return this.answers.fileOf(key);
  }

  /** The stored answer for `key`, or undefined (none, unreadable, torn). */
  async get(key: string, now = Date.now()): Promise<CacheEntry | undefined> {
    const got = this.answers.get(key, now);
    return got ? { key, v: VERSION, at: got.at, response: got.value as StoredResponse } : undefined;
  }

  /** Stores an answer with one append. Throws when it cannot be written. */
  async put(key: string, response: StoredResponse, at = Date.now()): Promise<void> {
    this.answers.put(key, response, at);
  }

  /** What the file (by its preparedKey) was prepared into before; undefined when it changed since. */
  prepared(key: string): PreparedInfo | undefined {
    return this.memo.get(key)?.value as PreparedInfo | undefined;
  }

  /**
   * Remembers what a file was prepared into, written with others of its file by flush() (a memo not
   * written costs a read next time, nothing more).
   */
  remember(key: string, info: PreparedInfo): void {
    try {
      this.memo.put(key, info, Date.now(), true);
    } catch {
      // next time the file is read and prepared again
    }
  }

  /** Writes what remember() kept. */
  flush(): void {
    this.memo.flush();
  }

  close(): void {
    this.answers.close();
    this.memo.close();
  }

  async stats(): Promise<CacheStats> {
    const s = await this.answers.stats();
    return {
      dir: this.dir,
      entries: s.entries,
      bytes: s.bytes + (await this.memo.list()).reduce((a, f) => a + f.size, 0),
      maxBytes: this.maxBytes,
    };
  }

  /**
   * Within `maxBytes`, least recently used first: the answers, and the memo of prepared files
   * within a sixteenth of it (a line per file, a few hundred bytes).
   */
  async prune(maxBytes = this.maxBytes): Promise<{ removed: number; freed: number; entries: number; bytes: number }> {
    await this.removeOldLayout();
    const memo = await this.memo.prune(Math.floor(maxBytes / 16));
    const r = await this.answers.prune(maxBytes - memo.bytes);
    return { removed: r.removed, freed: r.freed + memo.freed, entries: r.entries, bytes: r.bytes + memo.bytes };
  }

  async clear(): Promise<{ removed: number; freed: number }> {
    const memo = await this.memo.clear();
    const r = await this.answers.clear();
    return { removed: r.removed, freed: r.freed + memo.freed };
  }

  /**
   * Answers stored one file each by the first version of the cache, and the memo's files of when
   * it had 256: removed (they are not read).
   */
  private async removeOldLayout(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names)
      if (/^[0-9a-f]{2}$/.test(name) || name.endsWith('.tmp')) await rm(join(this.dir, name), { recursive: true, force: true });
    const memo = join(this.root, 'prepared');
    for (const name of await readdir(memo).catch(() => [] as string[]))
      if (/^[0-9a-f]{2}\.jsonl$/.test(name)) await rm(join(memo, name), { force: true });
  }
}
