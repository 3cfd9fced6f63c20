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
import { resolve } from 'node:path';
import { readAnswer, type Answer, type ApiResult } from '../api/index.ts';
import { cacheDir, stateDir } from '../config/model-cache.ts';
import type { Settings } from '../config/settings.ts';
import { AnswerCache, answerKey, dataUrlHash, imageDigest, type StoredResponse } from './answer-cache.ts';
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
  /** The cache key of the request. */
  key: string;
}

/** Whether an answer may be stored: every candidate complete, not refused, not empty. Pure. */
export function isCacheable(answer: Answer, structured: boolean): boolean {
  if (answer.contents.length === 0) return false;
  return answer.contents.every(
    (text) => !judgeAnswer({ text, finishReason: answer.finishReason, refusal: answer.refusal }, { strip: !structured }).failed,
  );
}

function stored(r: ApiResult<unknown>): StoredResponse {
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
export async function answerOrCached(plan: DescribePlan, settings: Settings, ctx: CoreContext): Promise<Answered> {
  const digests = new Map<string, string>();
  for (const { url } of plan.images) {
    const d = digests.has(url) ? undefined : imageDigest(url);
    if (d) digests.set(url, d);
  }
  // Where the family takes no `n` (Claude), -n 2 is two requests of the n=1 body: the key counts
  // the answers wanted, or -n 2 would be answered by one stored answer.
  const { answers, perRequest } = plan.family;
  const key = answerKey(plan.url, answers > perRequest ? { ...plan.body, answers } : plan.body, digests);
  const memory = ctx.memory;
  const cache = memory?.cache;
  if (cache && !memory.refresh) {
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
  const sent = await sendDescribe(plan, settings, ctx);
  if (cache && isCacheable(sent.answer, plan.structured !== undefined)) {
    let valid = true;
    if (plan.structured)
      valid = await parseStructured(sent.answer, plan.structured).then(
        () => true,
        () => false,
      );
    if (valid) await cache.put(key, stored(sent.response)).catch((err: unknown) => warnOnce(memory as AnswerMemory, 'cache', err));
  }
  return { ...sent, cached: undefined, key };
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

/** sha256 of the first image's bytes as sent; null for a URL passed as given, or nothing sent. */
function sentHash(r: Answered | undefined): string | null {
  const url = r?.plan.images[0]?.url;
  return url === undefined ? null : dataUrlHash(url);
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
  const rec: NewRecord = {
    command: e.command,
    image: imageLabel(first),
    ...(e.images.length > 1 ? { images: e.images.map(imageLabel) } : {}),
    ...(local ? { path: resolve(ctx.cwd, first) } : {}),
    sha256: e.sha256 ?? sentHash(r),
    prompt: e.prompt,
    ...(e.system ? { system: e.system } : {}),
    model: answer?.model ?? e.model ?? null,
    tokens: tokensOf(answer?.usage),
    duration_ms: e.durationMs !== undefined ? Math.round(e.durationMs) : r ? Math.round(r.response.elapsedMs) : null,
    ...(r?.cached ? { cached: true as const } : {}),
    ok: e.error === undefined,
    ...(answer ? { finish_reason: answer.finishReason } : {}),
  };
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
