// The requests behind `doctor` and `init`: each turns into facts for the pure checks of doctor.ts.
// Nothing is retried (a checklist says what happens now) and no failure escapes as an exception,
// except Ctrl-C.
import {
  APIConnectionError,
  APIError,
  InvalidResponseError,
  createChatCompletion,
  getJson,
  readModelIds,
  resolveEndpoints,
  type ApiResult,
  type ClientOptions,
} from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import { probeImageDataUrl } from '../image/index.ts';
import { InterruptedError } from '../types.ts';
import { USER_AGENT, planDescribe, type CoreContext } from './describe.ts';
import { missesApi, readBilling, readTokenUsage, quotaUrls, urlVariants, type Outcome, type ProbeOutcome, type Quota } from './doctor.ts';

/** Requests that only read stay short: a checklist should not sit for the 300 s of a describe. */
const GET_TIMEOUT_MS = 30_000;

function options(baseUrl: string, token: string | undefined, timeoutMs: number, ctx: CoreContext): ClientOptions {
  return { baseUrl, token: token ?? '', timeoutMs, retries: 0, signal: ctx.signal, userAgent: USER_AGENT };
}

/** What a failed request came to. Ctrl-C and bugs are thrown on. */
export function outcomeOf(error: unknown): Outcome {
  if (error instanceof InterruptedError) throw error;
  if (error instanceof APIError) return { kind: 'http', status: error.status ?? 0, message: error.serverMessage, hint: error.hint };
  if (error instanceof InvalidResponseError)
    return { kind: 'http', status: error.status ?? 200, message: error.webPage ?? error.message.replace(/^HTTP \d+: /, ''), notApi: true };
  if (error instanceof APIConnectionError) {
    return /^TLS error/.test(error.message)
      ? { kind: 'tls', message: error.code ?? error.message }
      : { kind: 'network', message: error.message };
  }
  throw error;
}

export interface ModelList {
  /** The API root that was asked (`https://h/v1`). */
  root: string;
  outcome: Outcome;
  ids: string[];
}

/** GET {root}/models with the token, if there is one. A 200 that is not a model list counts as "not the API". */
export async function fetchModelList(
  root: string,
  token: string | undefined,
  ctx: CoreContext,
  url = `${root}/models`,
): Promise<ModelList> {
  try {
    const res = await getJson(url, options(root, token, GET_TIMEOUT_MS, ctx));
    return { root, outcome: { kind: 'http', status: res.status }, ids: readModelIds(res.body) };
  } catch (error) {
    return { root, outcome: outcomeOf(error), ids: [] };
  }
}

/** The models request, and when it misses the API, what each other form of the base URL answers. */
export async function locateApi(
  baseUrl: string,
  token: string | undefined,
  ctx: CoreContext,
): Promise<{ list: ModelList; variants: (ModelList & { baseUrl: string })[] }> {
  const endpoints = resolveEndpoints(baseUrl);
  const root = endpoints.base;
  const list = await fetchModelList(root, token, ctx, endpoints.models);
  const variants: (ModelList & { baseUrl: string })[] = [];
  if (missesApi(list.outcome)) {
    for (const v of urlVariants(root)) {
      const found = { ...(await fetchModelList(v.root, token, ctx)), baseUrl: v.baseUrl };
      variants.push(found);
      if (!missesApi(found.outcome) && found.outcome.kind === 'http') break;
    }
  }
  return { list, variants };
}

/** The balance, from whichever endpoint the relay offers; null when it offers none. */
export async function fetchQuota(root: string, token: string, ctx: CoreContext): Promise<Quota | null> {
  const urls = quotaUrls(root);
  const get = async (url: string | null): Promise<ApiResult<unknown> | null> => {
    if (!url) return null;
    try {
      return await getJson(url, options(root, token, GET_TIMEOUT_MS, ctx));
    } catch (error) {
      outcomeOf(error); // rethrows Ctrl-C; any answer that is not a balance means "not offered"
      return null;
    }
  };
  const [tokenUsage, subscription, usage] = await Promise.all([get(urls.tokenUsage), get(urls.subscription), get(urls.usage)]);
  return readTokenUsage(tokenUsage?.body) ?? readBilling(subscription?.body, usage?.body);
}

/**
 * One request with the test picture and `max_tokens` 1, built like a describe request (so each model
 * family gets what it accepts). Any answer with choices counts: a reasoning model may spend its one
 * token thinking and say nothing, yet it took the image.
 */
export async function probeModel(
  model: string,
  settings: Settings,
  ctx: CoreContext,
  now: () => number = () => performance.now(),
): Promise<ProbeOutcome> {
  const probeSettings: Settings = {
    ...settings,
    model,
    maxTokens: 1,
    temperature: undefined,
    system: undefined,
    schema: undefined,
    n: undefined,
    reasoningEffort: undefined,
    detail: 'low',
  };
  const image = await probeImageDataUrl();
  const plan = await planDescribe([image], 'Reply with one word: what colour is the square?', probeSettings, ctx);
  const started = now();
  try {
    const res = await createChatCompletion(plan.body, options(settings.baseUrl ?? '', settings.token, settings.timeoutMs, ctx));
    const body = res.body as { choices?: { finish_reason?: unknown }[]; usage?: unknown };
    const first = Array.isArray(body.choices) ? body.choices[0] : undefined;
    if (!first) return { ok: false, ms: now() - started, status: res.status, message: 'the answer has no choices' };
    return {
      ok: true,
      ms: now() - started,
      finishReason: typeof first.finish_reason === 'string' ? first.finish_reason : null,
      usage: body.usage ?? null,
    };
  } catch (error) {
    const ms = now() - started;
    if (error instanceof APIError) {
      return { ok: false, ms, status: error.status, code: error.code, type: error.type, message: error.serverMessage, hint: error.hint };
    }
    const o = outcomeOf(error);
    return { ok: false, ms, status: o.kind === 'http' ? o.status : undefined, message: o.message ?? 'no answer' };
  }
}

/** Probes each model, `concurrency` at a time, reporting each result as it comes. */
export async function probeModels(
  models: string[],
  settings: Settings,
  ctx: CoreContext,
  concurrency: number,
  onResult?: (model: string, outcome: ProbeOutcome) => void,
): Promise<Map<string, ProbeOutcome>> {
  const results = new Map<string, ProbeOutcome>();
  let next = 0;
  const worker = async () => {
    while (next < models.length) {
      const model = models[next++] as string;
      const outcome = await probeModel(model, settings, ctx);
      results.set(model, outcome);
      onResult?.(model, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, models.length) }, worker));
  return results;
}
