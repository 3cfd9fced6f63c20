// How doctor's checklist and model table look. Pure: strings out.
import type { ChalkInstance } from 'chalk';
import { visible } from '../safe-text.ts';

interface CheckView {
  id: string;
  verdict: 'pass' | 'fail' | 'skip';
  finding: string;
  fix?: string | undefined;
  details?: string[] | undefined;
}

const TITLES: Record<string, string> = {
  config: 'configuration',
  'base-url': 'base URL',
  token: 'token',
  models: 'models',
  probe: 'vision probe',
  quota: 'quota',
  proxy: 'proxy',
};

/** `✓ base URL      relay.example.com reachable, TLS valid` per check; `fix:` under each failure; details with -v. */
export function formatDoctor(checks: CheckView[], c: ChalkInstance, verbose: boolean): string {
  const width = Math.max(...checks.map((x) => (TITLES[x.id] ?? x.id).length));
  const lines: string[] = [];
  for (const check of checks) {
    const mark = check.verdict === 'pass' ? c.green('✓') : check.verdict === 'fail' ? c.red('✗') : c.dim('–');
    const title = (TITLES[check.id] ?? check.id).padEnd(width);
    // Findings quote the relay (its messages, its model ids): shown escaped.
    lines.push(`${mark} ${c.bold(title)}  ${visible(check.finding)}`);
    const indent = ' '.repeat(width + 4);
    if (check.details && (verbose || check.id === 'config')) for (const d of check.details) lines.push(`${indent}${c.dim(visible(d))}`);
    if (check.verdict === 'fail' && check.fix) lines.push(`${indent}${c.yellow('fix:')} ${visible(check.fix)}`);
  }
  return lines.join('\n') + '\n';
}

export interface ModelRowView {
  model: string;
  works: boolean;
  latency_ms: number;
  error: string | null;
}

/** model | images | latency | error, one row per probed model, the working ones first. */
export function formatModelTable(rows: ModelRowView[], c: ChalkInstance): string {
  const sorted = [...rows].sort(
    (a, b) => Number(b.works) - Number(a.works) || a.latency_ms - b.latency_ms || a.model.localeCompare(b.model),
  );
  const shown = new Map(rows.map((r) => [r, { model: visible(r.model), error: r.error === null ? '' : visible(r.error) }]));
  const w = Math.max(5, ...[...shown.values()].map((r) => r.model.length));
  const head = `${'model'.padEnd(w)}  images  latency  error`;
  const body = sorted.map((r) => {
    const works = r.works ? c.green('✓ yes ') : c.red('✗ no  ');
    const latency = `${r.latency_ms} ms`.padStart(7);
    const s = shown.get(r) as { model: string; error: string };
    return `${s.model.padEnd(w)}  ${works}  ${latency}  ${s.error}`.trimEnd();
  });
  return [c.bold(head), ...body].join('\n') + '\n';
}
