// `imgdesc mcp`: the MCP server on stdio (src/mcp/server.ts). Settings come from the same
// resolution as every command; a relay that cannot be reached with them is exit 3 before serving.
// stdout carries the protocol only: every line for a person goes to stderr.
import type { Writable } from 'node:stream';
import type { Profile } from '../config/store.ts';
import { ExitCode, UsageError, type IO } from '../types.ts';
import { Term } from '../ui/term.ts';
import { formatRetry } from '../ui/render.ts';
import { VERSION } from '../version.ts';
import { errorLine } from './error-report.ts';
import type { RunFlags } from './options.ts';
import { loadSettings } from './settings.ts';

export interface McpOptions {
  settings: Profile;
  run: RunFlags;
  allowDirs: string[];
}

export async function runMcp(options: McpOptions, io: IO): Promise<number> {
  const { run } = options;
  const settings = await loadSettings(options.settings, run, io.env, io.signal, (w) => io.stderr.write(`warning: ${w}\n`));
  const term = new Term(io, { quiet: run.quiet, verbose: run.verbose, noColor: run.noColor, json: false });
  const { checkRelay } = await import('../core/describe.ts');
  for (const w of checkRelay(settings, false)) term.warn(w);
  const { resolve } = await import('node:path');
  const { stat } = await import('node:fs/promises');
  const allowDirs = options.allowDirs.map((d) => resolve(io.cwd, d));
  for (const [i, dir] of allowDirs.entries()) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`--allow-dir ${options.allowDirs[i]}: ${st ? 'not a folder' : 'no such folder'}`);
  }
  const { cacheDir } = await import('../config/model-cache.ts');
  const { serveMcp } = await import('../mcp/server.ts');
  const { openMemory } = await import('../core/answers.ts');
  await serveMcp({
    memory: openMemory(io.env, settings, { onNote: (m) => term.warn(m) }),
    settings,
    version: VERSION,
    stdin: io.stdin,
    stdout: io.stdout as unknown as Writable,
    cwd: io.cwd,
    allowDirs,
    cacheDir: cacheDir(io.env),
    searchPath: io.env.PATH,
    signal: io.signal,
    log: { warn: (m) => term.warn(m), info: (m) => term.info(m) },
    errorLine: (error) => errorLine(error, run.verbose),
    formatRetry,
  });
  return ExitCode.ok;
}
