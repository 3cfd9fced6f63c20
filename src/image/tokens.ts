// Token estimates of what is sent, so --dry-run and --verbose can show the cost before paying it.

/** Claude scales an image whose long edge exceeds 1568 px, or which exceeds ~1,600 tokens (about 1.15 MP), down first. */
const CLAUDE_MAX_EDGE = 1568;
const CLAUDE_MAX_TOKENS = 1600;

/**
 * Anthropic's published rule, tokens ≈ width × height / 750, applied to the size Claude sees:
 * an image past either limit is first scaled down, keeping its aspect ratio, until it is within both.
 */
export function claudeTokens(width: number, height: number): number {
  const s = Math.min(1, CLAUDE_MAX_EDGE / Math.max(width, height), Math.sqrt((CLAUDE_MAX_TOKENS * 750) / (width * height)));
  const w = Math.max(1, Math.round(width * s));
  const h = Math.max(1, Math.round(height * s));
  return Math.min(CLAUDE_MAX_TOKENS, Math.ceil((w * h) / 750));
}

/** OpenAI's tile formula for detail "high": fit 2048², shortest side to 768, 170 per 512² tile + 85. */
export function openaiTokens(width: number, height: number): number {
  let w = width;
  let h = height;
  if (Math.max(w, h) > 2048) {
    const s = 2048 / Math.max(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  if (Math.min(w, h) > 768) {
    const s = 768 / Math.min(w, h);
    w = Math.floor(w * s);
    h = Math.floor(h * s);
  }
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** Gemini 2.x: 258 tokens for an image within 384×384, else 258 per 768×768 tile. */
export function geminiTokens(width: number, height: number): number {
  if (width <= 384 && height <= 384) return 258;
  return 258 * Math.ceil(width / 768) * Math.ceil(height / 768);
}
