// Questions on the terminal (init, doctor --models). Only asked when stdin and stderr are a TTY;
// callers decide what happens without one.
import { InterruptedError, type IO } from '../types.ts';

/** One line from the user; Enter alone gives the default (the caller shows it in the prompt). `silent` for secrets: only stars are echoed. */
export async function ask(io: IO, prompt: string, opts: { default?: string | undefined; silent?: boolean } = {}): Promise<string> {
  const { read } = await import('read');
  try {
    const answer = await read({
      prompt,
      silent: opts.silent === true,
      replace: opts.silent ? '*' : '',
      input: io.stdin as NodeJS.ReadableStream,
      output: io.stderr as NodeJS.WritableStream,
    });
    const text = String(answer).trim();
    return text === '' && opts.default !== undefined ? opts.default : text;
  } catch (error) {
    if (error instanceof Error && /canceled/i.test(error.message)) throw new InterruptedError();
    throw error;
  }
}

/** A yes/no question; Enter alone gives `def`. */
export async function confirm(io: IO, question: string, def: boolean): Promise<boolean> {
  for (;;) {
    const a = (await ask(io, `${question} ${def ? '[Y/n]' : '[y/N]'} `)).toLowerCase();
    if (a === '') return def;
    if (a === 'y' || a === 'yes') return true;
    if (a === 'n' || a === 'no') return false;
  }
}
