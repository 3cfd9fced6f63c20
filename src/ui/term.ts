// The terminal side of every command: colour, spinner, warnings and errors on stderr.
// Nothing here decides what to do; commands tell it what to show.
import { Chalk, type ChalkInstance } from 'chalk';
import { visible, visibleBlock, visibleStyled } from '../safe-text.ts';
import type { IO } from '../types.ts';

export interface TermOptions {
  quiet: boolean;
  verbose: boolean;
  /** --no-color given */
  noColor: boolean;
  /** --json: no spinner (scripts read the output) */
  json: boolean;
}

/**
 * chalk's own detection reads `process` and ignores NO_COLOR, so the level is chosen here from the
 * command's IO: FORCE_COLOR wins, then --no-color / NO_COLOR / TERM=dumb / not a TTY turn it off.
 */
export function colorLevel(isTTY: boolean, env: Record<string, string | undefined>, noColorFlag: boolean): 0 | 1 | 2 | 3 {
  if (noColorFlag) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force !== 'false') {
    const n = Number(force);
    return n === 1 || n === 2 || n === 3 ? n : 1;
  }
  if (force === '0' || force === 'false') return 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.TERM === 'dumb' || !isTTY) return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (/-256(color)?$/i.test(env.TERM ?? '')) return 2;
  return 1;
}

/** `error: <message>` and, when there is a hint, `hint: <hint>`: every failure is at most these two lines. */
export function errorLines(message: string, hint?: string): [string] | [string, string] {
  return hint ? [`error: ${message}`, `hint: ${hint}`] : [`error: ${message}`];
}

export interface Spinner {
  text(text: string): void;
  stop(): void;
}

export class Term {
  /** Colours for stderr. */
  readonly err: ChalkInstance;
  /** Colours for stdout. */
  readonly out: ChalkInstance;
  private spin: { stop(): unknown; text: string } | undefined;

  constructor(
    readonly io: IO,
    readonly opts: TermOptions,
  ) {
    this.err = new Chalk({ level: colorLevel(io.stderrIsTTY, io.env, opts.noColor) });
    this.out = new Chalk({ level: colorLevel(io.stdoutIsTTY, io.env, opts.noColor) });
  }

  get spinnerEnabled(): boolean {
    return this.io.stderrIsTTY && !this.opts.quiet && !this.opts.json && this.io.env.TERM !== 'dumb';
  }

  /** Starts the spinner when stderr is a TTY and neither -q nor --json; otherwise a no-op. */
  async spinner(text: string): Promise<Spinner> {
    if (!this.spinnerEnabled) return { text: () => {}, stop: () => {} };
    const { default: ora } = await import('ora');
    // discardStdin would put stdin in raw mode and swallow Ctrl-C handling; we keep SIGINT.
    const s = ora({ text, stream: this.io.stderr as NodeJS.WritableStream, discardStdin: false, color: 'cyan' });
    if (this.err.level === 0) s.color = 'white';
    s.start();
    this.spin = s;
    return {
      text: (t) => {
        s.text = t;
      },
      stop: () => {
        s.stop();
        this.spin = undefined;
      },
    };
  }

  /**
   * Writes a line to stderr without tearing a running spinner. Every line goes through here with
   * its outside text (relay messages, model ids, file names) already escaped by the caller below.
   */
  private line(text: string): void {
    const s = this.spin;
    if (s) {
      const t = s.text;
      s.stop();
      this.io.stderr.write(text + '\n');
      (s as unknown as { start(t: string): void }).start(t);
    } else {
      this.io.stderr.write(text + '\n');
    }
  }

  warn(message: string): void {
    if (this.opts.quiet) return;
    this.line(`${this.err.yellow('warning:')} ${visible(message)}`);
  }

  /** Shown with -v only. */
  info(message: string): void {
    if (!this.opts.verbose) return;
    this.line(this.err.dim(visible(message)));
  }

  /**
   * What happened on one line, and what to do on a second one when there is a hint: shown even
   * with -q (a script needs the reason). errorLines() is the same text without colour.
   */
  error(message: string, hint?: string): void {
    const [what, todo] = errorLines(visible(message), hint === undefined ? undefined : visible(hint));
    this.line(`${this.err.red('error:')} ${what.slice('error: '.length)}`);
    if (todo !== undefined) this.line(this.err.dim(todo));
  }

  /**
   * A line to stderr that the caller may have coloured: its colour codes are kept, every other
   * control is escaped. Outside text in it goes through visible() first.
   */
  note(text: string): void {
    this.line(visibleStyled(text));
  }

  /** A block of outside text (the model's reasoning), dimmed: its lines kept, every other control escaped. */
  block(text: string): void {
    this.line(this.err.dim(visibleBlock(text)));
  }
}
