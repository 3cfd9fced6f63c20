// The two calls every flow that asks a model makes (describe, batch, map, mcp, alt):
//
//   const r = await answerOrCached(plan, settings, ctx);   // the stored answer, or a request
//   await recordHistory(ctx, { command, images, prompt, settings, result: r });   // or error: err
//
// Both do nothing extra when ctx.memory is absent (--no-cache and --no-log, or a caller that opts
// out); `openMemory` builds ctx.memory from the environment and the settings. What is cached:
// only complete, accepted answers (not refused, empty, cut off, or failing the schema), keyed by
// the request body itself (answer-cache.ts), so the same picture under any path or URL hits and
// any change to the image, prompt, model or a parameter misses.
import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { readAnswer, type Answer, type ApiResult } from '../api/index.ts';
import { cacheDir, stateDir } from '../config/model-cache.ts';
import type { Settings } from '../config/settings.ts';
import type { ImageOptions, PreparedImage } from '../image/index.ts';
import { VERSION } from '../version.ts';
import { AnswerCache, answerKey, digestHash, imageDigest, knownDigest, preparedKey, type StoredResponse } from './answer-cache.ts';
import { errorInfo } from './batch-decide.ts';
import { parseStructured, sendDescribe, type CoreContext, type DescribePlan, type DescribeResult } from './describe.ts';
import { judgeAnswer } from './guards.ts';
import { History, imageLabel, tokensOf, type HistoryRecord, type NewRecord } from './history.ts';

export { AnswerCache } from './answer-cache.ts';
export { History } from './history.ts';

/** The answer cache and the history of one run (CoreContext.memory). */
export interface AnswerMemory {
  /** undefined: --no-cache (or `cache false` in the profile): nothing read, nothing stored. */
  cache: AnswerCache | undefined;
  /** --refresh: ask again and replace the stored answer. */
  refresh: boolean;
  /** undefined: --no-log (or `log false`). */
  history: History | undefined;
  /** Replaced wherever it appears in a history record. */
  token: string | undefined;
  /** Told once when the cache or the history cannot be written (the run goes on). */
  onNote?: ((message: string) => void) | undefined;
  /** Set after the first failed write, so it is said once. */
  failed?: { cache?: boolean; history?: boolean };
}

/** Builds a run's memory: the cache under $XDG_CACHE_HOME/imgdesc, the history under $XDG_STATE_HOME/imgdesc. */
export function openMemory(
  env: Record<string, string | undefined>,
  settings: Pick<Settings, 'cache' | 'log' | 'cacheMaxSize' | 'token'>,
  opts: { refresh?: boolean | undefined; onNote?: ((message: string) => void) | undefined } = {},
): AnswerMemory {
  return {
    cache: settings.cache ? new AnswerCache(cacheDir(env), settings.cacheMaxSize) : undefined,
    refresh: opts.refresh === true,
    history: settings.log ? new History(stateDir(env)) : undefined,
    token: settings.token,
    onNote: opts.onNote,
  };
}

export interface Answered extends DescribeResult {
  /** Set when the answer came from the cache: when it was first received. Usage and timing are that request's. */
  cached: { at: number } | undefined;
  /** The cache key of the request; undefined without a cache. */
  key: string | undefined;
  /**
   * With `deferStore`, for an answer just received: stores it. `judged`: the caller ran the guards
   * (judgeAnswer, as isCacheable does) over every candidate, and parsed a structured answer, and
   * all passed, so they are not run again; else they are run here. Call it before the answer is
   * printed or recorded (a run killed after that must not have lost it); at most once.
   */
  store?: ((judged: boolean) => Promise<void>) | undefined;
}

/** Whether an answer may be stored: every candidate complete, not refused, not empty. Pure. */
export function isCacheable(answer: Answer, structured: boolean): boolean {
  if (answer.contents.length === 0) return false;
  return answer.contents.every(
    (text) => !judgeAnswer({ text, finishReason: answer.finishReason, refusal: answer.refusal }, { strip: !structured }).failed,
  );
}

function storedResponse(r: ApiResult<unknown>): StoredResponse {
  return { status: r.status, requestId: r.requestId, body: r.body, elapsedMs: Math.round(r.elapsedMs) };
}

/** A stored response as the client would have returned it; `--json` prints it marked `"cached": true`. */
function restored(s: StoredResponse): ApiResult<unknown> {
  const marked = typeof s.body === 'object' && s.body !== null && !Array.isArray(s.body) ? { ...s.body, cached: true } : s.body;
  return {
    status: s.status,
    headers: {},
    requestId: s.requestId,
    rawText: JSON.stringify(marked),
    body: s.body,
    attempts: 0,
    elapsedMs: s.elapsedMs,
  };
}

function warnOnce(memory: AnswerMemory, what: 'cache' | 'history', err: unknown): void {
  memory.failed ??= {};
  if (memory.failed[what]) return;
  memory.failed[what] = true;
  const why = (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err));
  memory.onNote?.(
    what === 'cache'
      ? `answers are not being cached (${why}); the run goes on`
      : `the history is not being written (${why}); the run goes on`,
  );
}

/**
 * The answer to a planned request: the stored one when the same request was answered before
 * (no request is sent), else sendDescribe's, stored when it is complete and accepted. Errors are
 * sendDescribe's; the cache never fails a run (a cache that cannot be written is said once).
 */
export async function answerOrCached(
  plan: DescribePlan,
  settings: Settings,
  ctx: CoreContext,
  opts: { deferStore?: boolean } = {},
): Promise<Answered> {
  const memory = ctx.memory;
  const cache = memory?.cache;
  // Without a cache (--no-cache) nothing is keyed: hashing the images would be work for nothing.
  if (!cache) {
    const ready = plan.images.some((i) => standIns.has(i)) ? await prepareStandIns(plan) : plan;
    return { ...(await sendDescribe(ready, settings, ctx)), cached: undefined, key: undefined };
  }
  // By the URL itself, not in a Map: a Map would hash each data: URL's text (kilobytes) to look it up.
  const known: [string, string][] = [];
  for (const img of plan.images) {
    const d = digestOf(img);
    if (d) known.push([img.url, d]);
  }
  const digests = {
    get: (url: string) => {
      for (const [u, d] of known) if (u === url) return d;
      return undefined;
    },
  };
  // Where the family takes no `n` (Claude), -n 2 is two requests of the n=1 body: the key counts
  // the answers wanted, or -n 2 would be answered by one stored answer.
  const { answers, perRequest } = plan.family;
  const key = answerKey(plan.url, answers > perRequest ? { ...plan.body, answers } : plan.body, digests);
  if (!memory.refresh) {
    const hit = await cache.get(key);
    if (hit) {
      try {
        const response = restored(hit.response);
        return { plan, response, answer: readAnswer(response.body), cached: { at: hit.at }, key };
      } catch {
        // an entry this version cannot read is a miss
      }
    }
  }
  // Not answered before: the images the memo stood in for are read and prepared now, and the key
  // worked out from what is sent (the same key, unless preparing gives other bytes than it did).
  if (plan.images.some((i) => standIns.has(i))) return answerOrCached(await prepareStandIns(plan), settings, ctx, opts);
  const sent = await sendDescribe(plan, settings, ctx);
  let stored = false;
  const store = async (judged: boolean) => {
    if (stored) return;
    stored = true;
    if (!(judged ? sent.answer.contents.length > 0 : await isValid(sent.answer, plan.structured))) return;
    await cache.put(key, storedResponse(sent.response)).catch((err: unknown) => warnOnce(memory, 'cache', err));
  };
  if (opts.deferStore) return { ...sent, cached: undefined, key, store };
  await store(false);
  return { ...sent, cached: undefined, key };
}

/** Whether an answer may be stored: isCacheable, and a structured one valid against its schema. */
async function isValid(answer: Answer, structured: DescribePlan['structured']): Promise<boolean> {
  if (!isCacheable(answer, structured !== undefined)) return false;
  if (!structured) return true;
  return parseStructured(answer, structured).then(
    () => true,
    () => false,
  );
}

/** A file changed less than this long before it is looked at is not remembered (PreparedMemo.look). */
const SETTLED_MS = 2000;

/** imageDigest of a prepared image, worked out once (the key, the memo and the history all ask). */
const digests = new WeakMap<PreparedImage, string | null>();
function digestOf(img: PreparedImage): string | null {
  const stood = standIns.get(img);
  if (stood) return stood.digest;
  let d = digests.get(img);
  if (d === undefined) digests.set(img, (d = imageDigest(img.url)));
  return d;
}

/**
 * Tells the cache the sha256 of a prepared image's bytes, already worked out by the caller (a batch
 * hashes each file it reads; a file sent as it is is those bytes): the image is not hashed again.
 */
export function knownBytes(img: PreparedImage, sha256: string): void {
  if (img.mime && img.url.startsWith(`data:${img.mime};base64,`)) digests.set(img, knownDigest(img.mime, sha256));
}

/** Images a batch did not prepare because it had prepared them before: their digest, and how to prepare them. */
const standIns = new WeakMap<PreparedImage, { digest: string; load: () => Promise<PreparedImage> }>();

/** The plan with its stand-in images prepared, and their data: URLs in the body in place of the stand-ins'. */
async function prepareStandIns(plan: DescribePlan): Promise<DescribePlan> {
  const swap = new Map<string, string>();
  const images = await Promise.all(
    plan.images.map(async (img) => {
      const s = standIns.get(img);
      if (!s) return img;
      const real = await s.load();
      swap.set(img.url, real.url);
      return real;
    }),
  );
  const put = (v: unknown): unknown =>
    typeof v === 'string'
      ? (swap.get(v) ?? v)
      : Array.isArray(v)
        ? v.map(put)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, put(x)]))
          : v;
  return { ...plan, images, body: put(plan.body) as Record<string, unknown> };
}

/**
 * What a batch prepared before, looked up by a stat of the file (path, size, time, inode) and the
 * settings the bytes depend on: a batch asked again finds its answers without reading or
 * preparing its images. Only files (not URLs, stdin or a manifest's data: URLs).
 */
export class PreparedMemo {
  constructor(
    private readonly cache: AnswerCache,
    /** Everything the prepared bytes depend on besides the file. */
    private readonly settings: string,
    /** Prepares a file (when an answer is not in the cache after all). */
    private readonly load: (path: string) => Promise<PreparedImage>,
    /** A file changed less than this long before it is looked at is not remembered. */
    private readonly settledMs = SETTLED_MS,
  ) {}

  /**
   * The file as it is now; with `known` when it was prepared before: its sha256, and a stand-in
   * for the prepared image (the digest of its bytes, the report and warnings it had) that
   * answerOrCached answers from the cache, or prepares when it must send it. `stat`: the file's,
   * when the caller has just stat'ed it (null: not a regular file), so that it is not stat'ed twice.
   */
  look(
    item: {
      image: string;
      key: string;
      url: boolean;
      source?: string | undefined;
    },
    stat?: Stats | null,
  ): { key: string; known?: { sha256: string; image: PreparedImage } } | undefined {
    if (item.url || item.source !== undefined || item.image === '-') return undefined;
    const st = stat === undefined ? statSync(item.key, { throwIfNoEntry: false }) : stat;
    if (!st?.isFile()) return undefined;
    const key = preparedKey({
      path: item.key,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
      dev: st.dev,
      settings: this.settings,
    });
    const info = this.cache.prepared(key);
    // A file changed moments ago may change again within the same tick of the file system's
    // clock (the same times, maybe the same size): it is not remembered until it has settled.
    if (!info) return Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < this.settledMs ? undefined : { key };
    const image: PreparedImage = { url: `imgdesc-prepared:${info.digest}`, mime: info.mime, report: info.report, warnings: info.warnings };
    standIns.set(image, { digest: info.digest, load: () => this.load(item.key) });
    return { key, known: { sha256: info.sha256, image } };
  }

  /** Writes what remember() kept (at the end of a batch). */
  flush(): void {
    this.cache.flush();
  }

  /** Remembers what the file (its key from look(), before it was read) was prepared into. */
  remember(key: string, sha256: string, image: PreparedImage): void {
    const digest = digestOf(image);
    if (digest) this.cache.remember(key, { sha256, digest, mime: image.mime, report: image.report, warnings: image.warnings });
  }
}

/** The batch's memo of prepared files; undefined without a cache, with --refresh, or for a dry run. */
export function preparedMemo(
  memory: AnswerMemory | undefined,
  imgOpts: ImageOptions,
  load: (path: string) => Promise<PreparedImage>,
): PreparedMemo | undefined {
  if (!memory?.cache || memory.refresh) return undefined;
  const settings = JSON.stringify([
    VERSION,
    imgOpts.maxEdge,
    imgOpts.maxBytes,
    imgOpts.resize,
    imgOpts.keepMetadata,
    imgOpts.searchPath ?? null,
    imgOpts.model ?? null,
  ]);
  return new PreparedMemo(memory.cache, settings, load);
}

/** One answer, or one failure, for the history. */
export interface HistoryEvent {
  /** describe, batch, map, mcp, alt … */
  command: string;
  /** The images as given (path, URL, `-`, data: URL). */
  images: string[];
  prompt: string;
  system?: string | undefined;
  model: string | null | undefined;
  /** What answerOrCached returned, when it returned. */
  result?: Answered | undefined;
  /** The text printed or recorded, when it is not the answer as received (guards, prefix, schema). */
  text?: string | undefined;
  /** The failure. With `answer`, what the model said that was not accepted. */
  error?: unknown;
  answer?: Answer | undefined;
  /**
   * The image's sha256 as the caller knows it (batch and map: the file's, as in their records);
   * without it, the sha256 of the bytes sent is worked out here.
   */
  sha256?: string | null | undefined;
  /** How long it took; default: the request's time. */
  durationMs?: number | undefined;
}

/** sha256 of the first image's bytes as sent (its digest's); null for a URL passed as given, or nothing sent. */
function sentHash(r: Answered | undefined): string | null {
  const img = r?.plan.images[0];
  const d = img ? digestOf(img) : null;
  return d === null ? null : digestHash(d);
}

/** Appends one record to the history; never fails the run (a history that cannot be written is said once). */
export async function recordHistory(ctx: Pick<CoreContext, 'memory' | 'cwd'>, e: HistoryEvent): Promise<HistoryRecord | undefined> {
  const memory = ctx.memory;
  const history = memory?.history;
  if (!memory || !history) return undefined;
  const r = e.result;
  const answer = r?.answer ?? e.answer;
  const first = e.images[0] ?? '';
  const local = first !== '-' && !/^(?:data|https?):/i.test(first);
  // One object literal (a field left undefined is left out of the JSON line): one per answer.
  const rec = {
    command: e.command,
    image: imageLabel(first),
    images: e.images.length > 1 ? e.images.map(imageLabel) : undefined,
    path: local ? resolve(ctx.cwd, first) : undefined,
    sha256: e.sha256 ?? sentHash(r),
    prompt: e.prompt,
    system: e.system ? e.system : undefined,
    model: answer?.model ?? e.model ?? null,
    tokens: tokensOf(answer?.usage),
    duration_ms: e.durationMs !== undefined ? Math.round(e.durationMs) : r ? Math.round(r.response.elapsedMs) : null,
    cached: r?.cached ? (true as const) : undefined,
    ok: e.error === undefined,
    finish_reason: answer ? answer.finishReason : undefined,
    answer: undefined as string | undefined,
    error: undefined as HistoryRecord['error'],
  } as NewRecord;
  const text = e.text ?? (answer ? answer.contents.map((c) => c.trim()).join('\n\n') : undefined);
  if (text !== undefined) rec.answer = text;
  if (e.error !== undefined) rec.error = errorInfo(e.error);
  try {
    return await history.append(rec, memory.token);
  } catch (err) {
    warnOnce(memory, 'history', err);
    return undefined;
  }
}
