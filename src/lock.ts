// A lock file beside what it guards (`.results.jsonl.lock`). Used for one batch per -o file and
// for config read-modify-write. It records who holds it: pid, host, the process's start time and
// a random id, so a lock is held only by a live imgdesc: a pid that runs no more (a run killed with
// kill -9), a pid now used by another process (its start time differs), or a lock someone planted
// naming a process that is not imgdesc (PID 1) is stale and taken over. Release removes only our
// own lock (by its id). A lock file appears with its content (written aside, then linked). Two
// processes taking over the same stale lock in the same instant could both succeed; that needs a
// crash and two starts at once.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { InterruptedError } from './types.ts';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/** What a lock file says about its holder. Older imgdesc wrote the pid alone. */
export interface LockInfo {
  pid: number;
  host?: string | undefined;
  /** The holder's start time as the system counts it (Linux: clock ticks since boot). */
  start?: string | undefined;
  id?: string | undefined;
}

/** What can be learnt here about a process, by pid (undefined: cannot be told on this system). */
export interface ProcessFacts {
  host: string;
  running(pid: number): boolean;
  startOf(pid: number): string | undefined;
  commandOf(pid: number): string | undefined;
}

export function lockPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

export function parseLock(text: string): LockInfo | undefined {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const v = JSON.parse(t) as Record<string, unknown>;
      if (!Number.isInteger(v.pid) || (v.pid as number) <= 0) return undefined;
      const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
      return { pid: v.pid as number, host: str(v.host), start: str(v.start), id: str(v.id) };
    } catch {
      return undefined;
    }
  }
  const pid = Number(t);
  return Number.isInteger(pid) && pid > 0 ? { pid } : undefined;
}

/**
 * Whether the lock's holder is a live imgdesc. Pure over the facts given. Another host's lock
 * cannot be checked from here: it counts as held (the message names the host and the lock file).
 */
export function lockHeld(info: LockInfo, here: ProcessFacts): boolean {
  if (info.host !== undefined && info.host !== here.host) return true;
  if (!here.running(info.pid)) return false;
  if (info.start !== undefined) {
    const start = here.startOf(info.pid);
    return start === undefined || start === info.start;
  }
  // The pid alone (an older imgdesc, or a planted file): held only if that process is imgdesc.
  const command = here.commandOf(info.pid);
  return command === undefined || /imgdesc/.test(command);
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux: field 22 of /proc/<pid>/stat, the start time in clock ticks since boot. */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces and parentheses itself
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

const HERE: ProcessFacts = { host: hostname(), running, startOf, commandOf };

async function holder(lockPath: string): Promise<LockInfo | undefined> {
  return parseLock(await readFile(lockPath, 'utf8').catch(() => ''));
}

/**
 * Takes the lock for `path`, or says who holds it. Errors other than "held" (a folder that cannot
 * be written) are thrown as they are.
 */
export async function tryLock(
  path: string,
  facts: ProcessFacts = HERE,
): Promise<Lock | { heldBy: number; host?: string | undefined; path: string }> {
  const lockPath = lockPathFor(path);
  const id = randomBytes(8).toString('hex');
  const mine: LockInfo = { pid: process.pid, host: facts.host, start: facts.startOf(process.pid), id };
  for (let staleRemoved = 0; ; ) {
    try {
      await createWhole(lockPath, `${JSON.stringify(mine)}\n`);
      let released = false;
      return {
        path: lockPath,
        release: async () => {
          if (released) return;
          released = true;
          if ((await holder(lockPath))?.id === id) await unlink(lockPath).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || staleRemoved > 3) throw err;
    }
    const text = await readFile(lockPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    // Released since: take it again. Removing "the stale lock" now could remove the one that
    // another process has just taken (that lost a config set's change under load).
    if (text === undefined) continue;
    const info = parseLock(text);
    if (info !== undefined && lockHeld(info, facts))
      return { heldBy: info.pid, host: info.host !== facts.host ? info.host : undefined, path: lockPath };
    // Unreadable or naming no live imgdesc: stale (a lock file is never seen half-written). Removed
    // only while it is still that file: its holder may have released it meanwhile and another
    // process taken the lock (each lock's text is its own: a random id), and removing that one let
    // two `config set` in at once under load, one change lost. (What is left is the instant between
    // this read and the unlink, not the whole of the check above.)
    if ((await readFile(lockPath, 'utf8').catch(() => undefined)) === text) await unlink(lockPath).catch(() => undefined);
    staleRemoved++;
  }
}

/**
 * Creates `path` with `text` in it, or fails with EEXIST. The text is written to a file of its own
 * first and linked into place, so nobody ever reads the lock between its creation and its content
 * (under load that gap lasted long enough for a second `config set` to call it stale and lose a
 * change). Where hard links are not supported, an exclusive create and a write.
 */
async function createWhole(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}`;
  let linked = false;
  try {
    await writeFile(tmp, text, { mode: 0o644, flag: 'wx' });
    await link(tmp, path);
    linked = true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  if (linked) return;
  const h = await open(path, 'wx', 0o644);
  try {
    await h.write(text);
  } finally {
    await h.close();
  }
}

/** Waits for the lock (short critical sections such as a config write), up to `timeoutMs`. */
export async function waitLock(path: string, opts: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<Lock> {
  const until = Date.now() + opts.timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (opts.signal?.aborted) throw new InterruptedError();
    const got = await tryLock(path);
    if (!('heldBy' in got)) return got;
    if (Date.now() > until) {
      throw Object.assign(new Error(`${path} is locked by process ${got.heldBy}`), { code: 'ELOCKED', heldBy: got.heldBy });
    }
    await delay(wait);
  }
}
