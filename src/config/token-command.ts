// `config set token-command 'pass show relay'`: the token comes from a password manager at each
// use, never stored on disk by imgdesc (as gh and git credential helpers do).
import { ConfigError, InterruptedError } from '../types.ts';
import { cleanToken } from './keys.ts';

const MAX_OUTPUT = 64 * 1024;

/** Runs the command with `sh -c`; the first line of its output is the token. */
export function runTokenCommand(command: string, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    // stdin is not passed on: it may be the image being piped in. node:child_process taken here,
    // when used: a describe without a token command never loads it (with net and dgram, ~0.7 ms).
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (out.length < MAX_OUTPUT) out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      if (err.length < MAX_OUTPUT) err += c;
    });
    const fail = (why: string, cause?: unknown) =>
      reject(new ConfigError(`token-command failed: ${why}`, { hint: `check it with: ${command}`, cause }));
    child.on('error', (error) => (signal?.aborted ? reject(new InterruptedError()) : fail(error.message, error)));
    child.on('close', (code, sig) => {
      if (signal?.aborted) return reject(new InterruptedError());
      const said = err.trim().split('\n')[0] ?? '';
      if (code !== 0) return fail(`${sig ? `killed by ${sig}` : `exit ${code}`}${said ? `: ${said}` : ''}`);
      const token = cleanToken(out.split('\n')[0] ?? '');
      if (typeof token !== 'string') return fail(`its first line is not a token (${token.problem})`);
      resolve(token);
    });
  });
}
