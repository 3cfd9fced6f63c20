// A lock file beside what it guards (`.results.jsonl.lock`), holding the pid of its owner. Used for
// one batch per -o file and for config read-modify-write. A lock whose pid is no longer running
// (a run killed with kill -9) is stale and taken over. Two processes taking over the same stale
// lock in the same instant could both succeed; that needs a crash and two starts at once.
import { open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { InterruptedError } from './types.ts';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

export function lockPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
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

async function holder(lockPath: string): Promise<number | undefined> {
  const text = await readFile(lockPath, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes the lock for `path`, or says who holds it. Errors other than "held" (a folder that cannot
 * be written) are thrown as they are.
 */
export async function tryLock(path: string): Promise<Lock | { heldBy: number }> {
  const lockPath = lockPathFor(path);
  for (let tries = 0; ; tries++) {
    try {
      const h = await open(lockPath, 'wx', 0o644);
      try {
        await h.write(`${process.pid}\n`);
      } finally {
        await h.close();
      }
      let released = false;
      return {
        path: lockPath,
        release: async () => {
          if (released) return;
          released = true;
          if ((await holder(lockPath)) === process.pid) await unlink(lockPath).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
    }
    const pid = await holder(lockPath);
    // A pid that is running holds it. No pid at all: its owner is between creating and writing
    // the file; give it a moment before calling it stale.
    if (pid !== undefined && running(pid)) return { heldBy: pid };
    if (pid === undefined && tries === 0) {
      await delay(50);
      continue;
    }
    await unlink(lockPath).catch(() => undefined);
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
