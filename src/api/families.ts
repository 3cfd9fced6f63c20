// What each model family accepts, in one table (docs/config.md "Models"). Pure.
//
// The generic request (max tokens, temperature, n, reasoning effort) is turned into the fields a
// family takes, with a note for everything that was changed or cannot be had, so --dry-run can show
// it. Sources: relays' Claude adaptors drop `response_format` and `n` (one-api
// relay/adaptor/anthropic/main.go ConvertRequest; new-api relay/channel/claude/relay-claude.go), and
// new-api turns `reasoning_effort` into a thinking budget of 1280/2048/4096 tokens, after which
// Anthropic wants max_tokens above the budget and temperature 1; OpenAI's reasoning models (o-series,
// gpt-5) refuse `max_tokens` ("use max_completion_tokens") and a temperature.

export type Effort = 'low' | 'medium' | 'high';

export interface Family {
  name: 'claude' | 'openai-reasoning' | 'openai' | 'gemini' | 'other';
  /** Matched against the id without a `provider/` prefix, lower-cased. */
  test: RegExp;
  tokensField: 'max_tokens' | 'max_completion_tokens';
  temperature: boolean;
  /** Answers `n` > 1 in one request; when false, imgdesc asks once per answer. */
  n: boolean;
  /** `response_format` reaches the model (relays drop it for Claude). */
  responseFormat: boolean;
  /** reasoning_effort → thinking budget in tokens, where a relay makes one. */
  thinkingBudget?: Record<Effort, number>;
}

export const FAMILIES: readonly Family[] = [
  {
    name: 'claude',
    test: /^(anthropic\.)?claude/,
    tokensField: 'max_tokens',
    temperature: true,
    n: false,
    responseFormat: false,
    thinkingBudget: { low: 1280, medium: 2048, high: 4096 },
  },
  {
    name: 'openai-reasoning',
    test: /^(o\d(-|$)|gpt-5(?!-chat))/,
    tokensField: 'max_completion_tokens',
    temperature: false,
    n: true,
    responseFormat: true,
  },
  { name: 'openai', test: /^(gpt-|chatgpt-)/, tokensField: 'max_tokens', temperature: true, n: true, responseFormat: true },
  { name: 'gemini', test: /^(google\/)?gemini/, tokensField: 'max_tokens', temperature: true, n: true, responseFormat: true },
  { name: 'other', test: /(?:)/, tokensField: 'max_tokens', temperature: true, n: true, responseFormat: true },
];

/** `anthropic/claude-sonnet-4.5` → claude. Unknown ids are `other`: sent as given. */
export function modelFamily(model: string): Family {
  const id = model.toLowerCase().replace(/^.*\//, '');
  return FAMILIES.find((f) => f.test.test(id)) ?? (FAMILIES[FAMILIES.length - 1] as Family);
}

export interface GenericRequest {
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  /** Answers wanted (default 1). */
  n?: number | undefined;
  reasoningEffort?: Effort | undefined;
}

export interface FamilyPlan {
  family: Family['name'];
  /** Top-level body fields: max_tokens / max_completion_tokens, temperature, reasoning_effort, n. */
  fields: Record<string, unknown>;
  /** Answers each request asks for (the `n` sent, or 1). */
  perRequest: number;
  /** Answers wanted in all; more requests are made until there are this many. */
  answers: number;
  /** What was changed, for --dry-run and -v. */
  notes: string[];
}

/** Answer tokens on top of a thinking budget when the user set no --max-tokens. */
export const ANSWER_TOKENS_AFTER_THINKING = 1024;

export function adaptRequest(model: string, req: GenericRequest): FamilyPlan {
  const family = modelFamily(model);
  const notes: string[] = [];
  const fields: Record<string, unknown> = {};
  let maxTokens = req.maxTokens;
  let temperature = req.temperature;
  const answers = Math.max(1, req.n ?? 1);

  const budget = req.reasoningEffort ? family.thinkingBudget?.[req.reasoningEffort] : undefined;
  if (budget !== undefined) {
    if (maxTokens === undefined || maxTokens <= budget) {
      const raised = budget + (maxTokens ?? ANSWER_TOKENS_AFTER_THINKING);
      notes.push(`max_tokens ${raised}: above the ${budget}-token thinking budget of reasoning_effort ${req.reasoningEffort}`);
      maxTokens = raised;
    }
    if (temperature !== undefined && temperature !== 1) {
      notes.push(`temperature ${temperature} not sent: Claude thinking accepts only 1`);
      temperature = undefined;
    }
  }
  if (!family.temperature && temperature !== undefined) {
    notes.push(`temperature ${temperature} not sent: ${family.name} models refuse it`);
    temperature = undefined;
  }
  if (maxTokens !== undefined) {
    fields[family.tokensField] = maxTokens;
    if (family.tokensField !== 'max_tokens') notes.push(`--max-tokens sent as ${family.tokensField}`);
  }
  if (temperature !== undefined) fields.temperature = temperature;
  if (req.reasoningEffort) fields.reasoning_effort = req.reasoningEffort;
  let perRequest = 1;
  if (answers > 1) {
    if (family.n) {
      fields.n = answers;
      perRequest = answers;
    } else {
      notes.push(`n not sent (relays drop it for ${family.name}): ${answers} requests, one answer each`);
    }
  }
  return { family: family.name, fields, perRequest, answers, notes };
}

/**
 * Models known not to take an image in a chat request, with what they are: sending them one only
 * gets an upstream error (DeepSeek's `unknown variant image_url`, a 500 for dall-e-3), never an
 * answer. Matched like FAMILIES, on the id without a `provider/` prefix, lower-cased.
 */
const NO_IMAGES: readonly { test: RegExp; what: string }[] = [
  { test: /^(dall-e|gpt-image|imagen|flux|stable-diffusion|sdxl|midjourney|mj[-_])/, what: 'an image-generation model' },
  { test: /(^|-)embed(ding)?s?(-|$)|^text-embedding|^bge-|^jina-embed/, what: 'an embedding model' },
  { test: /^(tts|whisper|gpt-4o(-mini)?-(transcribe|tts)|speech-)/, what: 'a speech model' },
  { test: /rerank/, what: 'a reranking model' },
  {
    test: /^(deepseek-(chat|reasoner|coder|v\d)|gpt-3\.5|text-davinci|davinci|babbage|o1-mini|o3-mini|claude-(2|instant)|qwen-(turbo|plus|max|long|coder)(-|$)|glm-4(-|$)|moonshot-v1-\d+k$|kimi-k2)/,
    what: 'a text-only model',
  },
];

/** What `model` is when it is known to take no images (`a text-only model`), else undefined. */
export function takesNoImages(model: string): string | undefined {
  const id = model.toLowerCase().replace(/^.*\//, '');
  return NO_IMAGES.find((n) => n.test.test(id))?.what;
}
