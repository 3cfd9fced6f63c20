// The batch flow: a list of images in, one result per image out, as each finishes.
//
// A bounded pipeline: preparers read, check and prepare images while workers send them, and a
// preparer takes a slot before it starts, so at most `concurrency + 2` images are prepared but not
// yet sent, however large the folder. Workers share one keep-alive pool and one rate gate.
// No terminal knowledge: the caller writes the records and shows progress through the callbacks.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { RetryEvent } from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import type { PreparedImage } from '../image/index.ts';
import { CliError, ExitCode, InterruptedError } from '../types.ts';
import { AdaptiveGate, type GateClock } from './batch-gate.ts';
import { renderPrompt, sidecarPath, type BatchItem } from './batch-inputs.ts';
import { writeFileAtomic } from './batch-output.ts';
import type { ResumeIndex } from './batch-resume.ts';
import type { CoreContext, DescribePlan } from './describe.ts';

export interface BatchError {
  status: number | null;
  code: string | null;
  message: string;
}

/** One JSON line of the output. Field order is the order written. */
export type BatchRecord =
  | {
      image: string;
      ok: true;
      content: string | string[];
      data?: unknown;
      model: string | null;
      finish_reason: string | null;
      usage: unknown;
      elapsed_ms: number;
      sha256: string | null;
      sidecar?: string;
      response?: unknown;
    }
  | { image: string; ok: false; error: BatchError; sha256: string | null; elapsed_ms?: number };

export type SkipReason = 'done' | 'sidecar' | 'not-image';

export interface BatchCallbacks {
  /** A finished image: write its line. Awaited, so records are written in the order they finish. */
  onRecord(record: BatchRecord): Promise<void> | void;
  onSkip?(item: BatchItem, reason: SkipReason): void;
  /** The tallies changed (an image recorded, skipped or planned): redraw progress from them. */
  onProgress?(summary: Readonly<BatchSummary>): void;
  /** --dry-run: an image that would be sent, prepared. */
  onPlanned?(item: BatchItem, image: PreparedImage, plan: DescribePlan): void;
  onWarning?(item: BatchItem, message: string): void;
  onRetry?(item: BatchItem, e: RetryEvent): void;
}

export interface BatchRunOptions {
  items: BatchItem[];
  /** The prompt, with {name} {stem} {dir} {path}. */
  prompt: string;
  settings: Settings;
  concurrency: number;
  resume?: ResumeIndex | undefined;
  sidecar?: { ext: string; overwrite: boolean } | undefined;
  dryRun: boolean;
  /** --json: keep the whole response body in each record. */
  keepResponse: boolean;
  /** Default: concurrency + 2. */
  maxPrepared?: number | undefined;
  clock?: GateClock | undefined;
}

export interface BatchSummary {
  total: number;
  ok: number;
  failed: number;
  skipped: Record<SkipReason, number>;
  tokens: number;
  /** Set when a 401/403 stopped the batch. */
  authError: CliError | undefined;
  interrupted: boolean;
  /** Most requests in flight at once, 429s seen, and the lowest the concurrency went. */
  peakInFlight: number;
  rateLimited: number;
  lowestConcurrency: number;
  /** Most images prepared but not yet sent at once (the pipeline's bound, for tests). */
  peakPrepared: number;
}

interface Prepared {
  item: BatchItem;
  sha256: string | null;
  plan: DescribePlan;
  sidecar: string | undefined;
}

/** A counting semaphore whose waits end with InterruptedError when the signal aborts. */
class Slots {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async take(signal: AbortSignal): Promise<void> {
    while (this.free <= 0) {
      await new Promise<void>((res, rej) => {
        if (signal.aborted) return rej(new InterruptedError());
        const onAbort = () => rej(new InterruptedError());
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          res();
        });
      });
    }
    this.free--;
  }
  give(): void {
    this.free++;
    this.waiters.shift()?.();
  }
}

/** A FIFO of prepared images; `take` resolves undefined once it is closed and empty. */
class Channel<T> {
  private items: T[] = [];
  private takers: Array<(v: T | undefined) => void> = [];
  private closed = false;
  get size(): number {
    return this.items.length;
  }
  put(v: T): void {
    const t = this.takers.shift();
    if (t) t(v);
    else this.items.push(v);
  }
  close(): void {
    this.closed = true;
    for (const t of this.takers.splice(0)) t(undefined);
  }
  take(): Promise<T | undefined> {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((r) => this.takers.push(r));
  }
}

/** sha256 of a regular file's bytes, streamed; null when it cannot be read (the image layer reports why). */
export async function hashFile(path: string, maxBytes: number, signal?: AbortSignal): Promise<string | null> {
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size > maxBytes) return null;
    const hash = createHash('sha256');
    const stream = createReadStream(path, signal ? { signal } : {});
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    if (signal?.aborted) throw new InterruptedError();
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** What goes into the `error` of a failed record. */
export function errorInfo(err: unknown): BatchError {
  const e = err as { status?: unknown; code?: unknown; reason?: unknown; name?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : null;
  let code: string | null = null;
  if (typeof e?.reason === 'string') code = e.reason; // ImageError: not-image, corrupt, not-found ...
  else if (typeof e?.code === 'string') code = e.code;
  else if (e?.name === 'InvalidResponseError') code = 'invalid_response';
  const message = err instanceof Error ? err.message : String(err);
  return { status, code, message: message.split('\n')[0] ?? message };
}

export async function runBatchFlow(opts: BatchRunOptions, ctx: CoreContext, cb: BatchCallbacks): Promise<BatchSummary> {
  const { settings, items } = opts;
  const core = await import('./describe.ts');
  const { loadImage } = await import('../image/index.ts');
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const summary: BatchSummary = {
    total: items.length,
    ok: 0,
    failed: 0,
    skipped: { done: 0, sidecar: 0, 'not-image': 0 },
    tokens: 0,
    authError: undefined,
    interrupted: false,
    peakInFlight: 0,
    rateLimited: 0,
    lowestConcurrency: concurrency,
    peakPrepared: 0,
  };
  if (items.length === 0) return summary;

  // Parsed once for every image; a bad --schema is a usage error before anything is read or sent.
  const { structuredRequest } = await import('./structured.ts');
  const structured = await structuredRequest(settings, ctx.cwd);

  // Stops everything on Ctrl-C, and on a 401/403 (every other request would fail the same way).
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const gate = new AdaptiveGate({ max: concurrency, ...(opts.clock ? { clock: opts.clock } : {}) });
  let dispatcher: CoreContext['dispatcher'];
  if (!opts.dryRun) {
    core.requireCredentials(settings);
    const { getDispatcher } = await import('../api/index.ts');
    dispatcher = ctx.dispatcher ?? (await getDispatcher({ connections: concurrency }));
  }
  const imgOpts = core.imageOptions(settings, { ...ctx, signal });

  // Two folders' photo.jpg and photo.png would both write photo.txt: the second one fails.
  const sidecarOwner = new Map<string, string>();

  const maxPrepared = Math.max(1, opts.maxPrepared ?? concurrency + 2);
  const slots = new Slots(maxPrepared);
  const ready = new Channel<Prepared>();
  let preparedNotSent = 0;
  let next = 0;

  const record = async (rec: BatchRecord) => {
    if (rec.ok) {
      summary.ok++;
      const u = rec.usage as { total_tokens?: unknown } | null;
      if (u && typeof u.total_tokens === 'number') summary.tokens += u.total_tokens;
    } else summary.failed++;
    cb.onProgress?.(summary);
    await cb.onRecord(rec);
  };
  const skip = (item: BatchItem, reason: SkipReason) => {
    summary.skipped[reason]++;
    cb.onSkip?.(item, reason);
    cb.onProgress?.(summary);
  };
  const fail = (item: BatchItem, sha256: string | null, err: unknown) =>
    record({ image: item.image, ok: false, error: errorInfo(err), sha256 });

  const isStop = (err: unknown) => signal.aborted || err instanceof InterruptedError;

  /** Reads, checks, skips or prepares one image. Returns false when the batch is stopping. */
  const prepareOne = async (item: BatchItem): Promise<Prepared | undefined> => {
    let sidecar: string | undefined;
    if (opts.sidecar && !item.url) {
      sidecar = sidecarPath(resolve(ctx.cwd, item.image), opts.sidecar.ext);
      if (sidecar === item.key && !item.explicit) {
        // A sidecar of an earlier run, listed with the folder's images: not one of them.
        skip(item, 'not-image');
        return undefined;
      }
      if (!opts.sidecar.overwrite && (await exists(sidecar))) {
        skip(item, 'sidecar');
        return undefined;
      }
    }
    const sha256 = item.url ? null : await hashFile(item.key, settings.maxInputBytes, signal);
    if (opts.resume?.isDone(item.key, sha256)) {
      skip(item, 'done');
      return undefined;
    }
    let image: PreparedImage;
    try {
      image = await loadImage(item.image, imgOpts);
    } catch (err) {
      if (isStop(err)) throw new InterruptedError();
      if (!item.explicit && (err as { reason?: unknown }).reason === 'not-image') {
        skip(item, 'not-image');
        return undefined;
      }
      await fail(item, sha256, err);
      return undefined;
    }
    if (sidecar !== undefined) {
      // Checked once the file is known to be an image, so a stray text file cannot claim a name.
      const owner = sidecarOwner.get(sidecar);
      if (sidecar === item.key || (owner !== undefined && owner !== item.image)) {
        await fail(item, sha256, new CliError(`its sidecar would overwrite ${owner === undefined ? 'the image itself' : `the one of ${owner}`}`, ExitCode.usage));
        return undefined;
      }
      sidecarOwner.set(sidecar, item.image);
    }
    for (const w of image.warnings) cb.onWarning?.(item, w);
    const prompt = renderPrompt(settings.prompt, item.image);
    const plan = await core.planDescribe([item.image], prompt, settings, { ...ctx, signal }, { prepared: [image], structured });
    return { item, sha256, plan, sidecar };
  };

  const preparer = async () => {
    for (;;) {
      if (signal.aborted) return;
      await slots.take(signal);
      const item = items[next++];
      if (!item) {
        slots.give();
        return;
      }
      let p: Prepared | undefined;
      try {
        p = await prepareOne(item);
      } catch (err) {
        slots.give();
        if (isStop(err)) return;
        throw err;
      }
      if (!p) {
        slots.give();
        continue;
      }
      if (opts.dryRun) {
        summary.ok++;
        cb.onPlanned?.(p.item, p.plan.images[0] as PreparedImage, p.plan);
        cb.onProgress?.(summary);
        slots.give();
        continue;
      }
      preparedNotSent++;
      summary.peakPrepared = Math.max(summary.peakPrepared, preparedNotSent);
      ready.put(p);
    }
  };

  const sendOne = async (p: Prepared) => {
    const { item } = p;
    const reqGate = gate.forRequest();
    const reqCtx: CoreContext = {
      ...ctx,
      signal,
      gate: reqGate,
      onRetry: (e) => cb.onRetry?.(item, e),
    };
    if (dispatcher) reqCtx.dispatcher = dispatcher;
    const started = performance.now();
    try {
      const result = await core.sendDescribe(p.plan, settings, reqCtx);
      const { answer, response } = result;
      let data: unknown;
      if (p.plan.structured) data = await core.parseStructured(answer, p.plan.structured);
      const many = settings.n !== undefined && settings.n > 1;
      const rec: BatchRecord = {
        image: item.image,
        ok: true,
        content: many ? answer.contents : (answer.contents[0] ?? answer.content),
        ...(p.plan.structured ? { data } : {}),
        model: answer.model,
        finish_reason: answer.finishReason,
        usage: answer.usage ?? null,
        elapsed_ms: Math.round(response.elapsedMs),
        sha256: p.sha256,
      };
      if (p.sidecar !== undefined) {
        await writeFileAtomic(p.sidecar, core.answerText(answer, p.plan.structured ? { data } : undefined));
        rec.sidecar = p.sidecar;
      }
      if (opts.keepResponse) rec.response = response.body;
      if (answer.finishReason === 'length') cb.onWarning?.(item, 'the answer was cut off (finish_reason: length)');
      await record(rec);
    } catch (err) {
      if (ctx.signal.aborted || (stop.signal.aborted && err instanceof InterruptedError)) return;
      if (err instanceof CliError && err.exitCode === ExitCode.config) {
        // 401/403: record the first, stop scheduling, abort the rest (they are not recorded: a rerun redoes them).
        if (summary.authError) return;
        summary.authError = err;
        stop.abort();
      }
      await record({ image: item.image, ok: false, error: errorInfo(err), sha256: p.sha256, elapsed_ms: Math.round(performance.now() - started) });
    } finally {
      reqGate.done();
    }
  };

  let workerError: unknown;
  const worker = async () => {
    for (;;) {
      const p = await ready.take();
      if (!p) return;
      preparedNotSent--;
      slots.give();
      if (signal.aborted) continue; // drain without sending
      try {
        await sendOne(p);
      } catch (err) {
        // Writing a record failed (disk full, closed pipe): nothing more can be written.
        workerError ??= err;
        stop.abort();
      }
    }
  };

  const preparers = Math.max(1, Math.min(maxPrepared, Math.max(2, availableParallelism())));
  const workers = opts.dryRun ? [] : Array.from({ length: concurrency }, () => worker());
  let prepError: unknown;
  const prep = Promise.all(Array.from({ length: preparers }, () => preparer())).catch((err: unknown) => {
    prepError = err;
    stop.abort();
  });
  await prep;
  ready.close();
  await Promise.all(workers);
  if (workerError !== undefined) throw workerError;
  if (prepError !== undefined && !(prepError instanceof InterruptedError)) throw prepError;

  summary.interrupted = ctx.signal.aborted;
  summary.peakInFlight = gate.peak;
  summary.rateLimited = gate.rateLimited;
  summary.lowestConcurrency = gate.lowest;
  return summary;
}
