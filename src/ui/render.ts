// Renderers: how results and reports look. Pure functions returning strings.
import { formatBytes } from '../format.ts';
import { visible } from '../safe-text.ts';
import type { ImageReport } from '../types.ts';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const dims = (w: number | null, h: number | null) => (w !== null && h !== null ? `${w}x${h}` : '?');

/** One line per image for -v and --dry-run: what came in, what goes out, and why. */
export function formatImageReport(r: ImageReport): string {
  const source = visible(r.source);
  if (r.notFetched === 'pass-url') return `${source}: URL passed through as given (--pass-url: the relay fetches it)`;
  if (r.notFetched === 'dry-run') return `${source}: URL not fetched (--dry-run); when sent, it is fetched and prepared here`;
  const before = `${r.sourceType ?? '?'} ${dims(r.widthIn, r.heightIn)} ${r.bytesIn === null ? '' : formatBytes(r.bytesIn)}`.trim();
  const done: string[] = [];
  if (r.decoder) done.push(`decoded by ${r.decoder}`);
  if (r.unchanged) done.push('sent unchanged');
  if (r.rotated) done.push(`rotated upright (EXIF orientation ${r.orientation})`);
  if (r.resized) done.push('resized');
  if (r.converted) done.push('converted');
  else if (r.reencoded) done.push('re-encoded');
  if (r.metadataStripped) done.push('metadata stripped');
  if (r.animated) done.push('first frame only');
  if (r.quality !== null) done.push(`quality ${r.quality}`);
  const after = r.unchanged ? '' : ` → ${dims(r.widthOut, r.heightOut)} ${r.bytesOut === null ? '' : formatBytes(r.bytesOut)}`.trimEnd();
  const tokens = [
    r.estimatedTokens !== null ? `≈${r.estimatedTokens} tokens (Claude)` : '',
    r.openaiTokens !== null ? `${r.openaiTokens} tokens (OpenAI, detail high)` : '',
  ].filter(Boolean);
  return `${source}: ${before}${after} (${done.join(', ')})${tokens.length ? `, ${tokens.join(', ')}` : ''}`;
}

/** The dry-run view: request line, headers, then the body. */
export function formatRequest(req: { method: string; url: string; headers: Record<string, string>; body: unknown }): string {
  const head = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`);
  return [`${req.method} ${req.url}`, ...head, '', JSON.stringify(req.body, null, 2), ''].join('\n');
}

export function formatUsage(usage: unknown): string | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as Record<string, unknown>;
  const parts = ['prompt_tokens', 'completion_tokens', 'total_tokens']
    .filter((k) => typeof u[k] === 'number')
    .map((k) => `${k.replace('_tokens', '')} ${String(u[k])}`);
  return parts.length ? `tokens: ${parts.join(', ')}` : null;
}

/**
 * The spinner's text while waiting to retry. `attempt` is the attempt about to be made, counted
 * from 1 like `maxAttempts`, so "attempt 2 of 3" is the first retry of `--retries 2`.
 */
export function formatRetry(e: { attempt: number; maxAttempts: number; retry: number; delayMs: number; reason: string }): string {
  // A wait on a 429 or an outage in a batch uses no retry: its attempt may go beyond the count, and
  // the batch's pace decides when it goes again.
  if (e.retry === 0)
    return e.delayMs > 0
      ? `${e.reason}; waiting ${formatDuration(e.delayMs)} for the rate limit (attempt ${e.attempt}, no retry used)`
      : `${e.reason}; sent again at the batch's pace (attempt ${e.attempt}, no retry used)`;
  return `${e.reason}; retrying in ${formatDuration(e.delayMs)} (attempt ${e.attempt} of ${e.maxAttempts})`;
}
