// `imgdesc config edit`: the config file in $VISUAL / $EDITOR, checked before it is saved.
// The edit happens on a copy beside the file; the real file changes only when the copy is valid.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { isSettingKey } from '../config/keys.ts';
import { checkProfile } from '../config/settings.ts';
import { ProfileStore, type StoreData } from '../config/store.ts';
import { ConfigError, ExitCode, InterruptedError, UsageError, type IO } from '../types.ts';
import type { Term } from '../ui/term.ts';

/** What is wrong with an edited config, or null. Unknown keys are refused here: they are typos. */
export function checkStoreData(data: unknown, file: string): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'the file does not hold a JSON object';
  const d = data as Record<string, unknown>;
  for (const key of Object.keys(d))
    if (key !== 'active' && key !== 'profiles') return `unknown top-level key '${key}' (expected active, profiles)`;
  if (d.active !== undefined && typeof d.active !== 'string') return "'active' must be a profile name";
  const profiles = d.profiles ?? {};
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) return "'profiles' must be an object";
  for (const [name, profile] of Object.entries(profiles as Record<string, unknown>)) {
    try {
      checkProfile(name, profile as Record<string, unknown>, file);
    } catch (error) {
      return (error as Error).message;
    }
    for (const key of Object.keys(profile as object)) if (!isSettingKey(key)) return `unknown key '${key}' in profile '${name}'`;
  }
  return null;
}

function runEditor(editor: string, file: string, env: Record<string, string | undefined>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    // Through the shell, as git does: $EDITOR may carry arguments (`code --wait`).
    const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env });
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      resolve(code ?? 1);
    });
  });
}

export async function editConfig(store: ProfileStore, io: IO, term: Term): Promise<number> {
  const editor = io.env.VISUAL?.trim() || io.env.EDITOR?.trim();
  if (!editor)
    throw new UsageError('config edit: neither $VISUAL nor $EDITOR is set', {
      hint: `EDITOR=nano imgdesc config edit, or edit ${store.path}`,
    });
  mkdirSync(dirname(store.path), { recursive: true, mode: 0o700 });
  const copy = join(dirname(store.path), `.config.${randomBytes(4).toString('hex')}.json`);
  writeFileSync(copy, JSON.stringify(store.data, null, 2) + '\n', { mode: 0o600 });
  let keep = false;
  try {
    for (;;) {
      const code = await runEditor(editor, copy, io.env, io.signal);
      if (io.signal.aborted) throw new InterruptedError();
      if (code !== 0) throw new ConfigError(`config edit: the editor exited with ${code}; nothing was saved`);
      let data: unknown;
      let problem: string | null;
      try {
        data = ProfileStore.parse(readFileSync(copy, 'utf8')).data;
        problem = checkStoreData(data, store.path);
      } catch (error) {
        problem = `not valid JSON: ${(error as Error).message.split('\n')[0]}`;
      }
      if (problem === null) {
        await store.replace(data as StoreData);
        term.note(`saved ${store.path}`);
        return ExitCode.ok;
      }
      if (io.stdinIsTTY) {
        const { confirm } = await import('../ui/prompt.ts');
        term.error(problem);
        if (await confirm(io, 'Edit again?', true)) continue;
      }
      keep = true;
      throw new ConfigError(`config edit: ${problem}; nothing was saved`, { hint: `your edit is in ${copy}` });
    }
  } finally {
    if (!keep) rmSync(copy, { force: true });
  }
}
