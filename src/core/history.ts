// The history: every answer imgdesc printed or recorded, one JSON line per answer in
// $XDG_STATE_HOME/imgdesc/history.jsonl (folder 0700, file 0600).
//
// Why a JSON lines file and not a database: it installs with nothing (an embedded SQLite would
// need a compiler or a downloaded binary, and node:sqlite is not in Node 20), any number of
// writers append to it without a lock, and the queries `imgdesc log` asks for (the latest N,
// filtered) are a scan from the end. Each record is appended with one write() on a file opened
// O_APPEND, which Linux applies to a regular file whole and at its end, so concurrent writers never
// interleave partial records and kill -9 leaves whole records. A line torn by a full disk or a power
// cut is skipped (and a record glued to it is still found: each starts with `{"id":`).
//
// --search over a million records (about 1.3 GB) in under a second: reading the whole file alone
// takes longer on a busy machine, so a trigram index (history-index.ts) names the blocks of the
// file that can hold the text, and only those are read. They are searched for the text as JSON
// spells it, and only lines that contain it are parsed: as bytes (Buffer.indexOf, several GB/s) for
// a run of the text without letters (a number, a date) when it has one, else by a regular
// expression that ignores case, over the bytes read as latin1 64 KiB at a time (about 4 GB/s here;
// letters beyond ASCII in the forms words are written in: as typed, lower case, Capitalised, Title
// Case, UPPER CASE). A match counts only where it can be in a field the filter looks at (not in a
// key, a number or the id: mayBeInField), so that `ok` or `finish`, in every line's keys, does not
// have every line parsed; the parsed record is then matched without regard to case. One or two
// letters (no trigram) are found by indexOf (anchorOf). A text whose every trigram is common
// (`brown brown`) may be in every block, and the whole file is read: 0.6 s for a million records
// here; two common letters found in no record (`hh`), 0.85 s.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { HistoryIndex, INDEX_FROM_BYTES, textBits } from './history-index.ts';

export interface HistoryError {
  code: string | null;
  status: number | null;
  message: string;
}

export interface HistoryTokens {
  prompt: number | null;
  completion: number | null;
  total: number | null;
}

/** One answer, as stored. `id` comes first: a record glued to a torn line is found by it. */
export interface HistoryRecord {
  id: string;
  /** ISO 8601, UTC. */
  time: string;
  /** describe, batch, map, mcp, alt … */
  command: string;
  /** The image as given: a path, a URL, `-` (stdin), a shortened data: URL. */
  image: string;
  /** Every image of a request with several (`describe -i`). */
  images?: string[];
  /** The absolute path of a local file. */
  path?: string;
  /** sha256 of the file (batch, map) or of the bytes sent (describe, mcp): the same picture under any name has the same hash. */
  sha256: string | null;
  prompt: string;
  system?: string;
  model: string | null;
  tokens: HistoryTokens | null;
  duration_ms: number | null;
  /** The answer came from the answer cache (tokens and duration are the original request's). */
  cached?: true;
  ok: boolean;
  finish_reason?: string | null;
  /** The answer text (for a failure: what the model said, when it said something). */
  answer?: string;
  error?: HistoryError;
}

export type NewRecord = Omit<HistoryRecord, 'id' | 'time'> & { time?: string };

export interface HistoryFilter {
  /** The latest this many (0: all). */
  limit: number;
  /** Only records at or after this time (ms since the epoch). */
  since?: number | undefined;
  /** A substring of the model id, any case. */
  model?: string | undefined;
  /** A substring of the image as given or its absolute path, or a prefix of its sha256. */
  image?: string | undefined;
  /** Text in the answer, prompt, image or error message, any case. */
  search?: string | undefined;
  /** Only failures (false) or only answers (true). */
  ok?: boolean | undefined;
}

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';
/** The last time an id was made for, in base 36 (a batch makes many in one ms). */
let idAt = Number.NaN;
let idTime = '';

/** Sortable by time, unique enough for one person's history: 9 base-36 digits of ms + 4 random. */
export function newId(now = Date.now()): string {
  if (now !== idAt) {
    idAt = now;
    idTime = now.toString(36).padStart(9, '0').slice(-9);
  }
  let r = Math.floor(Math.random() * 36 ** 4);
  let rand = '';
  for (let i = 0; i < 4; i++, r = Math.floor(r / 36)) rand = DIGITS.charAt(r % 36) + rand;
  return idTime + rand;
}

/** The second isoTime last formatted, and its text up to the milliseconds. */
let isoSecond = Number.NaN;
let isoPrefix = '';

/** new Date(now).toISOString(), formatting the date once a second, not for every record. */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** The usage object of a response as the three counts, or null when there is none. */
export function tokensOf(usage: unknown): HistoryTokens | null {
  if (typeof usage !== 'object' || usage === null) return null;
  const u = usage as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const t = {
    prompt: n(u.prompt_tokens ?? u.input_tokens),
    completion: n(u.completion_tokens ?? u.output_tokens),
    total: n(u.total_tokens),
  };
  if (t.total === null && t.prompt !== null && t.completion !== null) t.total = t.prompt + t.completion;
  return t.prompt === null && t.completion === null && t.total === null ? null : t;
}

/** How an image is named in the history: a data: URL would be the whole image, so it is shortened. */
export function imageLabel(input: string): string {
  if (!input.startsWith('data:')) return input;
  const comma = input.indexOf(',');
  return `${input.slice(0, comma > 0 ? Math.min(comma, 64) : 32)},… (${input.length} characters)`;
}

/** The record as matched: every filter, with text compared without regard to case. */
export function matchesFilter(r: HistoryRecord, f: HistoryFilter): boolean {
  if (f.ok !== undefined && r.ok !== f.ok) return false;
  if (f.since !== undefined && !(Date.parse(r.time) >= f.since)) return false;
  if (f.model !== undefined && !(r.model ?? '').toLowerCase().includes(f.model.toLowerCase())) return false;
  if (f.image !== undefined) {
    const i = f.image;
    const hex = /^[0-9a-f]{6,64}$/i.test(i) && (r.sha256 ?? '').startsWith(i.toLowerCase());
    if (!hex && !r.image.includes(i) && !(r.path ?? '').includes(i) && !(r.images ?? []).some((x) => x.includes(i))) return false;
  }
  if (f.search !== undefined) {
    const q = f.search.toLowerCase();
    const fields = [r.answer, r.prompt, r.image, r.path, r.error?.message, r.model, r.system, ...(r.images ?? [])];
    if (!fields.some((x) => x?.toLowerCase().includes(q))) return false;
  }
  return true;
}

/**
 * The forms `text` is looked for in the file's bytes, as JSON spells them. Pure, for tests. With
 * `anyCase` they are folded (see fold) and looked for in folded bytes: ASCII letters then match in
 * any case ("github" finds "GitHub"); letters beyond ASCII match as typed, in lower case,
 * Capitalised, Title Case or UPPER CASE.
 */
export function searchForms(text: string, anyCase: boolean): string[] {
  const json = (f: string) => JSON.stringify(f).slice(1, -1);
  if (!anyCase) return [json(text)];
  // A run without letters (a number, a date, `_0042.`) is the same in every case: one search finds them all.
  const runs = text.match(/[^\p{L}]{4,}/gu)?.filter((r) => r.trim().length >= 4) ?? [];
  const longest = runs.sort((a, b) => b.length - a.length)[0];
  if (longest !== undefined) return [fold(json(longest))];
  const lower = text.toLowerCase();
  const title = lower.replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());
  const first = [...lower][0] ?? '';
  const capital = first.toUpperCase() + lower.slice(first.length);
  const forms = [...new Set([text, lower, capital, title, text.toUpperCase()].map((f) => fold(json(f))))].filter((f) => f.length > 0);
  // A form that contains another is found by it.
  return forms.filter((f) => !forms.some((g) => g !== f && f.includes(g)));
}

/**
 * Whether finding `forms` (folded) in folded bytes needs the bytes folded: only when a form has a
 * byte that folding makes of another (a lower-case letter, ASCII or latin1). A form of digits and
 * punctuation (`_0000123.`) is found in the bytes as they are (Buffer.indexOf, the fastest way). Pure.
 */
export function needsFold(forms: Buffer[]): boolean {
  return forms.some((f) => f.some((b) => (b >= 0x61 && b <= 0x7a) || (b >= 0xe0 && b !== 0xf7 && b !== 0xff)));
}

/**
 * Text as its UTF-8 bytes read one byte a character (latin1), ASCII letters in lower case: the same
 * length in bytes, so a match in folded bytes is a match at the same place in the file.
 */
export function fold(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1').toLowerCase();
}

const CHUNK = 1024 * 1024;
const NL = 0x0a;
/** Records are appended in time order, give or take concurrent writers: a scan stops this far past --since. */
const SINCE_SLACK_MS = 5 * 60 * 1000;

/** A line as a record; a line glued to a torn one is read from its last `{"id":`; anything else is skipped. */
export function parseLine(line: string): HistoryRecord | undefined {
  const tryParse = (s: string) => {
    try {
      const v = JSON.parse(s) as HistoryRecord;
      return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.time === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const r = tryParse(line);
  if (r) return r;
  const at = line.lastIndexOf('{"id":');
  return at > 0 ? tryParse(line.slice(at)) : undefined;
}

export class History {
  private made = false;
  /** The file, opened O_APPEND once for the run (closed when the process ends). */
  private fd: number | undefined;
  /** The token last masked, and how JSON spells it. */
  private mask: string | undefined;
  private masked = '';

  constructor(
    /** $XDG_STATE_HOME/imgdesc */
    readonly dir: string,
  ) {}

  get file(): string {
    return join(this.dir, 'history.jsonl');
  }

  /**
   * Appends one record with a single write() to the file opened O_APPEND. `mask` (the token) is
   * replaced wherever it appears: the history never holds it.
   */
  async append(rec: NewRecord, mask?: string): Promise<HistoryRecord> {
    // The id is made here (a record passed back in keeps none of its own), and goes first.
    const given = rec as NewRecord & { id?: string };
    let full: HistoryRecord;
    let line: string;
    if (given.id === undefined && given.time === undefined) {
      // The usual record: id and time put in front of its JSON (the same text as the whole record's).
      const id = newId();
      const time = isoTime();
      full = { id, time, ...rec };
      // (a record given `id: undefined` or `time: undefined` keeps these: they go first, as made here)
      full.id = id;
      full.time = time;
      const rest = JSON.stringify(rec);
      line = `{"id":"${full.id}","time":"${full.time}"${rest === '{}' ? '' : ','}${rest.slice(1)}`;
    } else {
      const { time, id: _own, ...rest } = given;
      full = { id: newId(), time: time ?? isoTime(), ...rest };
      line = JSON.stringify(full);
    }
    if (mask && mask.length >= 8) {
      if (mask !== this.mask) this.masked = JSON.stringify((this.mask = mask)).slice(1, -1);
      if (line.includes(this.masked)) line = line.split(this.masked).join('[token]');
    }
    line += '\n';
    if (!this.made) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
    // One open per run and one write() per record (sync: a pooled async write costs more CPU than it
    // writes), of the string as it is; the rest of a short write (a full disk) from its bytes.
    this.fd ??= openSync(this.file, 'a', 0o600);
    const n = writeSync(this.fd, line);
    const length = Buffer.byteLength(line);
    if (n < length) {
      const bytes = Buffer.from(line);
      let off = n;
      while (off < length) off += writeSync(this.fd, bytes, off, length - off);
    }
    return full;
  }

  /** Closes the file the appends go to (a long-lived caller; a run's process closes it by ending). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The trigram index of the file (derived: removed freely, rebuilt by the next query that needs it). */
  get indexFile(): string {
    return join(this.dir, 'history.index');
  }

  /** The latest records that match, oldest first (as a log reads). */
  async query(f: HistoryFilter): Promise<HistoryRecord[]> {
    const out: HistoryRecord[] = [];
    for await (const r of this.matching(f, false)) {
      out.push(r);
      if (f.limit > 0 && out.length >= f.limit) break;
    }
    return out.reverse();
  }

  /**
   * The records that match, oldest first (as a log reads), as they are read: the latest `f.limit`
   * (query), or with `f.limit` 0 every one, in one pass forward from the oldest that can match
   * (found by a binary search on the time for --since), never all of them in memory at once.
   */
  async *records(f: HistoryFilter): AsyncGenerator<HistoryRecord> {
    if (f.limit > 0) {
      yield* await this.query(f);
      return;
    }
    yield* this.matching(f, true);
  }

  /** The records that match, newest first (or oldest first: see scan). */
  private async *matching(f: HistoryFilter, oldestFirst: boolean): AsyncGenerator<HistoryRecord> {
    for await (const line of this.scan(needleOf(f), f.since, oldestFirst)) {
      // no failure, told without parsing the line (see FAILED)
      if (f.ok === false && !line.includes(FAILED)) continue;
      const r = parseLine(line);
      if (r && matchesFilter(r, f)) yield r;
    }
  }

  /** The record with this id, or every record whose id starts with it (a prefix, as git takes). */
  async find(id: string): Promise<HistoryRecord[]> {
    const found: HistoryRecord[] = [];
    const mark = `{"id":"${id}`;
    const needle = { forms: [Buffer.from(mark)], texts: [textBits(mark, true)], folded: false, fields: undefined };
    for await (const line of this.scan(needle, undefined)) {
      const r = parseLine(line);
      if (!r?.id.startsWith(id)) continue;
      if (r.id === id) return [r];
      found.push(r);
    }
    return found;
  }

  /** Empties the history (a writer that has it open goes on appending to the emptied file). */
  async clear(): Promise<{ bytes: number; records: number }> {
    const st = await stat(this.file).catch(() => undefined);
    if (!st) return { bytes: 0, records: 0 };
    let records = 0;
    for await (const _ of this.scan(NOTHING, undefined)) records++;
    await truncate(this.file, 0);
    await rm(this.indexFile, { force: true });
    return { bytes: st.size, records };
  }

  async stats(): Promise<{ file: string; bytes: number }> {
    const st = await stat(this.file).catch(() => undefined);
    return { file: this.file, bytes: st?.size ?? 0 };
  }

  /**
   * The lines of the file, newest first; with the needle's `forms`, only lines that contain one of
   * them (linesOf), and with its `texts` (textBits of what is looked for), only in the blocks the
   * index says can hold one of them. Stops once a chunk starts before `since`. Sync reads
   * underneath: a query is all the process does, and the pool would only add to it.
   * `oldestFirst`: the lines oldest first instead, from the oldest that can be from `since` on.
   */
  private async *scan(needle: Needle, since: number | undefined, oldestFirst = false): AsyncGenerator<string> {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const st = fstatSync(fd);
      // [start, end) of what is read, newest first; each starts at the start of a line.
      const ranges: [number, number][] = [];
      const texts = needle.texts;
      if (needle.forms && texts && st.size >= INDEX_FROM_BYTES) {
        const index = HistoryIndex.open(this.indexFile, fd, st.ino, st.size);
        ranges.push([index.covered, st.size]);
        for (let i = index.blocks - 1; i >= 0; i--) if (index.mayHold(i, texts)) ranges.push(index.block(i));
      } else ranges.push([0, st.size]);
      // One buffer for every chunk of every range (fresh memory for each would cost a page fault per
      // 4 KiB: with the index's ranges of 1 MiB, as long as reading them), small enough that a
      // second search form finds it still in the CPU cache.
      const mem = { buf: Buffer.allocUnsafe(CHUNK + 64 * 1024) };
      if (oldestFirst) {
        const from = since === undefined ? 0 : sinceOffset(fd, st.size, since);
        for (const [lo, hi] of ranges.reverse()) if (hi > from) yield* scanForward(fd, Math.max(lo, from), hi, needle, mem);
        return;
      }
      for (const [lo, hi] of ranges) if (yield* scanRange(fd, lo, hi, needle, since, mem)) return;
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * A failure as its record spells it: the field, which nothing else in a line can be (quotes inside a
 * string are escaped). A line without it is no failure, and is not parsed to find that out.
 */
const FAILED = '"ok":false';

/**
 * What a filter looks for in the file's bytes (the search, else the image, else the model, else a
 * failure for --failed), and how.
 */
function needleOf(f: HistoryFilter): Needle {
  const failed = f.ok === false ? textBits(FAILED, true) : null;
  const text = f.search ?? f.image ?? f.model;
  if (text === undefined) return failed ? { forms: [Buffer.from(FAILED)], texts: [failed], folded: false, fields: undefined } : NOTHING;
  const hex = f.image !== undefined && /^[0-9a-f]{6,64}$/i.test(f.image);
  const needle =
    f.search !== undefined
      ? searchForms(f.search, true)
      : f.image !== undefined
        ? [...searchForms(f.image, false), ...(hex ? [(f.image as string).toLowerCase()] : [])]
        : searchForms(text, true);
  // With --failed, a block must hold the trigrams of a failure as well as the text's.
  const bits = textBits(text);
  const texts = [failed ? [...(bits ?? []), ...failed] : bits];
  // The search and the model are matched in any case (folded bytes); an image path as written.
  const anyCase = f.search !== undefined || f.image === undefined;
  const forms = needle.map((s) => Buffer.from(s, anyCase ? 'latin1' : 'utf8'));
  const fields = f.search !== undefined ? SEARCHED : f.image !== undefined ? IMAGE_FIELDS : MODEL_FIELDS;
  return { forms, texts, folded: anyCase && needsFold(forms), fields };
}

/**
 * What a scan looks for in the bytes (needleOf): `forms`, in the bytes folded as fold() does when
 * `folded`; `texts`, the textBits the index is asked for; `fields`, those whose text a match must
 * be in (mayBeInField). No `forms`: every line.
 */
interface Needle {
  forms: Buffer[] | undefined;
  texts: (number[] | null)[] | undefined;
  folded: boolean;
  fields: ReadonlySet<string> | undefined;
}

/** Every line. */
const NOTHING: Needle = { forms: undefined, texts: undefined, folded: false, fields: undefined };

/** [start, end) of each line of `region` the needle finds (every line, without forms), last first. */
function linesOf(region: Buffer, needle: Needle): [number, number][] {
  return needle.forms ? candidateLines(region, needle.forms, needle.folded, needle.fields) : allLines(region);
}

/** The fields matchesFilter looks in for --search, --image and --model (a nested error's `message` too). */
const SEARCHED: ReadonlySet<string> = new Set(['answer', 'prompt', 'image', 'images', 'path', 'message', 'model', 'system']);
const IMAGE_FIELDS: ReadonlySet<string> = new Set(['image', 'images', 'path', 'sha256']);
const MODEL_FIELDS: ReadonlySet<string> = new Set(['model']);

const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
/** A character of a record's keys (`finish_reason`, `sha256`). */
const keyChar = (c: number | undefined) => c !== undefined && ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f);
/** The opening quote of a key, given where its closing quote is (a quote after `{` or `,`); -1 when it is none. */
function keyStart(buf: Buffer, close: number): number {
  let i = close - 1;
  while (keyChar(buf[i])) i--;
  return i < close - 1 && buf[i] === QUOTE && (buf[i - 1] === 0x7b || buf[i - 1] === 0x2c) ? i : -1;
}

/**
 * Whether a match at `p` in a record's line may be in the text of one of `fields`: false only when
 * it surely is not (in a key such as `"finish_reason"`, in a value that is no string such as
 * `"ok":true` or a count, or in the string of another field such as the id, the time or the
 * sha256), so that a text found in every line's keys or numbers (`ok`, `finish`, `1500`) does not
 * have every line parsed. Told from the bytes around the match: the quote before it, unescaped,
 * and what is on either side of that quote (a record's keys are lower-case words; a value's quotes
 * inside it are escaped). Anything else (an escaped quote, an array's string, a torn line) may be. Pure.
 */
export function mayBeInField(buf: Buffer, p: number, fields: ReadonlySet<string>): boolean {
  let q = p - 1;
  while (q >= 0 && buf[q] !== QUOTE) {
    if (buf[q] === NL) return true;
    q--;
  }
  if (q < 0 || buf[q - 1] === BACKSLASH) return true;
  // q closes a key: the match is after its colon, in a value that is no string (or in structure)
  if (buf[q + 1] === COLON && keyStart(buf, q) >= 0) return false;
  // q opens the value of a key
  if (buf[q - 1] === COLON && buf[q - 2] === QUOTE) {
    const k = keyStart(buf, q - 2);
    return k < 0 || fields.has(buf.toString('latin1', k + 1, q - 2));
  }
  // q opens a key, and the match is in it
  if (buf[q - 1] === 0x7b || buf[q - 1] === 0x2c) {
    let e = q + 1;
    while (keyChar(buf[e])) e++;
    if (e > q + 1 && e > p && buf[e] === QUOTE && buf[e + 1] === COLON) return false;
  }
  return true;
}

/**
 * The lines of [lo, hi) of the file the needle finds (linesOf), newest first; returns true when a
 * chunk started before `since` (older ranges need not be read). `mem.buf`: the buffer chunks are
 * read into (replaced by a bigger one for a line longer than it).
 */
function* scanRange(
  fd: number,
  lo: number,
  hi: number,
  needle: Needle,
  since: number | undefined,
  mem: { buf: Buffer },
): Generator<string, boolean> {
  let end = hi;
  // The start of the region read last, up to its first newline: the end of a line that began in an
  // earlier chunk. Held in pieces (the latest chunk first) while chunks without a newline are read,
  // and put together once, when the line's start is found: a line of many chunks is copied once,
  // not once more with each chunk read (its length squared over CHUNK bytes).
  let carry: Buffer[] = [];
  let carried = 0;
  let buf = mem.buf;
  while (end > lo || carried > 0) {
    const start = Math.max(lo, end - CHUNK);
    const n = end - start;
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, start + got);
      if (r === 0) break;
      got += r;
    }
    // The chunk's first newline: the bytes before it end a line that began in an earlier chunk (not
    // looked for in the range's first chunk, which starts with a line).
    const nl = start > lo ? buf.subarray(0, n).indexOf(NL) : -1;
    if (start > lo && nl < 0) {
      // No newline in this chunk: all of it belongs to a line that began earlier.
      carry.unshift(Buffer.from(buf.subarray(0, n)));
      carried += n;
      end = start;
      continue;
    }
    const size = n + carried;
    if (buf.length < size) {
      const bigger = Buffer.allocUnsafe(size);
      buf.copy(bigger, 0, 0, n);
      mem.buf = buf = bigger;
    }
    for (let at = n, i = 0; i < carry.length; i++) at += (carry[i] as Buffer).copy(buf, at);
    let region = buf.subarray(0, size);
    if (nl >= 0) {
      carry = [Buffer.from(region.subarray(0, nl))];
      carried = nl;
      region = region.subarray(nl + 1);
    } else {
      carry = [];
      carried = 0;
    }
    end = start;

    for (const [a, b] of linesOf(region, needle)) yield region.toString('utf8', a, b);
    if (since !== undefined && region.length > 0) {
      const firstEnd = region.indexOf(NL);
      const first = parseLine(region.toString('utf8', 0, firstEnd < 0 ? region.length : firstEnd));
      if (first && Date.parse(first.time) < since - SINCE_SLACK_MS) return true;
    }
    if (start === lo) return false;
  }
  return false;
}

/**
 * The lines of [lo, hi) of the file (which starts at the start of a line) the needle finds, oldest
 * first. A line longer than the buffer grows it.
 */
function* scanForward(fd: number, lo: number, hi: number, needle: Needle, mem: { buf: Buffer }): Generator<string> {
  // The file's bytes from `pos` are in the buffer, the first `held` of them carried from the last read.
  let pos = lo;
  let held = 0;
  while (pos + held < hi) {
    let buf = mem.buf;
    if (buf.length - held < CHUNK) {
      const bigger = Buffer.allocUnsafe(held + CHUNK);
      buf.copy(bigger, 0, 0, held);
      mem.buf = buf = bigger;
    }
    const want = Math.min(CHUNK, hi - pos - held);
    let got = 0;
    while (got < want) {
      const r = readSync(fd, buf, held + got, want - got, pos + held + got);
      if (r === 0) break;
      got += r;
    }
    const n = held + got;
    const last = got < want || pos + n >= hi;
    // Whole lines only, but for the range's last one; the rest is carried to the next read.
    const cut = last ? n : buf.subarray(0, n).lastIndexOf(NL) + 1;
    if (cut > 0) {
      const region = buf.subarray(0, cut);
      const lines = linesOf(region, needle);
      for (let i = lines.length - 1; i >= 0; i--) {
        const [a, b] = lines[i] as [number, number];
        yield region.toString('utf8', a, b);
      }
    }
    if (last) return;
    buf.copy(buf, 0, cut, n);
    held = n - cut;
    pos += cut;
  }
}

/**
 * Where a forward read for records from `since` on starts: the start of a line before which every
 * record is older than `since` (give or take the slack of concurrent writers). Records are appended
 * in time order, so a binary search on the time of the first line after a point finds it in a few
 * small reads.
 */
function sinceOffset(fd: number, size: number, since: number): number {
  const buf = Buffer.allocUnsafe(4096);
  // The start of the first line after `p` (p > 0), and its time; undefined when none is in reach.
  const lineAfter = (p: number): { start: number; time: number } | undefined => {
    const n = readSync(fd, buf, 0, buf.length, p);
    const nl = buf.subarray(0, n).indexOf(NL);
    if (nl < 0) return undefined;
    const m = /^\{"id":"[0-9a-z]+","time":"([^"]+)"/.exec(buf.toString('latin1', nl + 1, Math.min(n, nl + 80)));
    const time = m ? Date.parse(m[1] as string) : Number.NaN;
    return Number.isNaN(time) ? undefined : { start: p + nl + 1, time };
  };
  let lo = 0;
  let hi = size;
  while (hi - lo > CHUNK) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const at = lineAfter(mid);
    // a line it cannot tell the time of: read from further back
    if (at !== undefined && at.time < since - SINCE_SLACK_MS) lo = mid;
    else hi = mid;
  }
  return lo === 0 ? 0 : (lineAfter(lo)?.start ?? 0);
}

/** [start, end) of each non-empty line, last first. */
function allLines(region: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let b = region.length;
  while (b > 0) {
    if (region[b - 1] === NL) b--;
    if (b === 0) break;
    const a = region.lastIndexOf(NL, b - 1) + 1;
    if (b > a) out.push([a, b]);
    b = a;
  }
  return out;
}

/**
 * [start, end) of each line containing one of `forms`, last first; with `folded`, one of them in
 * the region's bytes folded as fold() does; with `fields`, only where it may be in one of those
 * fields' text (mayBeInField). Pure.
 */
export function candidateLines(region: Buffer, forms: Buffer[], folded: boolean, fields?: ReadonlySet<string>): [number, number][] {
  const starts = new Map<number, number>();
  const counts = fields ? (p: number) => mayBeInField(region, p, fields) : () => true;
  // The line of a match at p; returns where to look on from (the line's end).
  const line = (p: number) => {
    const a = p === 0 ? 0 : region.lastIndexOf(NL, p - 1) + 1;
    let b = region.indexOf(NL, p);
    if (b < 0) b = region.length;
    starts.set(a, b);
    return b;
  };
  if (folded) for (const p of foldedMatches(region, forms, counts)) line(p);
  else
    for (const form of forms) {
      let p = region.indexOf(form);
      while (p >= 0) p = region.indexOf(form, counts(p) ? line(p) : p + 1);
    }
  return [...starts].sort((x, y) => y[0] - x[0]);
}

/** ASCII letters, the rarest in English text first; only the rarer half (see anchorOf). */
const RARE_FIRST = 'zqxjkvbpygfwm';

/**
 * How a form of one or two ASCII letters (and nothing else to look for) is found faster than by the
 * expression: each case of one letter (the rarer of two) by indexOf, several times faster (1.3 GB:
 * one letter in about 0.1 s against 0.7 s, `ok` 0.4 s against 0.7 s), the other letter then
 * compared in either case. Two letters of the common half (`th`, `hh`) keep the expression, which is
 * then as fast. A longer form has trigrams, and the index mostly leaves little to read. Pure.
 */
export function anchorOf(forms: Buffer[]): { cases: [string, string]; offset: number; other: number } | undefined {
  const f = forms.length === 1 ? forms[0] : undefined;
  if (!f || f.length === 0 || f.length > 2 || !f.every((b) => b >= 0x61 && b <= 0x7a)) return undefined;
  const rank = (b: number) => RARE_FIRST.indexOf(String.fromCharCode(b));
  const offset =
    f.length === 1 ? 0 : rank(f[1] as number) >= 0 && (rank(f[0] as number) < 0 || rank(f[1] as number) < rank(f[0] as number)) ? 1 : 0;
  if (f.length === 2 && rank(f[offset] as number) < 0) return undefined;
  const c = String.fromCharCode(f[offset] as number);
  return { cases: [c, c.toUpperCase()], offset, other: f.length === 2 ? (f[1 - offset] as number) : -1 };
}

/** The expression of a query's forms: made once, for the first chunk (every chunk gets the same array). */
const patterns = new WeakMap<Buffer[], { re: RegExp; over: number; anchor: ReturnType<typeof anchorOf> }>();

/** Bytes of a region read as one string at a time, when looking for text in any case. */
const PIECE = 64 * 1024;

/**
 * Where one of `forms` (folded) starts in the folded bytes of `region`, in no particular order, some
 * more than once. Found by a regular expression with the `i` flag over the bytes read as latin1,
 * which matches as fold() folds (ASCII letters, and latin1's pairs À/à…Þ/þ, whose bytes fold() folds
 * alike), so no folded copy of the bytes is made. 64 KiB at a time (and the length of the longest
 * form less one more, for a match across two pieces): a string that size is made among the young
 * objects, where a 1 MiB one would take fresh pages from the system for each piece of the file.
 */
function* foldedMatches(region: Buffer, forms: Buffer[], counts: (p: number) => boolean): Generator<number> {
  let pattern = patterns.get(forms);
  if (!pattern) {
    const re = new RegExp(forms.map((f) => f.toString('latin1').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'gi');
    patterns.set(forms, (pattern = { re, over: Math.max(...forms.map((f) => f.length)) - 1, anchor: anchorOf(forms) }));
  }
  const { re, over, anchor } = pattern;
  for (let at = 0; at < region.length; at += PIECE) {
    const text = region.toString('latin1', at, Math.min(region.length, at + PIECE + over));
    if (anchor) {
      const { cases, offset, other } = anchor;
      for (const c of cases)
        for (let i = text.indexOf(c); i >= 0; i = text.indexOf(c, i)) {
          const start = i - offset;
          // the other letter of two, in either case (| 0x20: its upper case to its lower)
          if ((other >= 0 && (text.charCodeAt(start + 1 - offset) | 0x20) !== other) || !counts(at + start)) {
            i++;
            continue;
          }
          yield at + start;
          // on from the end of the line (a line is found once)
          i = text.indexOf('\n', i);
          if (i < 0) break;
        }
      continue;
    }
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (!counts(at + m.index)) {
        re.lastIndex = m.index + 1;
        continue;
      }
      yield at + m.index;
      // on from the end of the line (a line is found once)
      const nl = text.indexOf('\n', m.index);
      if (nl < 0) break;
      re.lastIndex = nl;
    }
  }
}
