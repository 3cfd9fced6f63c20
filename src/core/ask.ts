// One describe request from inputs to answer, the sequence `imgdesc describe` and `imgdesc mcp`
// share: images first, then the model (the settings' model, else the cached pick, else one picked
// from the relay's list; a cached pick the relay no longer has is picked again once), then the
// answer (from the answer cache when there is one) and its history record. No terminal knowledge:
// callers show what they want through the hooks.
import type { Settings } from '../config/settings.ts';
import { answerOrCached, recordHistory, type Answered, type HistoryEvent } from './answers.ts';
import { parseStructured, planDescribe, type CoreContext, type DescribePlan } from './describe.ts';
import { chooseModel, explainModelNotFound, type ModelChoice } from './models.ts';

/** A request ready to send: every image read and prepared, the model chosen. */
export interface Planned {
  inputs: string[];
  plan: DescribePlan;
  /** The settings with the chosen model set. */
  settings: Settings;
  choice: ModelChoice;
}

export interface AskHooks {
  /** The request is about to go to `model`. */
  onSending?: (model: string, plan: DescribePlan) => void;
  /** `from` was picked earlier and is gone from the relay; `to` is used instead. */
  onRepicked?: (from: string, to: string) => void;
}

export interface Sent extends Planned {
  /** The answer, from the answer cache when ctx.memory has one and the same request was answered before. */
  result: Answered;
}

export interface AskOutcome extends Sent {
  /** The validated structured answer, when a schema was given. */
  structured: { data: unknown } | undefined;
}

/** Who asked, for the history record: the command and the images as the user named them. */
export interface Asker {
  command: string;
  images: string[];
}

const silently = (ctx: CoreContext) => (s: Settings) => chooseModel(s, ctx, { dryRun: false });

/** Reads and prepares every image, then chooses the model (by default silently, from the relay). */
export async function planAsk(
  inputs: string[],
  settings: Settings,
  ctx: CoreContext,
  choose: (settings: Settings) => Promise<ModelChoice> = silently(ctx),
): Promise<Planned> {
  // Images first: a bad one fails before anything, even the model list, is asked for.
  const plan = await planDescribe(inputs, settings.prompt, settings, ctx);
  const choice = await choose(settings);
  return choice.source === 'settings' ? { inputs, plan, settings, choice } : replanned({ inputs, plan, settings, choice }, choice, ctx);
}

async function replanned(p: Planned, choice: ModelChoice, ctx: CoreContext): Promise<Planned> {
  const settings = { ...p.settings, model: choice.model };
  const plan = await planDescribe(p.inputs, settings.prompt, settings, ctx, { prepared: p.plan.images, structured: p.plan.structured });
  return { inputs: p.inputs, plan, settings, choice };
}

/** Sends a planned request (or answers it from the cache) and records it in the history. */
export async function sendAsk(planned: Planned, ctx: CoreContext, asker: Asker, hooks: AskHooks = {}): Promise<Sent> {
  let p = planned;
  const started = performance.now();
  const history = (e: Partial<HistoryEvent>) =>
    recordHistory(ctx, { ...asker, prompt: p.settings.prompt, system: p.settings.system, model: p.settings.model, ...e });
  hooks.onSending?.(p.choice.model, p.plan);
  let result: Answered;
  try {
    try {
      result = await answerOrCached(p.plan, p.settings, ctx);
    } catch (error) {
      const explained = await explainModelNotFound(error, p.settings, ctx, p.choice);
      if (explained === error || p.choice.source !== 'cache') throw explained;
      const fresh = await chooseModel({ ...p.settings, model: undefined }, ctx, { dryRun: false });
      if (fresh.model === p.choice.model) throw explained;
      hooks.onRepicked?.(p.choice.model, fresh.model);
      p = await replanned(p, fresh, ctx);
      hooks.onSending?.(p.choice.model, p.plan);
      result = await answerOrCached(p.plan, p.settings, ctx);
    }
  } catch (error) {
    // A stop is the user's, not a failure of the request.
    if (!ctx.signal.aborted) await history({ error, durationMs: performance.now() - started });
    throw error;
  }
  // A cache hit took no time of the relay's: its record keeps the original's usage and no duration.
  await history(result.cached ? { result } : { result, durationMs: performance.now() - started });
  return { ...p, result };
}

/** planAsk, sendAsk and the structured answer checked, for callers that show nothing between the steps (`imgdesc mcp`). */
export async function askAbout(
  inputs: string[],
  settings: Settings,
  ctx: CoreContext,
  asker: Asker,
  hooks: AskHooks = {},
): Promise<AskOutcome> {
  const sent = await sendAsk(await planAsk(inputs, settings, ctx), ctx, asker, hooks);
  const schema = sent.plan.structured;
  return { ...sent, structured: schema ? { data: await parseStructured(sent.result.answer, schema) } : undefined };
}
