// `imgdesc mcp`: the MCP server on stdio (src/mcp/server.ts). Settings come from the same
// resolution as every command; a relay that cannot be reached with them is exit 3 before serving.
// stdout carries the protocol only: every line for a person goes to stderr.
import type { Writable } from 'node:stream';
import { ExitCode, UsageError } from '../types.ts';
import { formatRetry } from '../ui/render.ts';
import { VERSION } from '../version.ts';
import { errorLine } from './error-report.ts';
import type { Factory } from './factory.ts';
import type { mcp } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc mcp` takes: --allow-dir and the settings given as flags (commands.ts). */
export type McpOptions = OptionsOf<typeof mcp>;

export async function run(options: McpOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  const settings = await f.settings(options.settings);
  const { checkRelay } = await import('../core/describe.ts');
  for (const w of checkRelay(settings, false)) term.warn(w);
  const { resolve } = await import('node:path');
  const { stat } = await import('node:fs/promises');
  const allowDirs = options.allowDirs.map((d) => resolve(io.cwd, d));
  for (const [i, dir] of allowDirs.entries()) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`--allow-dir ${options.allowDirs[i]}: ${st ? 'not a folder' : 'no such folder'}`);
  }
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
    cacheDir: f.core.cacheDir,
    searchPath: f.core.searchPath,
    signal: io.signal,
    log: { warn: (m) => term.warn(m), info: (m) => term.info(m) },
    errorLine: (error) => errorLine(error, run.verbose),
    formatRetry,
  });
  return ExitCode.ok;
}
