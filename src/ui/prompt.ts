// Questions on the terminal (config set token, config remove, config edit, init, doctor --models).
// Only asked when stdin is a TTY; callers decide what happens without one. Ctrl-D or Ctrl-C at a question ends it with
// InterruptedError('cancelled'), never a silent hang.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InterruptedError, type IO } from '../types.ts';

/** One line from the user; Enter alone gives `default` (the caller shows it in the prompt). `silent` for secrets: nothing is echoed. */
export function ask(io: IO, prompt: string, opts: { default?: string | undefined; silent?: boolean } = {}): Promise<string> {
  let muted = false;
  // readline echoes what is typed to its output; for a secret that echo goes nowhere.
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) io.stderr.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: io.stdinIsTTY });
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.on('line', (line) => {
      answered = true;
      rl.close();
      const text = line.trim();
      resolve(text === '' && opts.default !== undefined ? opts.default : text);
    });
    // readline turns Ctrl-C into 'SIGINT' on the interface, and Ctrl-D on an empty line into 'close'
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (muted || !answered) io.stderr.write('\n');
      if (!answered) reject(new InterruptedError('cancelled'));
    });
    io.stderr.write(prompt);
    muted = opts.silent === true;
  });
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
