// `imgdesc log`: the history of answers (core/history.ts), latest first to last, one per line;
// `log show ID` for one in full; `log clear`.
import { formatCount } from '../format.ts';
import { jsonSafe, visible, visibleBlock } from '../safe-text.ts';
import { UsageError, ExitCode, type IO } from '../types.ts';
import type { Factory } from './factory.ts';
import type { log, logClear, logShow } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc log`, `log show` and `log clear` take (commands.ts). */
export type LogOptions = OptionsOf<typeof log>;
export type LogShowOptions = OptionsOf<typeof logShow>;
export type LogClearOptions = OptionsOf<typeof logClear>;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from now (`30m`, `2h`, `3d`, `1w`) or a date (`2026-12-01`, `2026-12-01T09:30`). Pure. */
export function parseSince(text: string, now: number): number | null {
  const t = text.trim();
  const d = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(t);
  if (d) return now - Number(d[1]) * (UNIT_MS[(d[2] ?? '').toLowerCase()] ?? 0);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return null;
  // A date alone is local midnight (Date.parse would take it as UTC).
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00`) : Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

/** `2026-12-07 11:02`, local time. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Outside text (answers, paths, model ids, errors) on one line: controls shown escaped (visible), a tab as a space. */
const oneLine = (text: string): string => visible(text).replace(/\t/g, ' ');

/** `…/photos/IMG_0001.jpg`: the end of a long name, which tells photos apart. */
function shortenLeft(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `…${chars.slice(chars.length - max + 1).join('')}`;
}

function shortenRight(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

type Rec = import('../core/history.ts').HistoryRecord;

/** One record as one line: id, time, image, model, tokens, the answer's first line (or the error). */
export function formatLine(r: Rec, width: number | undefined): string {
  const tokens = r.cached ? 'cached' : r.tokens?.total != null ? `${formatCount(r.tokens.total)} tok` : '-';
  const said = r.ok ? ((r.answer ?? '').trim().split('\n')[0] ?? '') : `error: ${r.error?.message ?? 'failed'}`;
  const head = `${r.id}  ${localTime(r.time)}  ${oneLine(shortenLeft(r.image, 40))}  ${oneLine(r.model ?? '-')}  ${tokens}  `;
  const rest = oneLine(said);
  return width ? head + shortenRight(rest, Math.max(20, width - [...head].length)) : head + rest;
}

/** One record in full, for `log show`. */
export function formatRecord(r: Rec): string {
  const t = r.tokens;
  const rows: [string, string | undefined][] = [
    ['id', r.id],
    ['time', `${localTime(r.time)} (${r.time})`],
    ['command', r.command],
    ['image', r.images ? r.images.join(', ') : r.image],
    ['path', r.path],
    ['sha256', r.sha256 ?? undefined],
    ['model', r.model ?? undefined],
    [
      'tokens',
      t
        ? `${t.total ?? '?'} (${t.prompt ?? '?'} prompt + ${t.completion ?? '?'} completion)${r.cached ? ', cached: nothing billed' : ''}`
        : undefined,
    ],
    ['duration', r.duration_ms !== null ? `${r.duration_ms} ms${r.cached ? ' (the original request)' : ''}` : undefined],
    ['finish', r.finish_reason ?? undefined],
    ['system', r.system],
    ['prompt', r.prompt],
    ['error', r.error ? `${r.error.message}${r.error.code ? ` (${r.error.code})` : ''}` : undefined],
  ];
  const lines = rows.filter((x): x is [string, string] => x[1] !== undefined).map(([k, v]) => `${`${k}:`.padEnd(10)}${oneLine(v)}`);
  if (r.answer !== undefined) lines.push('', visibleBlock(r.answer.replace(/\r\n?/g, '\n')));
  return lines.join('\n') + '\n';
}

async function openHistory(io: IO) {
  const { History } = await import('../core/history.ts');
  const { stateDir } = await import('../config/model-cache.ts');
  return new History(stateDir(io.env));
}

export async function run(options: LogOptions, f: Factory): Promise<number> {
  const { io } = f;
  const limit = options.limit === undefined ? 20 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`-n ${options.limit}: not a count (0 lists every record)`);
  let since: number | undefined;
  if (options.since !== undefined) {
    const s = parseSince(options.since, Date.now());
    if (s === null)
      throw new UsageError(`--since ${options.since}: not a time`, {
        hint: 'a duration back from now (30m, 2h, 3d, 1w) or a date (2026-12-01, 2026-12-01T09:30)',
      });
    since = s;
  }
  for (const [flag, v] of [
    ['--model', options.model],
    ['--image', options.image],
    ['--search', options.search],
  ] as const) {
    if (v !== undefined && v === '') throw new UsageError(`${flag}: empty`);
  }
  let image = options.image;
  if (image !== undefined && !/^[0-9a-f]{6,64}$/i.test(image) && !/^[a-z]+:/i.test(image)) {
    // A file named as it is here is found under its absolute path, from any folder it was described in.
    const { resolve } = await import('node:path');
    const { existsSync } = await import('node:fs');
    const abs = resolve(io.cwd, image);
    if (existsSync(abs)) image = abs;
  }
  const history = await openHistory(io);
  const records = history.records({
    limit,
    since,
    model: options.model,
    image,
    search: options.search,
    ok: options.failed ? false : undefined,
  });
  const { term } = f;
  const width = io.stdoutIsTTY ? (io.stdout.columns ?? 80) : undefined;
  const out = term.out;
  // Written as they are read, 64 KiB at a time, waiting for a slow reader of a pipe: `-n 0` over a
  // million records is never all in memory.
  const { streamSink } = await import('../core/batch-output.ts');
  const sink = streamSink(io.stdout);
  let text = '';
  let shown = 0;
  for await (const r of records) {
    if (options.json) text += `${jsonSafe(JSON.stringify(r))}\n`;
    else {
      const line = formatLine(r, width);
      text += `${r.ok ? line.replace(r.id, out.dim(r.id)) : out.red(line)}\n`;
    }
    shown++;
    if (text.length >= 64 * 1024) {
      await sink.write(text);
      text = '';
    }
  }
  if (text) await sink.write(text);
  if (shown === 0 && !options.json) {
    const stats = await history.stats();
    term.note(term.err.dim(stats.bytes === 0 ? `no history yet (${stats.file})` : 'no record matches'));
  }
  return ExitCode.ok;
}

export async function runShow({ id, json }: LogShowOptions, f: Factory): Promise<number> {
  const { io } = f;
  if (!/^[0-9a-z]{4,}$/.test(id)) throw new UsageError(`${id}: not a history id`, { hint: 'imgdesc log lists them in the first column' });
  const history = await openHistory(io);
  const found = await history.find(id);
  if (found.length === 0) throw new UsageError(`${id}: no such record in the history`, { hint: 'imgdesc log lists them' });
  if (found.length > 1) throw new UsageError(`${id}: ${found.length} records start with it; give more of the id`);
  const r = found[0] as Rec;
  io.stdout.write(json ? jsonSafe(JSON.stringify(r)) + '\n' : formatRecord(r));
  return ExitCode.ok;
}

export async function runClear(options: LogClearOptions, f: Factory): Promise<number> {
  const { io } = f;
  const history = await openHistory(io);
  const { bytes } = await history.stats();
  if (bytes === 0) {
    io.stderr.write('the history is empty\n');
    return ExitCode.ok;
  }
  if (!options.yes) {
    if (!io.stdinIsTTY) throw new UsageError('log clear: emptying the history needs --yes');
    const { confirm } = await import('../ui/prompt.ts');
    if (!(await confirm(io, `Empty the history (${history.file})?`, false))) return ExitCode.ok;
  }
  const done = await history.clear();
  io.stderr.write(`removed ${done.records} record(s) from ${history.file}\n`);
  return ExitCode.ok;
}
