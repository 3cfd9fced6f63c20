// The batch flow: a list of images in, one result per image out, as each finishes.
//
// The bounded pipeline (pipeline.ts) runs it: preparers read, check and prepare images while
// workers send them, at most `concurrency + 2` prepared and waiting, however large the folder.
// What to do with each image is decided by the pure functions of batch-decide.ts; this file only
// finds the facts they ask for and carries out what they say. Workers share one keep-alive pool
// and one rate gate. No terminal knowledge: the caller writes the records and shows progress
// through the callbacks.
import { createHash, hash } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import { createReadStream, statSync, type Stats } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { APIError, InvalidResponseError, isModelNotFound, type Answer, type ApiResult, type RetryEvent } from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import type { PreparedImage, ReadResult } from '../image/index.ts';
import { CliError, ExitCode, InterruptedError, OutputError } from '../types.ts';
import { decideFailure, decideItem, errorInfo, type BatchError, type ItemFacts, type SkipReason } from './batch-decide.ts';
import { BatchGate, RelayDownError, type GateClock } from './batch-gate.ts';
import type { PaceChange } from './pace.ts';
import { renderPrompt, resumeKey, sidecarPath, type BatchItem, type SidecarNaming } from './batch-inputs.ts';
import { removeStaleTemps } from './batch-output.ts';
import { fileKind, insideRoot, RefusedFileError, refusal, resolvedPath } from './safe-files.ts';
import { emptySummary, summarize, type BatchEvent, type BatchSummary } from './batch-summary.ts';
import {
  hfWriter,
  jsonlWriter,
  photoWriter,
  relativeTo,
  sidecarWriter,
  writeCaption,
  writeRecord,
  type BatchWriter,
  type Written,
} from './batch-writers.ts';
import { composeCaption, type CaptionStyle, type ExistingMode } from './caption.ts';
import type { XmpNaming } from '../metadata/index.ts';
import { isCutOff, judgeAnswer, type Verdict } from './guards.ts';
import { firstLine } from '../format.ts';
import { HfMetadataFiles } from './hf-metadata.ts';
import { estimateRequest, formulaName } from './cost.ts';
import { stampToRecord, type FileStamp, type ResumeIndex } from './batch-resume.ts';
import type { CoreContext, DescribePlan } from './describe.ts';
import { runPipeline } from './pipeline.ts';
import { answerOrCached, knownBytes, preparedMemo, recordHistory, type Answered } from './answers.ts';

export { errorInfo, type BatchError, type SkipReason } from './batch-decide.ts';

/** What names a record: the image, a manifest id, and the shard that wrote it. */
export interface RecordName {
  image: string;
  id?: string;
  shard?: number;
}

/** One JSON line of the output. Field order is the order written; a manifest's "row" comes last. */
export type BatchRecord = RecordName &
  (
    | {
        ok: true;
        content: string | string[];
        /** Guards: chatter or a think block was removed (listed in `removed`). */
        verdict?: 'chatter';
        removed?: string[];
        data?: unknown;
        model: string | null;
        finish_reason: string | null;
        usage: unknown;
        elapsed_ms: number;
        sha256: string | null;
        /** The file's size and modification time just before it was read (resume knows it again by them). */
        size?: number;
        mtime_ms?: number;
        sidecar?: string;
        /** finish_reason said the token limit cut the answer short. */
        cut_off?: true;
        /** The answer came from the answer cache: usage and elapsed_ms are the original request's. */
        cached?: true;
        metadata?: string;
        /** --xmp/--embed: the file the description was written into (a sidecar or the image). */
        xmp?: string;
        embedded?: string;
        /** --fallback-model answered: the first model, and why its answer was not used. */
        fallback?: FallbackNote;
        response?: unknown;
        row?: Record<string, unknown>;
      }
    | {
        ok: false;
        /** Guards: the answer was no caption (`content` is what the model said). */
        verdict?: Verdict;
        content?: string | string[];
        model?: string | null;
        usage?: unknown;
        error: BatchError;
        sha256: string | null;
        elapsed_ms?: number;
        fallback?: FallbackNote;
        row?: Record<string, unknown>;
      }
  );

export interface FallbackNote {
  model: string;
  verdict?: Verdict;
  error: string;
}

/** A record with its name (image, manifest id, shard) first and the manifest row last. */
export function framed(item: BatchItem, shard: number | undefined, rec: BatchRecord): BatchRecord {
  const name: RecordName = { image: item.image };
  if (item.id !== undefined) name.id = item.id;
  if (shard !== undefined) name.shard = shard;
  return { ...name, ...rec, ...(item.row !== undefined ? { row: item.row } : {}) };
}

export interface BatchCallbacks {
  /** A finished image, before the writers write its record (say what failed). Awaited. */
  onRecord?(record: BatchRecord, item: BatchItem): Promise<void> | void;
  onSkip?(item: BatchItem, reason: SkipReason): void;
  /** The tallies changed (an image recorded, skipped or planned): redraw progress from them. */
  onProgress?(summary: Readonly<BatchSummary>): void;
  /** --dry-run: an image that would be sent, prepared. */
  onPlanned?(item: BatchItem, image: PreparedImage, plan: DescribePlan, writes: string[]): void;
  onWarning?(item: BatchItem, message: string): void;
  onRetry?(item: BatchItem, e: RetryEvent): void;
  /** A change of pace and its cause (for -v). */
  onPace?(change: PaceChange): void;
  /** The batch's pace, to read while it runs (the live line); called once before the first request. */
  onPacer?(pace: PaceView): void;
}

/** What the live line says about the pace. */
export interface PaceView {
  /** Requests in flight now. */
  inFlight(): number;
  /** ok answers per second over the last seconds. */
  achieved(): number;
  /** What holds the batch back, in a few words, or undefined when nothing does. */
  limit(): string | undefined;
  /** How long nothing may start because the relay asked to wait, in ms (0: none). */
  holdingMs(): number;
}

export interface BatchRunOptions {
  /** A list, or a stream read as the pipeline asks for items (`imgdesc map`; `total` stays 0). */
  items: BatchItem[] | AsyncIterable<BatchItem>;
  /** The prompt, with {name} {stem} {dir} {path}. */
  prompt: string;
  settings: Settings;
  concurrency: number;
  resume?: ResumeIndex | undefined;
  sidecar?: { ext: string; naming?: SidecarNaming | undefined } | undefined;
  /** --hf-metadata: captions go into metadata.jsonl in each image folder. */
  hfMetadata?: boolean | undefined;
  /** What to do where a caption exists already (sidecar, metadata line). Default skip. */
  existing?: ExistingMode | undefined;
  /** --xmp / --embed: descriptions written into photo metadata with exiftool. */
  photo?: { mode: 'xmp' | 'embed'; naming: XmpNaming; backup: boolean } | undefined;
  /** --prefix / --suffix / --join. */
  caption?: CaptionStyle | undefined;
  /** Answer guards (default on): refused, empty and cut-off answers fail; chatter is removed. */
  guards?: boolean | undefined;
  /**
   * After the guards: turns each answer into what is recorded (`imgdesc alt`: one line within
   * --max-chars), or says why it cannot be used, which fails the image like a guard would.
   */
  shape?: ((text: string) => { ok: true; text: string } | { ok: false; reason: string }) | undefined;
  /** Refused, empty and failed items are sent once more to this model. */
  fallbackModel?: string | undefined;
  dryRun: boolean;
  /** --json: keep the whole response body in each record. */
  keepResponse: boolean;
  /** Default: concurrency + 2. */
  maxPrepared?: number | undefined;
  clock?: GateClock | undefined;
  /** How long the relay may be down before the batch stops (default 2 minutes). */
  downLimitMs?: number | undefined;
  /** The least a hung attempt is waited for without --timeout (default 60 s). */
  hungMinMs?: number | undefined;
  /**
   * Aborts the requests in flight. Without it, `ctx.signal` does (at once); with it, `ctx.signal`
   * only stops new requests and those in flight are waited for and recorded until this aborts.
   */
  quit?: AbortSignal | undefined;
  /** This run's shard index, written into each record. */
  shard?: number | undefined;
  /** --raw: captions keep terminal control characters (by default they are removed). */
  raw?: boolean | undefined;
  /** Writers the caller adds after the flow's own (sidecar, photo, metadata.jsonl): the records' JSON lines. */
  writers?: BatchWriter[] | undefined;
  /** The command named in the history (default batch). */
  command?: string | undefined;
}

export { jsonlWriter, type BatchWriter };

export type { BatchEstimate, BatchSummary } from './batch-summary.ts';

/** --dry-run: what one planned request would cost, as a summary event. */
function plannedEvent(plan: DescribePlan): BatchEvent {
  const sizes = plan.images.map((i) => ({ width: i.report.widthOut ?? i.report.widthIn, height: i.report.heightOut ?? i.report.heightIn }));
  const known = sizes.filter((s): s is { width: number; height: number } => s.width !== null && s.height !== null);
  const r = estimateRequest(plan.body, known);
  return {
    kind: 'planned',
    imageTokens: r.imageTokens,
    promptTokens: r.promptTokens,
    outputCap: r.outputCap,
    unsized: sizes.length - known.length,
  };
}

interface Prepared {
  item: BatchItem;
  sha256: string | null;
  stamp?: FileStamp | undefined;
  /** The prompt with {name} etc. filled in (the fallback request is planned from it again). */
  prompt: string;
  plan: DescribePlan;
  sidecar: string | undefined;
}

/** How one request went, after the guards. */
type Outcome =
  | { ok: true; answer: Answer; response: ApiResult<unknown>; data: unknown; removed: string[]; sent: Answered }
  | { ok: false; err: unknown; verdict?: Verdict; answer?: Answer; sent?: Answered };

/** An answer the guards turned down: refused, empty or cut off. `code` goes into the record's error. */
class RejectedAnswer extends CliError {
  readonly code: Verdict;
  constructor(verdict: Verdict, message: string) {
    super(message, ExitCode.api);
    this.name = 'RejectedAnswer';
    this.code = verdict;
  }
}

/**
 * A regular file's size and modification time, or null when it cannot be stat'ed (reading it says
 * why). Synchronous: a rerun stats every done file before its first request, and 100,000 stats
 * take a fifth of the time this way that they take through the thread pool.
 */
function statFile(path: string): Stats | null {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? st : null;
  } catch {
    return null;
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

/**
 * null when new files can be made in `dir`, else why not (EACCES, EROFS, ENOENT ...). A writable
 * folder is cleared of the temp files a killed run left there.
 */
async function unwritable(dir: string): Promise<string | null> {
  const why = await access(dir, constants.W_OK | constants.X_OK).then(
    () => null,
    (err: NodeJS.ErrnoException) => err.code ?? String(err),
  );
  if (why === null) await removeStaleTemps(dir);
  return why;
}

/** The record of an image that was answered. */
export function okRecord(
  p: { item: BatchItem; sha256: string | null; stamp?: FileStamp | undefined },
  answer: Answer,
  response: ApiResult<unknown>,
  extra: {
    many: boolean;
    structured: boolean;
    data: unknown;
    keepResponse: boolean;
    sidecar: string | undefined;
    removed?: string[] | undefined;
    metadata?: string | undefined;
    fallback?: FallbackNote | undefined;
    photo?: Written['photo'];
    cached?: boolean | undefined;
  },
): BatchRecord {
  const rec: BatchRecord = {
    image: p.item.image,
    ok: true,
    content: extra.many ? answer.contents : (answer.contents[0] ?? answer.content),
    ...(extra.removed?.length ? { verdict: 'chatter' as const, removed: extra.removed } : {}),
    ...(extra.structured ? { data: extra.data } : {}),
    model: answer.model,
    finish_reason: answer.finishReason,
    usage: answer.usage ?? null,
    elapsed_ms: Math.round(response.elapsedMs),
    sha256: p.sha256,
    ...(p.stamp ? { size: p.stamp.size, mtime_ms: p.stamp.mtimeMs } : {}),
  };
  if (extra.sidecar !== undefined) rec.sidecar = extra.sidecar;
  if (isCutOff(answer.finishReason)) rec.cut_off = true;
  if (extra.cached) rec.cached = true;
  if (extra.metadata !== undefined) rec.metadata = extra.metadata;
  if (extra.photo) rec[extra.photo.where === 'sidecar' ? 'xmp' : 'embedded'] = extra.photo.path;
  if (extra.fallback !== undefined) rec.fallback = extra.fallback;
  if (extra.keepResponse) rec.response = response.body;
  return rec;
}

export async function runBatchFlow(opts: BatchRunOptions, ctx: CoreContext, cb: BatchCallbacks): Promise<BatchSummary> {
  // One exiftool process for the whole batch (RAW previews, photo metadata), ended at the end so
  // the CLI can exit.
  const photoMeta = await import('../metadata/index.ts');
  const exiftool = photoMeta.exiftoolSession();
  try {
    return await batchFlow(opts, { ...ctx, exiftool: ctx.exiftool ?? exiftool.get }, cb, photoMeta);
  } finally {
    await exiftool.close();
  }
}

async function batchFlow(
  opts: BatchRunOptions,
  ctx: CoreContext & { exiftool: NonNullable<CoreContext['exiftool']> },
  cb: BatchCallbacks,
  photoMeta: typeof import('../metadata/index.ts'),
): Promise<BatchSummary> {
  const { settings, items } = opts;
  const core = await import('./describe.ts');
  const { loadImage, readImageFile } = await import('../image/index.ts');
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  let summary: BatchSummary = emptySummary(Array.isArray(items) ? items.length : 0, concurrency, formulaName(settings.model ?? ''));
  const emit = (e: BatchEvent) => {
    summary = summarize(summary, e);
  };
  if (Array.isArray(items) && items.length === 0) return summary;
  const existing = opts.existing ?? 'skip';
  const guards = opts.guards ?? true;
  const hf = opts.hfMetadata ? new HfMetadataFiles(existing) : undefined;

  // Parsed once for every image; a bad --schema is a usage error before anything is read or sent.
  const { structuredRequest } = await import('./structured.ts');
  const structured = await structuredRequest(settings, ctx.cwd, ctx.signal);

  // Stops everything on a 401/403 (every other request would fail the same way) and when the relay
  // stays down. Ctrl-C (ctx.signal) stops new requests; with `opts.quit`, those in flight are
  // answered and recorded until it aborts too.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const requestSignal = AbortSignal.any([opts.quit ?? ctx.signal, stop.signal]);
  // Every request in flight or waiting to retry listens for the abort (its wait, its attempt, the
  // gate): Node's leak warning at 11 listeners is for code that adds them without end; ours are
  // bounded by the images in the pipeline.
  const maxPrepared = Math.max(1, opts.maxPrepared ?? concurrency + 2);
  const listeners = 4 * (concurrency + maxPrepared) + 16;
  for (const s of [signal, requestSignal, ctx.signal, ...(opts.quit ? [opts.quit] : [])])
    setMaxListeners(Math.max(listeners, getMaxListeners(s)), s);
  const gate = new BatchGate({
    max: concurrency,
    maxRps: settings.maxRps,
    clock: opts.clock,
    downLimitMs: opts.downLimitMs,
    hungMinMs: opts.hungMinMs,
    // --timeout given (flag, environment, profile) is obeyed; the default gives way to a learned bound.
    defaultTimeoutMs: settings.sources.timeout === undefined || settings.sources.timeout === 'default' ? settings.timeoutMs : undefined,
    onChange: cb.onPace,
  });
  // No new attempt after a stop, retries of those in flight included.
  const closeGate = () => gate.close();
  signal.addEventListener('abort', closeGate, { once: true });
  const clock = opts.clock ?? { now: () => performance.now() };
  cb.onPacer?.({
    inFlight: () => gate.active,
    achieved: () => gate.pacer.achieved(clock.now()),
    limit: () => paceText(gate),
    holdingMs: () => gate.pacer.holdingFor(clock.now()),
  });
  let dispatcher: CoreContext['dispatcher'];
  if (!opts.dryRun) {
    core.requireCredentials(settings);
    const { getDispatcher } = await import('../api/index.ts');
    dispatcher = ctx.dispatcher ?? (await getDispatcher({ connections: concurrency }));
  }
  const imgOpts = core.imageOptions(settings, { ...ctx, signal, dryRun: opts.dryRun });
  // A batch asked again finds its answers by a stat per image, without reading or preparing them.
  const memo = opts.dryRun ? undefined : preparedMemo(ctx.memory, imgOpts, (path) => loadImage(path, imgOpts));
  const et = ctx.exiftool;
  const photo = opts.photo;
  /** Where a photo's XMP sidecar is, by --xmp-name. */
  const xmpOf = (key: string) => photoMeta.xmpPathFor(key, photo?.naming ?? 'ext');
  // Two folders' photo.jpg and photo.png would both write photo.txt: the second one fails.
  const sidecarOwner = new Map<string, string>();
  const folders = new Map<string, Promise<string | null>>();

  // The flow's own writers first (their names go into the record), then the caller's.
  const writers: BatchWriter[] = [
    ...(opts.sidecar ? [sidecarWriter(existing)] : []),
    ...(photo ? [photoWriter(photo, existing, et, photoMeta)] : []),
    ...(hf ? [hfWriter(hf)] : []),
    ...(opts.writers ?? []),
  ];

  /** The prompt template rendered for an image when it was planned (its history record names it again). */
  const rendered = new WeakMap<BatchItem, string>();
  const record = async (item: BatchItem, rec: BatchRecord, sent?: Answered) => {
    rec = framed(item, opts.shard, rec);
    emit({ kind: 'record', ok: rec.ok, usage: rec.usage, verdict: rec.verdict, cached: rec.ok && rec.cached === true });
    if (ctx.memory?.history) {
      const content = rec.content;
      await recordHistory(ctx, {
        command: opts.command ?? 'batch',
        images: [item.image],
        prompt: rendered.get(item) ?? renderPrompt(settings.prompt, item.image),
        system: settings.system,
        model: rec.model ?? sent?.answer.model ?? settings.model,
        result: sent,
        text: content === undefined ? undefined : Array.isArray(content) ? content.join('\n\n') : content,
        error: rec.ok ? undefined : rec.error,
        sha256: rec.sha256,
        durationMs: rec.elapsed_ms,
      });
    }
    cb.onProgress?.(summary);
    await cb.onRecord?.(rec, item);
    await writeRecord(writers, rec, item);
  };
  const skip = (item: BatchItem, reason: SkipReason) => {
    emit({ kind: 'skip', reason });
    cb.onSkip?.(item, reason);
    cb.onProgress?.(summary);
  };

  /** Finds the facts decideItem asks for, until it says skip, fail or send. */
  /** What is known of an image before anything about it is looked at. */
  const factsOf = (item: BatchItem): ItemFacts => {
    const sidecar =
      opts.sidecar && !item.url ? sidecarPath(resolve(ctx.cwd, item.image), opts.sidecar.ext, opts.sidecar.naming) : undefined;
    const f: ItemFacts = {
      image: item.image,
      key: item.key,
      explicit: item.explicit,
      url: item.url,
      sidecar,
      overwrite: existing !== 'skip',
      hf: hf !== undefined,
      photo: photo !== undefined,
      sidecarFullName: opts.sidecar?.naming === 'full',
      confined: item.confine !== undefined,
    };
    if (item.url) f.sha256 = null;
    return f;
  };

  /** The `stat` step: whether a record knows the file done by its size and time; the stamp to record. */
  const statStep = (item: BatchItem, f: ItemFacts, st = statFile(item.key)): FileStamp | undefined => {
    // Before the read: a change made while it is read gets a later time, and is read again.
    const now = st && { size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    f.byRecord = opts.resume?.doneByRecord(resumeKey(item), item.image, now) ? 'done' : 'read';
    return stampToRecord(st, Date.now());
  };

  /**
   * A rerun's done images are passed over in one synchronous sweep before the pipeline starts
   * (through the pipeline one at a time, 100,000 of them held the first request back by seconds):
   * an image whose decisions need nothing but a stat to say it is done is skipped here; any other
   * goes on to the pipeline as usual.
   */
  const doneUnread = (item: BatchItem): boolean => {
    const resume = opts.resume;
    if (!resume?.has(resumeKey(item))) return false;
    const f = factsOf(item);
    if (decideItem(f).step !== 'stat') return false;
    statStep(item, f);
    const d = decideItem(f);
    if (d.step !== 'skip') return false;
    skip(item, d.reason);
    return true;
  };

  const prepareOne = async (item: BatchItem): Promise<Prepared | undefined> => {
    const f = factsOf(item);
    const sidecar = f.sidecar;
    let stamp: FileStamp | undefined;
    let image: PreparedImage | undefined;
    let read: ReadResult | undefined;
    let seen: ReturnType<NonNullable<typeof memo>['look']>;
    // the stat step's, for the memo (one stat per file, not two)
    let fileStat: Stats | null | undefined;
    let readError: unknown;
    let loadError: unknown;
    for (;;) {
      const d = decideItem(f);
      switch (d.step) {
        case 'check-root': {
          const { root, row } = item.confine as NonNullable<BatchItem['confine']>;
          f.outside = insideRoot(await resolvedPath(item.key), await resolvedPath(root)) ? null : { row, root };
          break;
        }
        case 'check-targets': {
          // lstat, not stat: the link itself is what is refused, wherever it points.
          const checks: [string, string][] = [];
          if (sidecar !== undefined) checks.push([sidecar, relativeTo(item.image, sidecar)]);
          if (photo?.mode === 'xmp' && !item.url) checks.push([xmpOf(item.key), relativeTo(item.image, xmpOf(item.key))]);
          if (hf && !item.url) checks.push([HfMetadataFiles.fileOf(item.key), relativeTo(item.image, HfMetadataFiles.fileOf(item.key))]);
          f.targets = null;
          for (const [path, shown] of checks) {
            const kind = await fileKind(path);
            if (path === sidecar) f.sidecarExists = kind === 'file';
            f.targets ??= refusal(kind, shown);
          }
          break;
        }
        case 'check-sidecar':
          f.sidecarExists = await exists(sidecar as string);
          break;
        case 'check-described': {
          const e = await et();
          const [own, side] = await Promise.all([photoMeta.readExisting(e, item.key), photoMeta.readExisting(e, xmpOf(item.key))]);
          f.described = own.description !== undefined || side.description !== undefined;
          break;
        }
        case 'check-hf':
          try {
            f.hfCaptioned = await (hf as HfMetadataFiles).has(item.key);
          } catch (err) {
            // The folder's file cannot be read (or became a link since it was checked): this image fails.
            await record(item, { image: item.image, ok: false, error: errorInfo(err), sha256: null });
            return undefined;
          }
          break;
        case 'stat':
          fileStat = statFile(item.key);
          stamp = statStep(item, f, fileStat);
          break;
        case 'hash':
          // Read once: the bytes hashed are the bytes loaded (a file too big to be sent as it is
          // has only its head read, and is hashed from the disk; sharp reads it anyway).
          try {
            seen = memo?.look(item, fileStat);
            if (seen?.known) {
              f.sha256 = seen.known.sha256;
              break;
            }
            read = await readImageFile(item.source ?? item.image, imgOpts);
            f.sha256 = !read.file
              ? null
              : read.path === null
                ? hash('sha256', read.bytes, 'hex')
                : await hashFile(item.key, settings.maxInputBytes, signal);
          } catch (err) {
            if (signal.aborted || err instanceof InterruptedError) throw new InterruptedError();
            readError = err; // the load step reports it
            f.sha256 = null;
          }
          break;
        case 'check-resume':
          f.recordedOk = opts.resume?.isDone(resumeKey(item), f.sha256 ?? null) ?? false;
          break;
        case 'check-folder': {
          const dir = dirname(sidecar ?? item.key);
          let known = folders.get(dir);
          if (!known) folders.set(dir, (known = unwritable(dir)));
          f.folderUnwritable = await known;
          break;
        }
        case 'load':
          try {
            if (readError !== undefined) throw readError;
            image = seen?.known?.image ?? (await loadImage(item.source ?? item.image, imgOpts, read));
            // sent as it is: the bytes hashed above (the cache keys it without hashing it again)
            if (read?.path === null && image.report.unchanged && f.sha256) knownBytes(image, f.sha256);
            if (seen && !seen.known && f.sha256) memo?.remember(seen.key, f.sha256, image);
            read = undefined;
            f.load = { ok: true };
          } catch (err) {
            if (signal.aborted || err instanceof InterruptedError) throw new InterruptedError();
            loadError = err;
            f.load = {
              ok: false,
              reason: typeof (err as { reason?: unknown }).reason === 'string' ? (err as { reason: string }).reason : undefined,
            };
          }
          break;
        case 'claim-sidecar':
          f.sidecarOwner = sidecarOwner.get(sidecar as string) ?? null;
          if (f.sidecarOwner === null) sidecarOwner.set(sidecar as string, item.image);
          break;
        case 'skip':
          skip(item, d.reason);
          return undefined;
        case 'fail': {
          const err =
            d.message === null
              ? loadError
              : d.code !== undefined
                ? new RefusedFileError(d.message, d.code)
                : new CliError(d.message, ExitCode.usage);
          await record(item, { image: item.image, ok: false, error: errorInfo(err), sha256: f.sha256 ?? null });
          return undefined;
        }
        case 'send': {
          const img = image as PreparedImage;
          for (const w of img.warnings) cb.onWarning?.(item, w);
          const prompt = item.prompt ?? renderPrompt(settings.prompt, item.image);
          if (item.prompt === undefined && ctx.memory?.history) rendered.set(item, prompt);
          const plan = await core.planDescribe([item.image], prompt, settings, { ...ctx, signal }, { prepared: [img], structured });
          const p: Prepared = { item, sha256: f.sha256 ?? null, stamp, prompt, plan, sidecar };
          if (!opts.dryRun) return p;
          emit(plannedEvent(plan));
          const writes: string[] = [];
          if (sidecar !== undefined) writes.push(`the answer → ${sidecar}`);
          if (photo && !item.url) {
            const t = photoMeta.planTarget(item.key, img.report.sourceType ?? '', photo.mode, photo.naming, {
              description: '…',
              keywords: [],
            });
            const tags = Object.keys(t.tags)
              .filter((k) => !k.endsWith('CodedCharacterSet'))
              .join(', ');
            writes.push(
              `${tags} (and keywords from a schema's tags) → ${t.where === 'sidecar' ? `sidecar ${relativeTo(item.image, t.path)}` : `${item.image} itself${photo.backup ? `, original kept as ${item.image}_original` : ''}`}`,
            );
          }
          cb.onPlanned?.(item, img, plan, writes);
          cb.onProgress?.(summary);
          return undefined;
        }
      }
    }
  };

  const many = settings.n !== undefined && settings.n > 1;
  const style = opts.caption?.prefix || opts.caption?.suffix ? opts.caption : undefined;
  const fallbackSettings = opts.fallbackModel !== undefined ? { ...settings, model: opts.fallbackModel } : undefined;

  /** One request, and the guards' verdict on its answer. */
  const attempt = async (plan: DescribePlan, s: Settings, reqCtx: CoreContext): Promise<Outcome> => {
    let sent: Answered;
    try {
      // stored below, once the guards here accepted it (not judged twice)
      sent = await answerOrCached(plan, s, reqCtx, { deferStore: true });
    } catch (err) {
      const verdict = guards && err instanceof InvalidResponseError ? err.answer : undefined;
      return { ok: false, err, ...(verdict ? { verdict } : {}) };
    }
    const { answer, response } = sent;
    let captions = answer.contents;
    const removed: string[] = [];
    if (guards) {
      captions = [];
      for (const text of answer.contents) {
        const j = judgeAnswer({ text, finishReason: answer.finishReason, refusal: answer.refusal }, { strip: !plan.structured });
        if (j.failed)
          return {
            ok: false,
            err: new RejectedAnswer(j.verdict as Verdict, j.reason ?? String(j.verdict)),
            verdict: j.verdict as Verdict,
            answer,
            sent,
          };
        captions.push(j.text);
        removed.push(...j.removed);
      }
    }
    let data: unknown;
    try {
      if (plan.structured) data = await core.parseStructured({ ...answer, contents: captions }, plan.structured);
    } catch (err) {
      return { ok: false, err, answer, sent };
    }
    // Accepted: into the cache before it is recorded anywhere (without guards, judged there).
    await sent.store?.(guards);
    if (opts.shape) {
      const shaped: string[] = [];
      for (const c of captions) {
        const r = opts.shape(c);
        if (!r.ok) return { ok: false, err: new CliError(r.reason, ExitCode.api), answer };
        shaped.push(r.text);
      }
      captions = shaped;
    }
    if (style && !plan.structured) captions = captions.map((c) => composeCaption(c, style));
    return { ok: true, answer: { ...answer, contents: captions, content: captions[0] ?? '' }, response, data, removed, sent };
  };

  /** What the batch does about a failed request (stop on 401/403, drop when stopping). */
  const actionFor = (err: unknown) =>
    decideFailure({
      unwritable: err instanceof OutputError,
      interrupted: ctx.signal.aborted,
      stopped: stop.signal.aborted,
      isStop: err instanceof InterruptedError,
      auth: err instanceof CliError && err.exitCode === ExitCode.config,
      authSeen: summary.authError !== undefined,
    });

  const sendOne = async (p: Prepared) => {
    const { item } = p;
    const reqGate = gate.forRequest();
    const reqCtx: CoreContext = { ...ctx, signal: requestSignal, gate: reqGate, onRetry: (e) => cb.onRetry?.(item, e) };
    if (dispatcher) reqCtx.dispatcher = dispatcher;
    const started = performance.now();
    let rec: BatchRecord;
    let sent: Answered | undefined;
    try {
      let o = await attempt(p.plan, settings, reqCtx);
      let fallback: FallbackNote | undefined;
      if (!o.ok && fallbackSettings && actionFor(o.err) === 'record') {
        emit({ kind: 'fallback-sent', usage: o.answer?.usage });
        fallback = {
          model: o.answer?.model ?? settings.model ?? '',
          ...(o.verdict ? { verdict: o.verdict } : {}),
          error: firstLine(o.err),
        };
        const plan = await core.planDescribe(
          [item.image],
          p.prompt,
          fallbackSettings,
          { ...ctx, signal },
          { prepared: p.plan.images, structured: p.plan.structured },
        );
        o = await attempt(plan, fallbackSettings, reqCtx);
        if (o.ok) emit({ kind: 'fallback-answered' });
      }
      if (o.ok) {
        const text = core.answerText(o.answer, p.plan.structured ? { data: o.data } : undefined, opts.raw);
        const wrote = await writeCaption(writers, {
          item,
          text,
          data: o.data,
          structured: p.plan.structured !== undefined,
          sourceType: p.plan.images[0]?.report.sourceType ?? '',
          sidecar: p.sidecar,
        });
        rec = okRecord(p, o.answer, o.response, {
          many,
          structured: p.plan.structured !== undefined,
          data: o.data,
          keepResponse: opts.keepResponse,
          sidecar: p.sidecar,
          removed: o.removed,
          metadata: wrote.metadata,
          fallback,
          photo: wrote.photo,
          cached: o.sent.cached !== undefined,
        });
        sent = o.sent;
        if (isCutOff(o.answer.finishReason)) {
          emit({ kind: 'cut-off' });
          cb.onWarning?.(item, `the answer was cut off (finish_reason: ${o.answer.finishReason}); raise --max-tokens`);
        }
      } else {
        if (o.err instanceof RelayDownError) {
          // Not the image's failure: the batch stops, and a rerun sends it.
          emit({ kind: 'relay-down', error: o.err });
          stop.abort();
          return;
        }
        const action = actionFor(o.err);
        if (action === 'drop') return;
        if (action === 'record-and-stop') {
          emit({ kind: 'auth-stop', error: o.err as CliError });
          stop.abort();
        }
        if (o.err instanceof APIError && isModelNotFound(o.err)) emit({ kind: 'model-not-found' });
        sent = o.sent;
        rec = {
          image: item.image,
          ok: false,
          ...(o.verdict ? { verdict: o.verdict } : {}),
          ...(o.answer
            ? { content: many ? o.answer.contents : o.answer.content, model: o.answer.model, usage: o.answer.usage ?? null }
            : {}),
          error: errorInfo(o.err),
          sha256: p.sha256,
          elapsed_ms: Math.round(performance.now() - started),
          ...(fallback ? { fallback } : {}),
        };
      }
    } catch (err) {
      // Writing the caption failed (or planning the fallback request did).
      const action = actionFor(err);
      if (action === 'stop-batch') throw err;
      if (action === 'drop') return;
      rec = { image: item.image, ok: false, error: errorInfo(err), sha256: p.sha256, elapsed_ms: Math.round(performance.now() - started) };
    } finally {
      reqGate.done();
    }
    // Outside the try: a record that cannot be written (disk full, closed pipe) stops the batch.
    await record(item, rec, sent);
  };

  let pending = items;
  if (Array.isArray(items) && opts.resume?.size) {
    const left: BatchItem[] = [];
    for (let i = 0; i < items.length && !signal.aborted; i++) {
      // a turn for the event loop now and then, so that Ctrl-C is heard during a long sweep
      if (i % 4096 === 4095) await new Promise((r) => setImmediate(r));
      const item = items[i] as BatchItem;
      if (!doneUnread(item)) left.push(item);
    }
    pending = left;
  }

  let stats: Awaited<ReturnType<typeof runPipeline<BatchItem, Prepared>>>;
  try {
    stats = await runPipeline<BatchItem, Prepared>({
      items: pending,
      prepare: prepareOne,
      work: opts.dryRun ? undefined : sendOne,
      preparers: Math.max(1, Math.min(maxPrepared, Math.max(2, availableParallelism()))),
      workers: concurrency,
      maxPrepared,
      signal,
    });
  } finally {
    memo?.flush();
  }

  emit({
    kind: 'finished',
    interrupted: ctx.signal.aborted,
    peakInFlight: gate.peak,
    rateLimited: gate.rateLimited,
    lowestConcurrency: gate.lowest,
    learned: gate.pacer.learned(),
    peakPrepared: stats.peakPrepared,
  });
  signal.removeEventListener('abort', closeGate);
  return summary;
}

/** What holds the batch back now: `limited by relay: 20/s learned`, `relay down, probing` ... */
function paceText(gate: BatchGate): string | undefined {
  const p = gate.pacer;
  if (p.mode === 'down') return 'relay down: paused, probing';
  if (p.mode === 'blocked') return 'relay refusing (429): waiting';
  if (p.limitedBy === 'rate' && Number.isFinite(p.rate) && (p.maxRps === undefined || p.rate < p.maxRps))
    return `limited by relay: ${p.rate >= 10 ? p.rate.toFixed(0) : p.rate.toFixed(1)}/s learned`;
  if (p.limitedBy === 'concurrency' && p.concurrency < p.max) return `limited by relay: ${p.concurrency} at once learned`;
  return undefined;
}
