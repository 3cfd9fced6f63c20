// Runs the CLI as a user would, with its own config dir: in this process through `main(argv, io)`
// (`run`, most cases), or spawned from the built bin/imgdesc.js (`runCli`, for real-process cases).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { IO } from '../../src/types.ts';

import { ROOT } from './shared.ts';

export { FIXTURES, fixture, noFixtures, ROOT } from './shared.ts';
export const BIN = join(ROOT, 'bin', 'imgdesc.js');

/** The token every test uses; tests scan all output for it. */
export const TOKEN = 'sk-test-SECRET-0123456789abcdef';

export function tempDir(prefix = 'imgdesc-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Bytes for stdin; stdin is closed (empty) when absent. */
  input?: string | Buffer;
  cwd?: string;
  /** Config dir; a fresh empty one when absent. */
  configHome?: string;
  /** Called once the process started, e.g. to send SIGINT later. */
  onSpawn?: (child: ChildProcess) => void;
  /** stdin stays open (a pipe whose writer never finishes) instead of being closed. */
  keepStdinOpen?: boolean;
  timeoutMs?: number;
  /** A command the CLI runs under, e.g. ['unshare', '-n'] (a network namespace, see noNetNamespace). */
  prefix?: string[];
}

/** Environment for a run: clean of the developer's own relay settings and proxies. */
export function cliEnv(extra: Record<string, string | undefined> = {}, configHome = tempDir('imgdesc-cfg-')): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: configHome,
    XDG_CONFIG_HOME: configHome,
    // The answer cache, the model pick and the history: never the developer's own.
    XDG_CACHE_HOME: join(configHome, '.cache'),
    XDG_STATE_HOME: join(configHome, '.local', 'state'),
    TERM: 'dumb',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = [...(opts.prefix ?? []), process.execPath];
    const child = spawn(cmd as string, [...pre, BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: cliEnv(opts.env, opts.configHome),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else if (!opts.keepStdinOpen) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    opts.onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
}

/**
 * Why runCli cannot run the CLI in a network namespace with no interface up (`prefix:
 * ['unshare', '-n']`), as a test's skip reason; false when it can. Nothing can leave the machine
 * from there, so a refusal of a non-loopback address is proven without risk.
 */
export const noNetNamespace: string | false =
  process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0
    ? existsSync(join(ROOT, 'dist', 'main.js'))
      ? false
      : 'skipped: dist/ is not built (npm test builds it)'
    : 'skipped: needs root and unshare -n (a network namespace)';

/**
 * A failure as the CLI shows it: `error: …` and at most a `hint: …` line after it. Returns the
 * error line.
 */
export function failureLine(stderr: string, what = stderr): string {
  const lines = stderr.replace(/\n$/, '').split('\n');
  if (!(lines.length === 1 || (lines.length === 2 && lines[1]?.startsWith('hint: '))) || !lines[0]?.startsWith('error: '))
    throw new Error(`expected an error line and at most a hint line: ${what}`);
  return lines[0];
}

/** The model the tests' users chose; `IMGDESC_MODEL: undefined` in `extra` leaves it to the picker. */
export const TEST_MODEL = 'claude-3-5-sonnet-20240620';

/** Env pointing the CLI at a test server with the test token and a model set. */
export function relayEnv(url: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { IMGDESC_BASE_URL: url, IMGDESC_TOKEN: TOKEN, IMGDESC_MODEL: TEST_MODEL, ...extra };
}

export interface InProcessOptions extends Omit<RunOptions, 'onSpawn' | 'timeoutMs' | 'keepStdinOpen'> {
  /** Called once the command started, with the controllers that stand for Ctrl-C and a second Ctrl-C. */
  onStart?: (interrupt: AbortController, quit: AbortController) => void;
  /** stdout and stderr are terminals (for spinner and live-progress cases). */
  tty?: boolean;
  /** Through the commander program (cli/main.ts), also for the forms the entry answers itself. */
  program?: boolean;
  /** A live stdin (e.g. a PassThrough the test writes to and ends), instead of `input`. */
  stdin?: NodeJS.ReadableStream;
  /** Each chunk written to stdout, as it is written (it is captured as well). */
  onStdout?: (chunk: Buffer) => void;
}

/**
 * One exiftool process for every in-process run of this test process, started by the first that
 * needs one (RAW previews, --xmp, --embed): starting one costs about 0.3 s of CPU. Ended when the
 * process has nothing left to do (exiftool-vendored's process does not hold it open); not by a
 * node:test `after` hook, which a group of test files in one process runs once the first file's
 * tests are done. (A spawned run starts and ends its own, as the CLI does.)
 */
let exiftool: Promise<{ get: NonNullable<IO['exiftool']>; close: () => Promise<void> }> | undefined;
const sharedExiftool: NonNullable<IO['exiftool']> = async () => {
  // the promise kept at once: runs that start side by side get the same session
  exiftool ??= import('../../src/metadata/index.ts').then(({ exiftoolSession }) => {
    const session = exiftoolSession();
    const mine = exiftool;
    process.once('beforeExit', () => {
      if (exiftool === mine) exiftool = undefined;
      void session.close();
    });
    return session;
  });
  return (await exiftool).get();
};

/**
 * Runs the CLI in this process: `main(argv, io)` with an IO that captures stdout and stderr as
 * bytes, the same clean environment as `runCli`, and the same result shape. Most end-to-end cases
 * use this; `runCli` is kept for what needs a real process (signals, pipes, exit, proxies).
 */
export async function run(args: string[], opts: InProcessOptions = {}): Promise<RunResult> {
  const { main } = opts.program ? await import('../../src/cli/main.ts') : await import('../../src/cli/entry.ts');
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const tty = opts.tty ?? false;
  const sink = (into: Buffer[], each?: (chunk: Buffer) => void) => ({
    isTTY: tty,
    columns: 80,
    write(chunk: string | Uint8Array, done?: (err?: Error | null) => void) {
      const b = Buffer.from(chunk);
      into.push(b);
      each?.(b);
      done?.();
      return true;
    },
  });
  const controller = new AbortController();
  const quit = new AbortController();
  const input = opts.input === undefined ? [] : [typeof opts.input === 'string' ? Buffer.from(opts.input) : opts.input];
  const io: IO = {
    stdout: sink(out, opts.onStdout),
    stderr: sink(err),
    stdin: opts.stdin ?? Readable.from(input),
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    stdinIsTTY: false,
    env: cliEnv(opts.env, opts.configHome),
    cwd: opts.cwd ?? ROOT,
    signal: controller.signal,
    quit: quit.signal,
    exiftool: sharedExiftool,
  };
  opts.onStart?.(controller, quit);
  const code = await main(args, io);
  const stdoutBytes = Buffer.concat(out);
  return { code, signal: null, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes };
}

/**
 * Resolves once the child is waiting for its input: every thread of it asleep (state S in
 * /proc/<pid>/task/<tid>/stat) for 10 samples in a row, 30 ms apart. Loading and setting up make
 * threads run (R) or read files (D) however slow a loaded machine is; only a process blocked on a
 * FIFO or a pipe sleeps that long, and by then its signal handlers are in place. (SigCgt says
 * nothing here: Node catches SIGINT and SIGTERM itself from its first instruction.)
 */
export async function waitingForInput(child: ChildProcess): Promise<void> {
  let quiet = 0;
  while (quiet < 10) {
    await new Promise((r) => setTimeout(r, 30));
    let states: string[];
    try {
      states = readdirSync(`/proc/${child.pid}/task`).map(
        (tid) => /^\d+ \(.*\) (\w)/s.exec(readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8'))?.[1] ?? '?',
      );
    } catch {
      return; // gone already: the assertions say why
    }
    quiet = states.every((st) => st === 'S') ? quiet + 1 : 0;
  }
}
