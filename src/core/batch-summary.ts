// The batch's tallies, built by reducing over what happened: the flow emits one event per fact
// (an image recorded, skipped or planned, a fallback sent, the gate's figures at the end) and the
// summary is a pure fold over them, so every tally rule is tested one line per case.
import type { CliError } from '../types.ts';
import type { BatchError, SkipReason } from './batch-decide.ts';
import type { Verdict } from './guards.ts';

export interface BatchSummary {
  total: number;
  ok: number;
  failed: number;
  skipped: Record<SkipReason, number>;
  tokens: number;
  /** Answers cut off at the token limit (recorded ok, flagged `cut_off`). */
  cutOff: number;
  /** Some request was answered "no such model" (the CLI then forgets a cached pick). */
  modelNotFound: boolean;
  /** Set when a 401/403 stopped the batch. */
  authError: CliError | undefined;
  interrupted: boolean;
  /** Most requests in flight at once, 429s seen, and the lowest the concurrency went. */
  peakInFlight: number;
  rateLimited: number;
  lowestConcurrency: number;
  /** What the relay was found to allow, when it held the batch back. */
  learned: { rate?: number; concurrency?: number };
  /** Set when the relay stayed down too long and the batch stopped. */
  relayDown: CliError | undefined;
  /** Most images prepared but not yet sent at once (the pipeline's bound, for tests). */
  peakPrepared: number;
  /** Answers from the answer cache (not in `tokens`: nothing was billed for them). */
  cached: number;
  /** Guards: answers by verdict (chatter among the ok ones, the rest among the failed). */
  verdicts: Record<Verdict, number>;
  /** Items sent to --fallback-model, and how many of those it answered. */
  fallbacks: { sent: number; ok: number };
  /** --dry-run: what the images that would be sent cost, estimated. */
  estimate: BatchEstimate;
}

export interface BatchEstimate {
  imageTokens: number;
  promptTokens: number;
  /** The sum of max_tokens over requests that set it; `uncapped` requests set none. */
  outputCap: number;
  uncapped: number;
  /** Images whose size is not known here (URLs passed as given): not in imageTokens. */
  unsized: number;
  /** The image token formula used, in words. */
  formula: string;
}

/** What the summary counts. A record carries only what the tallies read from it. */
export type BatchEvent =
  | {
      kind: 'record';
      ok: boolean;
      usage?: unknown;
      verdict?: Verdict | 'chatter' | undefined;
      error?: BatchError | undefined;
      /** The answer came from the answer cache. */
      cached?: boolean | undefined;
    }
  | { kind: 'skip'; reason: SkipReason }
  /** --dry-run: one image would be sent; its request's estimate (outputCap null: no cap set). */
  | { kind: 'planned'; imageTokens: number; promptTokens: number; outputCap: number | null; unsized: number }
  /** A failed first answer went to --fallback-model; the tokens the first model billed count too. */
  | { kind: 'fallback-sent'; usage?: unknown }
  | { kind: 'fallback-answered' }
  | { kind: 'cut-off' }
  | { kind: 'model-not-found' }
  | { kind: 'auth-stop'; error: CliError }
  /** The relay stayed down past the limit: the batch stopped. */
  | { kind: 'relay-down'; error: CliError }
  | {
      kind: 'finished';
      interrupted: boolean;
      peakInFlight: number;
      rateLimited: number;
      lowestConcurrency: number;
      learned: { rate?: number; concurrency?: number };
      peakPrepared: number;
    };

export function emptySummary(total: number, concurrency: number, formula: string): BatchSummary {
  return {
    total,
    ok: 0,
    failed: 0,
    skipped: { done: 0, sidecar: 0, captioned: 0, described: 0, 'not-image': 0 },
    tokens: 0,
    cutOff: 0,
    modelNotFound: false,
    authError: undefined,
    interrupted: false,
    peakInFlight: 0,
    rateLimited: 0,
    lowestConcurrency: concurrency,
    learned: {},
    relayDown: undefined,
    peakPrepared: 0,
    cached: 0,
    verdicts: { refused: 0, empty: 0, truncated: 0, chatter: 0 },
    fallbacks: { sent: 0, ok: 0 },
    estimate: { imageTokens: 0, promptTokens: 0, outputCap: 0, uncapped: 0, unsized: 0, formula },
  };
}

/** Tokens billed for an answer, from its usage (0 when it says none). */
export function billedTokens(usage: unknown): number {
  const u = usage as { total_tokens?: unknown } | null | undefined;
  return u && typeof u.total_tokens === 'number' ? u.total_tokens : 0;
}

/** The summary after one more event. Pure: returns a new summary, the old one unchanged. */
export function summarize(s: BatchSummary, e: BatchEvent): BatchSummary {
  switch (e.kind) {
    case 'record':
      return {
        ...s,
        ok: s.ok + (e.ok ? 1 : 0),
        failed: s.failed + (e.ok ? 0 : 1),
        // Tokens billed, whether or not the answer was a caption; none for an answer from the cache.
        tokens: s.tokens + (e.cached ? 0 : billedTokens(e.usage)),
        cached: s.cached + (e.cached ? 1 : 0),
        verdicts: e.verdict ? { ...s.verdicts, [e.verdict]: s.verdicts[e.verdict] + 1 } : s.verdicts,
      };
    case 'skip':
      return { ...s, skipped: { ...s.skipped, [e.reason]: s.skipped[e.reason] + 1 } };
    case 'planned': {
      const est = s.estimate;
      return {
        ...s,
        ok: s.ok + 1,
        estimate: {
          ...est,
          imageTokens: est.imageTokens + e.imageTokens,
          promptTokens: est.promptTokens + e.promptTokens,
          unsized: est.unsized + e.unsized,
          outputCap: est.outputCap + (e.outputCap ?? 0),
          uncapped: est.uncapped + (e.outputCap === null ? 1 : 0),
        },
      };
    }
    case 'fallback-sent':
      return { ...s, tokens: s.tokens + billedTokens(e.usage), fallbacks: { ...s.fallbacks, sent: s.fallbacks.sent + 1 } };
    case 'fallback-answered':
      return { ...s, fallbacks: { ...s.fallbacks, ok: s.fallbacks.ok + 1 } };
    case 'cut-off':
      return { ...s, cutOff: s.cutOff + 1 };
    case 'model-not-found':
      return { ...s, modelNotFound: true };
    case 'auth-stop':
      return { ...s, authError: s.authError ?? e.error };
    case 'relay-down':
      return { ...s, relayDown: s.relayDown ?? e.error };
    case 'finished': {
      const { kind: _, ...figures } = e;
      return { ...s, ...figures };
    }
  }
}
