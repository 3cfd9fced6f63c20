// `imgdesc map`: JSON lines in on stdin (one manifest row each), one result record out on stdout
// per line, in the same order, from one process with -c requests in flight. The shape that
// Spark's RDD.pipe, Ray's subprocess actors and xargs/GNU parallel need: line n out answers line n in.
import type { BatchItem } from '../core/batch-inputs.ts';
import type { BatchRecord } from '../core/batch.ts';
import { jsonSafe } from '../safe-text.ts';
import { ExitCode, UsageError } from '../types.ts';
import { linesOrOverlong } from '../read-capped.ts';
import { formatRetry } from '../ui/render.ts';
import { parseKeepCols } from './items.ts';
import type { Factory } from './factory.ts';
import { downLimitMs, gracefulStop, hungMinMs } from './stop.ts';
import type { map } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc map` takes: its flags and the settings given as flags (commands.ts). */
export type MapOptions = OptionsOf<typeof map>;

/**
 * Records out in the order of the lines in. Lines finish out of order; each waits here until the
 * ones before it are out. Reading stops `window` lines ahead of the oldest unanswered one, so a
 * slow image cannot make the buffer grow without bound.
 */
export class InOrder<T> {
  private readonly done = new Map<number, T>();
  private next = 0;
  private wake: (() => void) | undefined;
  constructor(
    private readonly emit: (v: T) => Promise<void>,
    private readonly window: number,
  ) {}

  /** Resolves once line `seq` may be read. */
  async admit(seq: number, signal: AbortSignal): Promise<void> {
    while (seq - this.next >= this.window && !signal.aborted) await new Promise<void>((r) => (this.wake = r));
  }

  async put(seq: number, v: T): Promise<void> {
    this.done.set(seq, v);
    while (this.done.has(this.next)) {
      const out = this.done.get(this.next) as T;
      this.done.delete(this.next);
      this.next++;
      await this.emit(out);
    }
    this.wake?.();
    this.wake = undefined;
  }

  get pending(): number {
    return this.done.size;
  }

  /**
   * After a stop: every line read before `upTo` that has no record yet gets `make(seq)` in its
   * place, so the answers that came in after it (paid for) go out, and line n still answers line n.
   */
  async fill(upTo: number, make: (seq: number) => T): Promise<number> {
    let filled = 0;
    for (let seq = this.next; seq < upTo; seq++) {
      if (this.done.has(seq)) continue;
      filled++;
      await this.put(seq, make(seq));
    }
    return filled;
  }
}

export async function run(options: MapOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  if (run.dryRun)
    throw new UsageError('map does not take --dry-run', { hint: 'try the rows with imgdesc batch --manifest rows.jsonl --dry-run' });
  if (io.stdinIsTTY)
    throw new UsageError('map reads JSON lines on stdin, and stdin is a terminal', { hint: `echo '{"image":"photo.jpg"}' | imgdesc map` });
  let settings = await f.settings(options.settings);
  const { imageColumn, manifestPlace, MAX_ROW_BYTES, parseJsonRow, rowItem } = await import('../core/manifest.ts');
  const { runBatchFlow } = await import('../core/batch.ts');
  const { streamSink } = await import('../core/batch-output.ts');
  const { checkRelay } = await import('../core/describe.ts');
  for (const w of checkRelay(settings, false)) term.warn(w);
  const ctx = await f.context(settings);
  ({ settings } = await f.model(settings, { dryRun: false }));
  term.info(`map: concurrency ${settings.concurrency}, model ${settings.model}, base URL ${settings.baseUrl ?? 'none'}`);

  const sink = streamSink(io.stdout);
  const order = new InOrder<BatchRecord>((rec) => sink.write(jsonSafe(JSON.stringify(rec))), Math.max(64, settings.concurrency * 16));
  const seqOf = new WeakMap<BatchItem, number>();
  /** The image of each line sent to the flow and not answered yet (for a stop's records). */
  const imageOf = new Map<number, string>();
  const spec = {
    imageCol: options.imageCol,
    idCol: options.idCol,
    keepCols: parseKeepCols(options.keepCols),
    imageRoot: options.imageRoot,
    allowOutside: options.allowOutsideRoot,
  };
  const place = manifestPlace('-', io.cwd);
  let failedRows = 0;
  let lines = 0;

  // Lines that name no image are answered with a failed record in their place; the rest go to the flow.
  async function* items(): AsyncGenerator<BatchItem> {
    let imageCol = options.imageCol;
    // A line past the row cap is answered with a failed record, its bytes never held.
    for await (const text of linesOrOverlong(io.stdin, { maxLine: MAX_ROW_BYTES, signal: io.signal })) {
      const seq = lines++;
      await order.admit(seq, io.signal);
      const parsed =
        typeof text !== 'string'
          ? { problem: 'a row longer than 1 MiB' }
          : text.trim() === ''
            ? { problem: 'an empty line' }
            : parseJsonRow(text, imageCol);
      let item: BatchItem | undefined;
      let problem: string;
      if ('row' in parsed) {
        imageCol ??= imageColumn(Object.keys(parsed.row), spec, `stdin:${seq + 1}`);
        const r = rowItem(parsed.row, seq + 1, spec, imageCol, place);
        if ('item' in r) item = r.item;
        problem = 'problem' in r ? r.problem : '';
      } else problem = `stdin:${seq + 1}: ${parsed.problem}`;
      if (item) {
        seqOf.set(item, seq);
        imageOf.set(seq, item.image);
        yield item;
        continue;
      }
      failedRows++;
      const label = `stdin:${seq + 1}`;
      await order.put(seq, { image: label, ok: false, error: { status: null, code: 'bad_row', message: problem }, sha256: null });
      if (!run.quiet) term.error(problem);
    }
  }

  // The first Ctrl-C stops reading and sending, and waits for the answers in flight (stop.ts).
  let inFlight = () => 0;
  const stop = gracefulStop(io, (line) => {
    if (!run.quiet) term.note(term.err.dim(line(inFlight())));
  });
  // A first row with no image column is a usage error (exit 2) from inside the stream.
  const summary = await runBatchFlow(
    {
      items: items(),
      prompt: settings.prompt,
      settings,
      concurrency: settings.concurrency,
      dryRun: false,
      keepResponse: run.json,
      // Records go out in the order their lines came in.
      writers: [
        {
          record: (rec, item) => {
            const seq = seqOf.get(item) as number;
            imageOf.delete(seq);
            return order.put(seq, rec);
          },
        },
      ],
      command: 'map',
      quit: stop.quit,
      downLimitMs: downLimitMs(io.env),
      hungMinMs: hungMinMs(io.env),
    },
    ctx,
    {
      onRecord: (rec) => {
        if (!rec.ok && !run.quiet)
          term.error(rec.error.message.startsWith(rec.image) ? rec.error.message : `${rec.image}: ${rec.error.message}`);
      },
      onWarning: (item, message) => {
        if (run.verbose) term.warn(message.startsWith(item.image) ? message : `${item.image}: ${message}`);
      },
      onRetry: (item, e) => {
        if (run.verbose) term.info(`${item.image}: ${formatRetry(e)}`);
      },
      onPace: (c) => {
        if (run.verbose) term.info(`pace: ${c.text}`);
      },
      onPacer: (view) => {
        inFlight = view.inFlight;
      },
    },
  ).finally(() => stop.dispose());
  // Stopped: lines read but not answered (never sent, or given up at the second Ctrl-C) get a record
  // saying so, in their place.
  const unsent =
    summary.interrupted || summary.relayDown
      ? await order.fill(lines, (seq) => ({
          image: imageOf.get(seq) ?? `stdin:${seq + 1}`,
          ok: false,
          error: {
            status: null,
            code: summary.relayDown ? 'relay_down' : 'interrupted',
            message: summary.relayDown ? `no answer: ${summary.relayDown.message}` : 'no answer: stopped',
          },
          sha256: null,
        }))
      : 0;
  const failed = summary.failed + failedRows;
  term.info(
    `map: ${lines} line(s), ${summary.ok} ok, ${failed} failed${unsent ? `, ${unsent} without an answer` : ''}${order.pending ? `, ${order.pending} unanswered` : ''}`,
  );
  if (summary.cached && !run.quiet) term.note(term.err.dim(`map: ${summary.cached} answered from the cache (--refresh asks again)`));
  if (summary.interrupted) {
    const stop = f.stop();
    term.note(term.err.dim(`${stop.message} after ${lines} line(s)`));
    return stop.exitCode;
  }
  if (summary.authError) {
    term.error(`${summary.authError.message}; stopped`, summary.authError.hint);
    return ExitCode.config;
  }
  if (summary.relayDown) {
    term.error(`${summary.relayDown.message}; stopped after ${lines} line(s)`, summary.relayDown.hint);
    return ExitCode.api;
  }
  return failed > 0 ? ExitCode.partial : ExitCode.ok;
}
