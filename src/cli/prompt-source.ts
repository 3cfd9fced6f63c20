// Where a prompt given on the command line comes from: the text itself, `@file`, `-` (stdin), or
// `:name`, a prompt saved in the profile (resolved with the profile, in loadSettings).
import { resolve } from 'node:path';
import { InterruptedError, UsageError, type IO } from '../types.ts';
import { ReadCapError, readFileCapped } from '../read-capped.ts';
import type { Profile } from '../config/store.ts';
import { readStdinText } from './items.ts';
import type { RunFlags } from './options.ts';

const MAX_PROMPT_BYTES = 1024 * 1024;

/** One trailing newline is what an editor or `echo` adds, not part of the prompt. */
function fromText(text: string, from: string): string {
  const prompt = text.replace(/\r?\n$/, '');
  if (prompt.trim() === '') throw new UsageError(`${from}: the prompt is empty`);
  return prompt;
}

/**
 * Replaces `-p @file`, `--prompt-file file` and `-p -` by the prompt they name. `stdinTaken` says
 * stdin already carries something else (the image `-`, a `--files-from -` list).
 */
export async function readPromptFlags(
  flags: Profile,
  run: Pick<RunFlags, 'promptFile'>,
  io: IO,
  stdinTaken: string | undefined,
): Promise<Profile> {
  const given = flags.prompt === undefined ? undefined : String(flags.prompt);
  if (run.promptFile !== undefined && given !== undefined) throw new UsageError('give the prompt with -p or --prompt-file, not both');
  const file = run.promptFile ?? (given?.startsWith('@') ? given.slice(1) : undefined);
  if (file !== undefined) {
    const from = run.promptFile !== undefined ? `--prompt-file ${file}` : `-p @${file}`;
    if (file === '') throw new UsageError(`${from}: name a file after the @`);
    let text: string;
    try {
      text = (await readFileCapped(resolve(io.cwd, file), { max: MAX_PROMPT_BYTES, signal: io.signal })).toString('utf8');
    } catch (error) {
      if (error instanceof ReadCapError) throw new UsageError(`${from}: larger than 1 MiB; is this the right file?`);
      if (error instanceof InterruptedError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${from}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(error)})`}`,
      );
    }
    return { ...flags, prompt: fromText(text, from) };
  }
  if (given === '-') {
    if (stdinTaken)
      throw new UsageError(`-p -: stdin already carries ${stdinTaken}`, { hint: 'put the prompt in a file and use -p @file' });
    if (io.stdinIsTTY)
      throw new UsageError('-p -: stdin is a terminal', { hint: "pipe the prompt in, e.g. echo 'caption this' | imgdesc photo.jpg -p -" });
    const text = await readStdinText(io, MAX_PROMPT_BYTES, '-p -: the prompt on stdin is larger than 1 MiB');
    return { ...flags, prompt: fromText(text, '-p -') };
  }
  return flags;
}

/** `-p :alt` → the prompt saved as `prompt.alt` in the profile. */
export function savedPrompt(flags: Profile, profile: Profile | undefined, profileName: string): Profile {
  const given = flags.prompt;
  if (typeof given !== 'string') return flags;
  const m = /^:([A-Za-z][\w-]*)$/.exec(given);
  if (!m) return flags;
  const saved = profile?.[`prompt.${m[1]}`];
  if (saved === undefined) {
    const names = Object.keys(profile ?? {})
      .filter((k) => k.startsWith('prompt.'))
      .map((k) => `:${k.slice(7)}`);
    throw new UsageError(
      `-p ${given}: no prompt saved as prompt.${m[1]} in profile '${profileName}'${names.length ? ` (saved: ${names.join(', ')})` : ''}`,
      {
        hint: `imgdesc config set prompt.${m[1]} "…"`,
      },
    );
  }
  return { ...flags, prompt: saved };
}
