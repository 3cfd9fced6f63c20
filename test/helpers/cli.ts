// Spawns the built CLI (bin/imgdesc.js) as a user would, with its own config dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'imgdesc.js');
export const FIXTURES = join(ROOT, '..', 'shared', 'fixtures', 'images');
export const SPEC = join(ROOT, '..', 'shared', 'spec', 'openai-openapi.patched.json');
/** For `test(name, { skip: noFixtures }, ...)`: a reason when ../shared is absent. */
export const noFixtures: string | false = existsSync(FIXTURES) ? false : 'skipped: ../shared/fixtures/images is absent';
export const fixture = (name: string) => join(FIXTURES, name);

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
  timeoutMs?: number;
}

/** Environment for a run: clean of the developer's own relay settings and proxies. */
export function cliEnv(extra: Record<string, string | undefined> = {}, configHome = tempDir('imgdesc-cfg-')): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: configHome,
    XDG_CONFIG_HOME: configHome,
    TERM: 'dumb',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
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
    else child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    opts.onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
}

/** Env pointing the CLI at a test server with the test token. */
export function relayEnv(url: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { IMGDESC_BASE_URL: url, IMGDESC_TOKEN: TOKEN, ...extra };
}
