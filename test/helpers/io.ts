// An in-process IO for running commands without spawning: captures output, TTY on or off.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

let dir: string | undefined;
const scratch = () => (dir ??= mkdtempSync(join(tmpdir(), 'imgdesc-io-')));
import type { IO } from '../../src/types.ts';

export interface TestIO extends IO {
  out(): string;
  err(): string;
  controller: AbortController;
}

export function testIO(opts: { tty?: boolean; env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}): TestIO {
  const out: string[] = [];
  const err: string[] = [];
  const controller = new AbortController();
  const tty = opts.tty ?? false;
  const sink = (into: string[]) => ({
    isTTY: tty,
    columns: 80,
    write(chunk: string | Uint8Array, done?: (err?: Error | null) => void) {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      done?.();
      return true;
    },
  });
  return {
    stdout: sink(out),
    stderr: sink(err),
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    stdinIsTTY: false,
    // The answer cache and the history go to a temp folder, never the developer's own.
    env: { XDG_CACHE_HOME: join(scratch(), 'cache'), XDG_STATE_HOME: join(scratch(), 'state'), ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    signal: controller.signal,
    controller,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
