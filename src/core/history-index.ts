// A trigram index of the history, so that `imgdesc log --search` over a million records (about
// 1.3 GB) reads only the parts of the file that can hold the text, not the whole file.
//
// The file is cut into blocks of about 1 MiB, each ending at the end of a record. For each block a
// 16 KiB bit set has a bit for every three-byte sequence in it (hashed, letters in lower case): a
// block whose bits lack any trigram of the text searched for cannot contain it, whatever its case.
// A block that may (one in several hundred that do not, for a word of five letters or more) is
// searched as before. What is searched for is never decided here: the index only skips blocks.
//
// It is derived data, kept beside the history (history.index, 0600): built by the first query
// that needs it (a few seconds for a gigabyte, once), extended by later ones as the history grows,
// and rebuilt when the history it describes is gone (cleared, replaced): it records the file's
// inode and bytes from the start and the end of what it covers, and checks them on every use.
// Writers of the history never touch it, so appending stays one write().
import { closeSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/** Blocks are at least this long (then up to the end of the record). */
export const BLOCK_BYTES = 1024 * 1024;
/** Bits per block: 2^17 (16 KiB). */
const BITS = 17;
const SET_BYTES = (1 << BITS) / 8;
/** Smaller histories are searched whole: reading them costs less than the index. */
export const INDEX_FROM_BYTES = 8 * 1024 * 1024;
const MAGIC = 'imgdesc-history-index-v1';
/** Bytes compared at each end of what the index covers, to tell that it is still this history. */
const CHECK = 256;

const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
const bitOf = (trigram: number) => Math.imul(trigram, 0x9e3779b1) >>> (32 - BITS);

/** Sets the bit of every trigram of `buf` (letters A–Z as a–z). Pure. */
export function addTrigrams(buf: Buffer, set: Uint8Array): void {
  let t = 0;
  for (let i = 0; i < buf.length; i++) {
    t = ((t << 8) | lower(buf[i] as number)) & 0xffffff;
    if (i >= 2) {
      const bit = bitOf(t);
      set[bit >>> 3] = (set[bit >>> 3] as number) | (1 << (bit & 7));
    }
  }
}

/**
 * The bits a block must have to hold `text` in any case, as JSON spells it inside a string (or as
 * it is, `raw`); null when the text gives no filter (shorter than three bytes, or no trigram of
 * plain ASCII: the case of other letters is not folded here, so their trigrams prove nothing). Pure.
 */
export function textBits(text: string, raw = false): number[] | null {
  const bytes = Buffer.from(raw ? text : JSON.stringify(text).slice(1, -1));
  const bits = new Set<number>();
  for (let i = 2; i < bytes.length; i++) {
    const a = bytes[i - 2] as number;
    const b = bytes[i - 1] as number;
    const c = bytes[i] as number;
    if (a >= 0x80 || b >= 0x80 || c >= 0x80) continue;
    bits.add(bitOf((lower(a) << 16) | (lower(b) << 8) | lower(c)));
  }
  return bits.size > 0 ? [...bits] : null;
}

interface Header {
  magic: string;
  ino: number;
  /** Where each block starts, and where the last one ends (= the bytes covered). */
  starts: number[];
  /** hex of the first and the last CHECK bytes covered. */
  head: string;
  tail: string;
}

function readRange(fd: number, start: number, end: number): Buffer {
  const buf = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

export class HistoryIndex {
  private constructor(
    private header: Header,
    /** One bit set per block, in order. */
    private sets: Buffer[],
  ) {}

  /** The bytes of the history the index covers (from the start). */
  get covered(): number {
    return this.header.starts.at(-1) ?? 0;
  }

  get blocks(): number {
    return this.header.starts.length - 1;
  }

  /** [start, end) of block `i`. */
  block(i: number): [number, number] {
    return [this.header.starts[i] as number, this.header.starts[i + 1] as number];
  }

  /** Whether block `i` may hold one of the texts (each as textBits gives it; a null one may be anywhere). */
  mayHold(i: number, texts: (number[] | null)[]): boolean {
    const set = this.sets[i] as Buffer;
    return texts.some((bits) => bits === null || bits.every((bit) => ((set[bit >>> 3] as number) & (1 << (bit & 7))) !== 0));
  }

  /**
   * The index of the history open as `fd` (`size` bytes, inode `ino`), brought up to date with
   * it and saved to `file` when it grew: read from `file` when that still describes this history,
   * else built from the start. Never throws for a missing or broken index file (it is rebuilt);
   * an index that cannot be saved is used all the same.
   */
  static open(file: string, fd: number, ino: number, size: number): HistoryIndex {
    const index = HistoryIndex.read(file, fd, ino, size) ?? new HistoryIndex({ magic: MAGIC, ino, starts: [0], head: '', tail: '' }, []);
    if (index.extend(fd, size)) index.save(file, fd);
    return index;
  }

  private static read(file: string, fd: number, ino: number, size: number): HistoryIndex | undefined {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return undefined;
    }
    try {
      const len = buf.readUInt32LE(0);
      const header = JSON.parse(buf.toString('utf8', 4, 4 + len)) as Header;
      if (header.magic !== MAGIC || header.ino !== ino || !Array.isArray(header.starts)) return undefined;
      const covered = header.starts.at(-1) ?? 0;
      const blocks = header.starts.length - 1;
      if (covered > size || buf.length !== 4 + len + blocks * SET_BYTES) return undefined;
      const index = new HistoryIndex(header, []);
      if (covered > 0 && (index.check(fd, 0) !== header.head || index.check(fd, covered - CHECK) !== header.tail)) return undefined;
      for (let i = 0; i < blocks; i++) index.sets.push(buf.subarray(4 + len + i * SET_BYTES, 4 + len + (i + 1) * SET_BYTES));
      return index;
    } catch {
      return undefined;
    }
  }

  private check(fd: number, from: number): string {
    const start = Math.max(0, from);
    return readRange(fd, start, Math.min(start + CHECK, this.covered)).toString('hex');
  }

  /** Indexes the whole blocks appended since; true when there were any. */
  private extend(fd: number, size: number): boolean {
    let start = this.covered;
    let grew = false;
    // A block is indexed once it is whole: at least BLOCK_BYTES and ending with a record.
    const READ = 4 * BLOCK_BYTES;
    while (size - start > BLOCK_BYTES) {
      const buf = readRange(fd, start, Math.min(size, start + READ));
      let a = 0;
      for (;;) {
        if (buf.length - a <= BLOCK_BYTES) break;
        const nl = buf.indexOf(0x0a, a + BLOCK_BYTES - 1);
        if (nl < 0) break;
        const set = Buffer.alloc(SET_BYTES);
        addTrigrams(buf.subarray(a, nl + 1), set);
        this.sets.push(set);
        this.header.starts.push(start + nl + 1);
        a = nl + 1;
        grew = true;
      }
      if (a === 0) {
        // A record longer than the read: index up to its end, however far that is.
        const nl = findNewline(fd, start + buf.length, size);
        if (nl < 0) break;
        const set = Buffer.alloc(SET_BYTES);
        for (let p = start; p <= nl; p += READ) addTrigrams(readRange(fd, Math.max(start, p - 2), Math.min(nl + 1, p + READ)), set);
        this.sets.push(set);
        this.header.starts.push(nl + 1);
        grew = true;
        start = nl + 1;
        continue;
      }
      start += a;
    }
    return grew;
  }

  private save(file: string, fd: number): void {
    this.header.head = this.check(fd, 0);
    this.header.tail = this.check(fd, this.covered - CHECK);
    const head = Buffer.from(JSON.stringify(this.header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(head.length);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const out = openSync(tmp, 'w', 0o600);
      try {
        for (const part of [len, head, ...this.sets]) {
          let off = 0;
          while (off < part.length) off += writeSync(out, part, off, part.length - off);
        }
      } finally {
        closeSync(out);
      }
      renameSync(tmp, file);
    } catch {
      // not saved: this query has it all the same, the next one builds it again
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}

/** The offset of the first newline at or after `from`, or -1. */
function findNewline(fd: number, from: number, size: number): number {
  for (let p = from; p < size; p += BLOCK_BYTES) {
    const buf = readRange(fd, p, Math.min(size, p + BLOCK_BYTES));
    const nl = buf.indexOf(0x0a);
    if (nl >= 0) return p + nl;
  }
  return -1;
}
