// --dry-run's cost preview: what a batch would send, in tokens, before paying for it. Pure.
import { modelFamily } from '../api/index.ts';
import { claudeTokens, geminiTokens, openaiTokens } from '../image/index.ts';

/** Image tokens by the model family's own published formula (others: Claude's, as an estimate). */
export function imageTokens(model: string, width: number, height: number, detail: string | undefined): number {
  const family = modelFamily(model).name;
  if (family === 'openai' || family === 'openai-reasoning') return detail === 'low' ? 85 : openaiTokens(width, height);
  if (family === 'gemini') return geminiTokens(width, height);
  return claudeTokens(width, height);
}

/** Which formula imageTokens uses for a model, in words. */
export function formulaName(model: string): string {
  const family = modelFamily(model).name;
  if (family === 'openai' || family === 'openai-reasoning') return "OpenAI's 512-px tile formula";
  if (family === 'gemini') return "Gemini's 768-px tile formula";
  return family === 'claude'
    ? "Claude's width × height / 750 after its resize"
    : "Claude's width × height / 750 after its resize, as an estimate for this model";
}

/** Text tokens, roughly: a CJK character is about one token, other text about four characters per token. */
export function textTokens(text: string): number {
  const cjk = text.match(/[\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff]/g)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

export interface RequestEstimate {
  imageTokens: number;
  promptTokens: number;
  /** max_tokens (or max_completion_tokens) × answers asked for; null when no cap is set. */
  outputCap: number | null;
}

type Body = { model?: unknown; messages?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown; n?: unknown };

/** The estimate of one planned request, from its body and the sizes of the images it carries. */
export function estimateRequest(body: Body, images: Array<{ width: number; height: number }>): RequestEstimate {
  const model = typeof body.model === 'string' ? body.model : '';
  let prompt = 0;
  let detail: string | undefined;
  for (const m of Array.isArray(body.messages) ? (body.messages as Array<{ content?: unknown }>) : []) {
    prompt += 4; // role and message framing
    if (typeof m.content === 'string') prompt += textTokens(m.content);
    else if (Array.isArray(m.content)) {
      for (const part of m.content as Array<{ type?: string; text?: string; image_url?: { detail?: string } }>) {
        if (part.type === 'text' && typeof part.text === 'string') prompt += textTokens(part.text);
        if (part.type === 'image_url') detail = part.image_url?.detail ?? detail;
      }
    }
  }
  const cap =
    typeof body.max_tokens === 'number'
      ? body.max_tokens
      : typeof body.max_completion_tokens === 'number'
        ? body.max_completion_tokens
        : null;
  const n = typeof body.n === 'number' ? body.n : 1;
  return {
    imageTokens: images.reduce((sum, i) => sum + imageTokens(model, i.width, i.height, detail), 0),
    promptTokens: prompt,
    outputCap: cap === null ? null : cap * n,
  };
}
