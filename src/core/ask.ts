// One describe request from inputs to answer, with the model chosen as the CLI chooses it: the
// settings' model, else the cached pick, else one picked from the relay's list; a cached pick the
// relay no longer has is picked again once. For callers that show nothing between the steps
// (`imgdesc mcp`); no terminal knowledge.
import type { Settings } from '../config/settings.ts';
import { answerOrCached, type Answered } from './answers.ts';
import { parseStructured, planDescribe, type CoreContext, type DescribePlan } from './describe.ts';
import { chooseModel, explainModelNotFound, type ModelChoice } from './models.ts';

export interface AskHooks {
  /** Every image is read and prepared; the request is about to go to `model`. */
  onSending?: (model: string, plan: DescribePlan) => void;
  /** `from` was picked earlier and is gone from the relay; `to` is used instead. */
  onRepicked?: (from: string, to: string) => void;
}

export interface AskOutcome {
  /** The answer, from the answer cache when ctx.memory has one and the same request was answered before. */
  result: Answered;
  /** The settings the request went out with (the model set). */
  settings: Settings;
  choice: ModelChoice;
  /** The validated structured answer, when a schema was given. */
  structured: { data: unknown } | undefined;
}

export async function askAbout(inputs: string[], settings: Settings, ctx: CoreContext, hooks: AskHooks = {}): Promise<AskOutcome> {
  // Images first: a bad one fails before anything, even the model list, is asked for.
  let plan = await planDescribe(inputs, settings.prompt, settings, ctx);
  let choice = await chooseModel(settings, ctx, { dryRun: false });
  const replan = async (c: ModelChoice) => {
    settings = { ...settings, model: c.model };
    plan = await planDescribe(inputs, settings.prompt, settings, ctx, { prepared: plan.images, structured: plan.structured });
  };
  if (choice.source !== 'settings') await replan(choice);
  hooks.onSending?.(choice.model, plan);
  let result: Answered;
  try {
    result = await answerOrCached(plan, settings, ctx);
  } catch (error) {
    const explained = await explainModelNotFound(error, settings, ctx, choice);
    if (explained === error || choice.source !== 'cache') throw explained;
    const fresh = await chooseModel({ ...settings, model: undefined }, ctx, { dryRun: false });
    if (fresh.model === choice.model) throw explained;
    hooks.onRepicked?.(choice.model, fresh.model);
    choice = fresh;
    await replan(choice);
    hooks.onSending?.(choice.model, plan);
    result = await answerOrCached(plan, settings, ctx);
  }
  const structured = plan.structured ? { data: await parseStructured(result.answer, plan.structured) } : undefined;
  return { result, settings, choice, structured };
}
