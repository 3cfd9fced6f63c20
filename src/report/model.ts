// What the report shows, from batch results files. Pure: lines in, entries and counts out.
import { isAbsolute, resolve } from 'node:path';
import { nestsDeeper } from '../json-depth.ts';

export interface ReportEntry {
  /** The image as the record names it. */
  image: string;
  /** Where to find it: an absolute path, or the URL. */
  location: string;
  remote: boolean;
  ok: boolean;
  /** The caption(s); several with -n. Empty for failures without an answer. */
  captions: string[];
  /** --schema records: the fields. */
  data: unknown;
  model: string | null;
  finishReason: string | null;
  tokens: number | null;
  verdict: string | null;
  /** What the guards removed (chatter, think blocks). */
  removed: string[];
  error: string | null;
  /** --fallback-model answered: why the first model's answer was not used. */
  fallback: string | null;
  /** The results file it came from. */
  source: string;
}

export interface ReportCounts {
  total: number;
  ok: number;
  failed: number;
  verdicts: Record<string, number>;
  tokens: number;
  models: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function tokensOf(usage: unknown): number | null {
  if (!isObj(usage)) return null;
  if (typeof usage.total_tokens === 'number') return usage.total_tokens;
  const p = usage.prompt_tokens ?? usage.input_tokens;
  const c = usage.completion_tokens ?? usage.output_tokens;
  return typeof p === 'number' || typeof c === 'number' ? (typeof p === 'number' ? p : 0) + (typeof c === 'number' ? c : 0) : null;
}

/** One line of a results file as an entry; undefined when it is not a batch record. */
export function entryOf(line: string, base: string, source: string): ReportEntry | undefined {
  let rec: unknown;
  try {
    // Not a record imgdesc wrote, and the page would overflow the stack writing its data out.
    rec = nestsDeeper(line) ? undefined : JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObj(rec) || typeof rec.image !== 'string' || typeof rec.ok !== 'boolean') return undefined;
  const image = rec.image;
  const remote = /^https?:\/\//i.test(image);
  const content = rec.content;
  const captions =
    typeof content === 'string' ? [content] : Array.isArray(content) ? content.filter((c): c is string => typeof c === 'string') : [];
  const error = isObj(rec.error) ? str(rec.error.message) : null;
  return {
    image,
    location: remote || isAbsolute(image) ? image : resolve(base, image),
    remote,
    ok: rec.ok,
    captions,
    data: rec.data,
    model: str(rec.model),
    finishReason: str(rec.finish_reason),
    tokens: tokensOf(rec.usage),
    verdict: str(rec.verdict),
    removed: Array.isArray(rec.removed) ? rec.removed.filter((r): r is string => typeof r === 'string') : [],
    error,
    fallback: isObj(rec.fallback)
      ? `${str(rec.fallback.model) ?? 'the first model'}: ${str(rec.fallback.error) ?? str(rec.fallback.verdict) ?? 'failed'}`
      : null,
    source,
  };
}

export interface ReportInput {
  text: string;
  /** The folder image paths in it are relative to (where the batch ran). */
  base: string;
  source: string;
}

/**
 * The entries of several results files, one per image: a later record for the same image (a rerun
 * appended to the file, or a later file) replaces the earlier one, in the place of the first.
 */
export function collectEntries(inputs: ReportInput[]): { entries: ReportEntry[]; ignored: number } {
  const byImage = new Map<string, ReportEntry>();
  let ignored = 0;
  for (const input of inputs) {
    for (const line of input.text.split('\n')) {
      if (line.trim() === '') continue;
      const e = entryOf(line, input.base, input.source);
      if (!e) ignored++;
      else byImage.set(e.location, e);
    }
  }
  return { entries: [...byImage.values()], ignored };
}

export function countEntries(entries: ReportEntry[]): ReportCounts {
  const verdicts: Record<string, number> = {};
  const models = new Set<string>();
  let ok = 0;
  let tokens = 0;
  for (const e of entries) {
    if (e.ok) ok++;
    if (e.verdict) verdicts[e.verdict] = (verdicts[e.verdict] ?? 0) + 1;
    if (e.model) models.add(e.model);
    tokens += e.tokens ?? 0;
  }
  return { total: entries.length, ok, failed: entries.length - ok, verdicts, tokens, models: [...models].sort() };
}
