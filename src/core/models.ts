// `models` and model picking: GET {base}/v1/models, the ids it lists, and which one to use when the
// user set none (no model is built in, because models retire: docs/config.md "Models").
import {
  APIError,
  closestModels,
  isModelNotFound,
  isVisionModel,
  listModels,
  pickModel,
  readModelIds,
  resolveEndpoints,
  takesNoImages,
  type ApiResult,
} from '../api/index.ts';
import { MODEL_CACHE_TTL_MS, readCachedPick, writeCachedPick } from '../config/model-cache.ts';
import type { Settings } from '../config/settings.ts';
import { CliError, ConfigError, ExitCode } from '../types.ts';
import { clientOptions, type CoreContext } from './describe.ts';
import { RUN_DOCTOR } from './doctor.ts';

export async function fetchModels(settings: Settings, ctx: CoreContext): Promise<{ response: ApiResult<unknown>; ids: string[] }> {
  const response = await listModels(clientOptions(settings, ctx));
  return { response, ids: readModelIds(response.body) };
}

export interface ModelChoice {
  model: string;
  /** settings: the user's; cache: picked earlier; relay: picked now from a fresh list; none: --dry-run without a cached pick. */
  source: 'settings' | 'cache' | 'relay' | 'none';
}

/** What --dry-run shows as the model when none is set and nothing is cached. */
export const MODEL_TO_BE_PICKED = "(picked from the relay's model list)";

export const HOW_TO_CHOOSE = 'imgdesc models lists them; choose one with -m <id> or imgdesc config set model <id>';

function cacheKey(settings: Settings): string | undefined {
  return settings.baseUrl ? resolveEndpoints(settings.baseUrl).models : undefined;
}

/**
 * The model to use. When none is set: the pick cached for this relay (younger than a day), else
 * the best one in the relay's own list, cached. `dryRun` never touches the network. `refresh`
 * ignores the cache (the cached pick was not found).
 */
export async function chooseModel(
  settings: Settings,
  ctx: CoreContext,
  opts: { dryRun: boolean; refresh?: boolean; now?: number },
): Promise<ModelChoice> {
  if (settings.model) return { model: settings.model, source: 'settings' };
  const key = cacheKey(settings);
  const now = opts.now ?? Date.now();
  const cached = key && ctx.cacheDir ? await readCachedPick(ctx.cacheDir, key) : undefined;
  if (opts.dryRun) return cached ? { model: cached.picked, source: 'cache' } : { model: MODEL_TO_BE_PICKED, source: 'none' };
  if (cached && !opts.refresh && now - cached.at < MODEL_CACHE_TTL_MS) return { model: cached.picked, source: 'cache' };
  const { ids } = await fetchModels(settings, ctx);
  const picked = pickModel(ids);
  if (!picked) {
    const some = ids.slice(0, 8).join(', ');
    throw new ConfigError(
      ids.length
        ? `no model is set, and none of the ${ids.length} the relay lists is known to see images (${some}${ids.length > 8 ? ', …' : ''})`
        : 'no model is set, and the relay lists none',
      { hint: HOW_TO_CHOOSE },
    );
  }
  if (key && ctx.cacheDir) await writeCachedPick(ctx.cacheDir, key, { picked, ids, at: now });
  return { model: picked, source: 'relay' };
}

/** Forgets the cached pick for this relay. */
export async function forgetPick(settings: Settings, ctx: CoreContext): Promise<void> {
  const key = cacheKey(settings);
  if (key && ctx.cacheDir) await writeCachedPick(ctx.cacheDir, key, undefined);
}

/** The relay's ids (undefined when it cannot list them) and what they say of `model`. */
async function lookUp(
  settings: Settings,
  ctx: CoreContext,
  model: string,
): Promise<{ ids: string[] | undefined; listed: boolean; closest: string }> {
  let ids: string[] | undefined;
  try {
    ids = (await fetchModels(settings, ctx)).ids;
  } catch {
    // the list is a courtesy here; the error that matters is the one we have
  }
  const near = ids ? closestModels(model, ids) : [];
  const closest = ids === undefined ? '' : near.length ? `closest the relay lists: ${near.join(', ')}` : 'the relay lists no models';
  return { ids, listed: ids?.includes(model) ?? false, closest };
}

/**
 * When the relay says the model does not exist: forgets a cached pick, and turns the error into
 * exit 4 naming the closest ids the relay lists. Other errors come back as they are.
 */
export async function explainModelNotFound(error: unknown, settings: Settings, ctx: CoreContext, choice: ModelChoice): Promise<unknown> {
  if (error instanceof APIError && choice.source === 'settings') {
    // Whatever the relay made of it (DeepSeek's "unknown variant image_url", a 500 for dall-e-3),
    // the cause is the model: one line saying so, and a model that can see instead.
    const what = takesNoImages(choice.model);
    if (what !== undefined) return noImagesError(choice.model, what, await lookUp(settings, ctx, choice.model), error);
  }
  if (!(error instanceof APIError) || !isModelNotFound(error) || choice.source === 'none') return error;
  const key = cacheKey(settings);
  const { ids, listed, closest } = await lookUp(settings, ctx, choice.model);
  if (key && ctx.cacheDir && choice.source !== 'settings') {
    const picked = ids && pickModel(ids);
    await writeCachedPick(ctx.cacheDir, key, ids && picked ? { picked, ids, at: Date.now() } : undefined);
  }
  if (listed) {
    // 503 无可用渠道 for a model the relay lists: no working channel in this token's group.
    return new CliError(`the relay lists '${choice.model}' but has no available channel for it: ${error.message}`, ExitCode.api, {
      hint: `pick another model with -m, or ask the relay's admin; ${RUN_DOCTOR}`,
      cause: error,
    });
  }
  // The relay's words and request id, not its code (model_not_found says what this line says).
  const said = APIError.format(error.status, error.serverMessage, null, error.requestId);
  return new CliError(`model '${choice.model}' is not available at this relay: ${said}`, ExitCode.api, {
    hint: `${closest ? `${closest}; ` : ''}${choice.source === 'settings' ? 'choose one with -m <id>' : 'the cached pick was refreshed: run again, or choose one with -m <id>'}; ${RUN_DOCTOR}`,
    cause: error,
  });
}

function noImagesError(model: string, what: string, found: { ids: string[] | undefined }, cause: APIError): CliError {
  const instead = found.ids && pickModel(found.ids);
  return new CliError(`${model} takes no images: it is ${what}`, ExitCode.api, {
    hint: instead ? `use a vision model, e.g. -m ${instead}` : 'use a vision model: imgdesc models lists them',
    cause,
  });
}

/** After a batch whose requests were answered "no such model": one line saying what the relay has instead. */
export async function missingModelLine(settings: Settings, ctx: CoreContext, model: string): Promise<string> {
  const { listed, closest } = await lookUp(settings, ctx, model);
  return listed
    ? `the relay lists '${model}' but has no available channel for it`
    : `model '${model}' is not available at this relay${closest ? `; ${closest}` : ''}`;
}

export interface VisionModels {
  /** The vision-capable ids the relay lists (the picker's table), in the relay's order. */
  vision: string[];
  /** Every id it lists. */
  ids: string[];
  /** The model a request would use now: the settings', else the cached pick, else the one the picker would take. */
  inUse: string | undefined;
}

/** The relay's vision-capable models and the one in use; writes nothing (the pick is cached when a request makes it). */
export async function visionModels(settings: Settings, ctx: CoreContext, now = Date.now()): Promise<VisionModels> {
  const { ids } = await fetchModels(settings, ctx);
  const key = cacheKey(settings);
  const cached = !settings.model && key && ctx.cacheDir ? await readCachedPick(ctx.cacheDir, key) : undefined;
  const fresh = cached && now - cached.at < MODEL_CACHE_TTL_MS && ids.includes(cached.picked) ? cached.picked : undefined;
  return { vision: ids.filter(isVisionModel), ids, inUse: settings.model ?? fresh ?? pickModel(ids) };
}
