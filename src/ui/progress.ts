// Batch progress on stderr. On a TTY: one line redrawn in place (done/total, failed, skipped,
// rate, ETA), at most ~12 times a second. Off a TTY: nothing until the final summary.
import { formatCount } from '../format.ts';
import type { OutStream } from '../types.ts';
import { formatDuration } from './render.ts';

export interface ProgressCounts {
  total: number;
  ok: number;
  failed: number;
  skipped: number;
  tokens: number;
}

export interface ProgressOptions {
  /** stderr is a TTY (and TERM is not dumb): draw the live line. */
  live: boolean;
  /** -q: no live line and no summary. */
  quiet: boolean;
  now?: () => number;
  /** Colour helpers; identity when absent. */
  dim?: (s: string) => string;
  red?: (s: string) => string;
  green?: (s: string) => string;
}

const REDRAW_MS = 80;

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '– img/s';
  return `${perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1)} img/s`;
}

/**
 * The live line, e.g. `37/200 · 2 failed · 5 skipped · 3.2 img/s · ETA 48 s`. While the relay's
 * rate limit holds every request back, that is what it says: `37/200 · waiting 3 s (rate limited)`.
 */
export function progressLine(c: ProgressCounts, elapsedMs: number, waitingMs = 0, pace?: PaceLine): string {
  const done = c.ok + c.failed + c.skipped;
  const sent = c.ok + c.failed;
  const rate = elapsedMs > 0 ? sent / (elapsedMs / 1000) : 0;
  const left = Math.max(0, c.total - done);
  const parts = [`${done}/${c.total}`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (pace?.stopping !== undefined) {
    parts.push(pace.stopping);
    return parts.join(' · ');
  }
  const waiting = Math.max(waitingMs, pace?.waitingMs ?? 0);
  if (waiting > 0) {
    parts.push(`waiting ${Math.ceil(waiting / 1000)} s (rate limited)`);
    return parts.join(' · ');
  }
  parts.push(pace?.rate !== undefined && pace.rate > 0 ? `${pace.rate.toFixed(1)}/s` : formatRate(rate));
  if (pace?.limit) parts.push(pace.limit);
  if (left > 0 && rate > 0) parts.push(`ETA ${formatDuration((left / rate) * 1000)}`);
  return parts.join(' · ');
}

/** What the live line says about the pace: the rate now, what holds it, or that the batch is stopping. */
export interface PaceLine {
  rate?: number | undefined;
  limit?: string | undefined;
  stopping?: string | undefined;
  /** Nothing may start for this long: the relay asked to wait. */
  waitingMs?: number | undefined;
}

/** The final summary: counts, elapsed time and tokens. */
export function summaryLine(c: ProgressCounts, elapsedMs: number, skippedDetail?: string): string {
  const skipped = c.skipped ? `${c.skipped} skipped${skippedDetail ? ` (${skippedDetail})` : ''}` : '0 skipped';
  const tokens = `${formatCount(c.tokens)} tokens`;
  return `${c.ok} ok, ${c.failed} failed, ${skipped} in ${formatDuration(elapsedMs)}, ${tokens}`;
}

export class Progress {
  private readonly now: () => number;
  private readonly started: number;
  private drawn = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private counts: ProgressCounts = { total: 0, ok: 0, failed: 0, skipped: 0, tokens: 0 };
  private waitUntil = 0;
  private pace: (() => PaceLine) | undefined;

  constructor(
    private readonly stream: OutStream,
    private readonly opts: ProgressOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
  }

  get live(): boolean {
    return this.opts.live && !this.opts.quiet;
  }

  elapsed(): number {
    return this.now() - this.started;
  }

  update(counts: ProgressCounts, force = false): void {
    this.counts = { ...counts };
    if (!this.live) return;
    const t = this.now();
    if (!force && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.draw();
  }

  /** Where the line reads the pace from at each redraw. */
  setPace(pace: () => PaceLine): void {
    this.pace = pace;
  }

  /** The relay asked to wait (429): the line says so until the wait is over. */
  waitFor(ms: number): void {
    this.waitUntil = Math.max(this.waitUntil, this.now() + ms);
    if (this.live) this.draw();
  }

  /** Erases the live line so another line (a warning, a result on the same terminal) can be written. */
  clear(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  /** Draws the line again after clear(). */
  redraw(): void {
    if (this.live) this.draw();
  }

  /** Draws now and then once a second, so rate and ETA move while slow requests are out. */
  start(counts: ProgressCounts): void {
    this.update(counts, true);
    if (!this.live || this.timer) return;
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref?.();
  }

  /** Stops the ticking and erases the live line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  /** Replaces the live line with the summary (shown off a TTY too, but not with -q). */
  finish(lines: string[]): void {
    this.stop();
    if (this.opts.quiet) return;
    for (const l of lines) this.stream.write(l + '\n');
  }

  private draw(): void {
    const dim = this.opts.dim ?? ((s: string) => s);
    let text = progressLine(this.counts, this.elapsed(), this.waitUntil - this.now(), this.pace?.());
    const cols = this.stream.columns;
    if (cols !== undefined && cols > 10 && text.length > cols - 1) text = text.slice(0, cols - 2) + '…';
    this.stream.write(`\r\x1b[2K${dim(text)}`);
    this.drawn = true;
  }
}
