// Choosing a model from the relay's own list (docs/config.md "Models"). Pure.
//
// One ranked table of vision-capable model lines: an id is vision-capable when a line matches it,
// the first matching line is its rank, and within a line the newest version, then the newest date,
// wins (a dated id over its undated alias; a preview or experimental build after a stable one).
import { takesNoImages } from './families.ts';

interface Line {
  label: string;
  /** Matched against the lower-cased id without a `provider/` prefix. Groups: `v`/`v2` version, `date`. */
  re: RegExp;
}

const DATE8 = '(?:-(?<date>\\d{8}))?';
const ISO_DATE = '(?:-(?<date>\\d{4}-\\d{2}-\\d{2}))?';
const PREVIEW = '(?<pre>-preview(?:-\\d{2}-\\d{2})?|-exp(?:-\\d{4})?)?';

export const VISION_RANKING: readonly Line[] = [
  // The seed's family first: claude-sonnet-4-5-20250929, claude-3-7-sonnet-20250219, claude-sonnet-4.5
  { label: 'Claude Sonnet', re: new RegExp(`^claude-(?:(?<v>\\d(?:[-.]\\d)?)-sonnet|sonnet-(?<v2>\\d(?:[-.]\\d)?))${DATE8}(?:-latest)?$`) },
  { label: 'GPT-4.1', re: new RegExp(`^gpt-(?<v>4\\.1)${ISO_DATE}$`) },
  { label: 'GPT-4o', re: new RegExp(`^(?:chatgpt|gpt)-(?<v>4)o${ISO_DATE}(?:-latest)?$`) },
  { label: 'Gemini Pro/Flash', re: new RegExp(`^gemini-(?<v>\\d(?:\\.\\d)?)-(?:pro|flash)${PREVIEW}(?:-latest|-\\d{3})?$`) },
  { label: 'Claude Opus', re: new RegExp(`^claude-(?:(?<v>\\d(?:[-.]\\d)?)-opus|opus-(?<v2>\\d(?:[-.]\\d)?))${DATE8}(?:-latest)?$`) },
  { label: 'GPT-5', re: new RegExp(`^gpt-(?<v>5(?:\\.\\d)?)${ISO_DATE}$`) },
  { label: 'Claude Haiku', re: new RegExp(`^claude-(?:(?<v>\\d(?:[-.]\\d)?)-haiku|haiku-(?<v2>\\d(?:[-.]\\d)?))${DATE8}(?:-latest)?$`) },
  { label: 'GPT-4.1/4o mini', re: new RegExp(`^gpt-(?<v>4\\.1|4o)-mini${ISO_DATE}$`) },
  { label: 'Gemini Flash-Lite', re: new RegExp(`^gemini-(?<v>\\d(?:\\.\\d)?)-flash-lite${PREVIEW}(?:-\\d{3})?$`) },
  { label: 'GPT-5 mini', re: new RegExp(`^gpt-(?<v>5(?:\\.\\d)?)-mini${ISO_DATE}$`) },
  { label: 'o-series', re: new RegExp(`^(?<v>o[134]|o4-mini)${ISO_DATE}$`) },
  { label: 'Qwen VL', re: /^qwen(?<v>\d(?:\.\d)?)?-vl-(?:max|plus)(?:-latest|-(?<date>\d{4}-\d{2}-\d{2}))?$/ },
  { label: 'GLM-4V', re: /^glm-(?<v>4(?:\.\d)?)v(?:-plus|-flash)?(?:-(?<date>\d{4}))?$/ },
  { label: 'Grok vision', re: /^grok-(?<v>\d)(?:-vision)?(?:-(?<date>\d{4}))?(?:-latest)?$/ },
];

export interface Rank {
  /** Index into VISION_RANKING: lower is better. */
  line: number;
  label: string;
  version: number[];
  /** Digits of the date, '' when undated. */
  date: string;
  preview: boolean;
}

function bareId(id: string): string {
  return id.toLowerCase().replace(/^.*\//, '');
}

/** Where an id stands in the table, or null when it is not known to see images. */
export function rankModel(id: string): Rank | null {
  const bare = bareId(id);
  for (let line = 0; line < VISION_RANKING.length; line++) {
    const entry = VISION_RANKING[line] as Line;
    const m = entry.re.exec(bare);
    if (!m) continue;
    const g = m.groups ?? {};
    const v = g.v ?? g.v2 ?? '';
    return {
      line,
      label: entry.label,
      version: (v.match(/\d+/g) ?? []).map(Number),
      date: (g.date ?? '').replace(/\D/g, ''),
      preview: g.pre !== undefined,
    };
  }
  return null;
}

export function isVisionModel(id: string): boolean {
  return rankModel(id) !== null;
}

/** Negative when a is the better pick. */
function compareRanks(a: Rank, b: Rank): number {
  if (a.line !== b.line) return a.line - b.line;
  for (let i = 0; i < Math.max(a.version.length, b.version.length); i++) {
    const d = (b.version[i] ?? 0) - (a.version[i] ?? 0);
    if (d !== 0) return d;
  }
  if (a.preview !== b.preview) return a.preview ? 1 : -1;
  if (a.date !== b.date) {
    if (a.date === '') return 1;
    if (b.date === '') return -1;
    return a.date < b.date ? 1 : -1;
  }
  return 0;
}

/** The best vision-capable id the relay lists, or undefined when it lists none the table knows. */
export function pickModel(ids: readonly string[]): string | undefined {
  let best: { id: string; rank: Rank } | undefined;
  for (const id of [...ids].sort()) {
    const rank = rankModel(id);
    if (rank && (!best || compareRanks(rank, best.rank) < 0)) best = { id, rank };
  }
  return best?.id;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The ids most like `wanted` (edit distance on the bare ids), at most `k`: the vision-capable ones
 * first, then ids the tables do not know; never one known to take no images (`gpt4o` must not
 * suggest dall-e-3: it would fail as surely as the typo).
 */
export function closestModels(wanted: string, ids: readonly string[], k = 3): string[] {
  const w = bareId(wanted);
  return [...new Set(ids)]
    .filter((id) => takesNoImages(id) === undefined)
    .map((id) => ({ id, tier: isVisionModel(id) ? 0 : 1, d: distance(w, bareId(id)) }))
    .sort((a, b) => a.tier - b.tier || a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, k)
    .map((x) => x.id);
}
