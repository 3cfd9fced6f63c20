// `imgdesc alt <docs…>`: alt text where a Markdown or HTML document's images have none.
// --check lists them (exit 1, for CI), --dry-run prints the diff, the default writes in place.
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { ExitCode, OutputError, UsageError } from '../types.ts';
import { formatRetry } from '../ui/render.ts';
import { hintWithDoctor } from '../core/doctor.ts';
import type { AltTodo } from '../core/alt/run.ts';
import type { Factory } from './factory.ts';
import type { alt } from './commands.ts';
import type { OptionsOf } from './spec.ts';
import { costLine, guardLine } from './batch.ts';

/** What `imgdesc alt` takes: its inputs, flags and the settings given as flags (commands.ts). */
export type AltOptions = OptionsOf<typeof alt>;

/** What is wrong with an image's alt text, for --check's list. */
function what(t: AltTodo): string {
  const src = t.image.src.startsWith('data:') ? 'data: URL' : t.image.src;
  if (t.image.state === 'decorative') return `${src}: alt="" (decorative)`;
  if (t.image.state === 'placeholder') return `${src}: placeholder alt text ${JSON.stringify(t.image.alt)}`;
  return `${src}: no alt text`;
}

function maxCharsOf(given: string | undefined): number {
  if (given === undefined) return 125;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 20 || n > 1000) throw new UsageError(`--max-chars ${given}: give a whole number from 20 to 1000`);
  return n;
}

export async function run(options: AltOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  if (options.check && run.dryRun) throw new UsageError('--check and --dry-run: choose one (--check lists, --dry-run shows the diff)');
  if (options.backup && (options.check || run.dryRun)) throw new UsageError('--backup goes with writing (not --check or --dry-run)');
  const maxChars = maxCharsOf(options.maxChars);
  let siteRoot: string | undefined;
  if (options.siteRoot !== undefined) {
    siteRoot = resolve(io.cwd, options.siteRoot);
    const st = await stat(siteRoot).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`--site-root ${options.siteRoot}: ${st ? 'not a folder' : 'no such folder'}`);
  }
  const alt = await import('../core/alt/run.ts');
  const scan = await alt.scanDocs(options.inputs, { cwd: io.cwd, includeDecorative: options.includeDecorative, siteRoot });
  for (const u of scan.unreadable) term.error(`${u.shown}: ${u.reason}`);
  const docCount = new Set(scan.todo.map((t) => t.doc)).size;

  if (options.check) {
    for (const t of scan.todo) io.stdout.write(`${alt.where(t)}: ${what(t)}\n`);
    if (!run.quiet) {
      term.note(
        scan.todo.length
          ? `${scan.todo.length} image(s) without alt text in ${docCount} of ${scan.docs.length} document(s)`
          : `every image in ${scan.docs.length} document(s) has alt text`,
      );
    }
    return scan.todo.length > 0 ? 1 : scan.unreadable.length > 0 ? ExitCode.usage : ExitCode.ok;
  }

  for (const t of scan.todo) if (t.problem) term.error(`${alt.where(t)}: ${t.problem}`);
  const sendable = scan.todo.filter((t) => t.key !== undefined);
  if (sendable.length === 0) {
    if (!run.quiet)
      term.note(
        scan.todo.length
          ? 'no image that needs alt text can be read; nothing sent'
          : `nothing to do: every image in ${scan.docs.length} document(s) has alt text`,
      );
    return scan.todo.length > 0 || scan.unreadable.length > 0 ? ExitCode.partial : ExitCode.ok;
  }

  if (run.dryRun) {
    const { createTwoFilesPatch } = await import('diff');
    const { withAltText } = await import('../core/alt/docs.ts');
    for (const doc of scan.docs) {
      const changes = sendable.filter((t) => t.doc === doc).map((t) => ({ image: t.image, alt: alt.standIn(t) }));
      if (changes.length === 0) continue;
      const name = doc.shown.split('\\').join('/');
      io.stdout.write(
        createTwoFilesPatch(`a/${name}`, `b/${name}`, doc.text, withAltText(doc, changes), undefined, undefined, { context: 3 }),
      );
    }
  }

  const settings = await f.settings(options.settings);
  // The answer cache (an image asked about again is not paid for twice) and the history.
  const coreCtx = await f.context(settings);
  const { settings: chosen } = await f.model(settings, { dryRun: run.dryRun });
  const items = alt.altItems(sendable, { cwd: io.cwd, maxChars, context: options.context });
  term.info(`${sendable.length} image(s) without alt text in ${docCount} document(s); ${items.length} to describe, model ${chosen.model}`);

  const { Progress, summaryLine } = await import('../ui/progress.ts');
  const output = await import('../core/batch-output.ts');
  const { jsonlWriter } = await import('../core/batch.ts');
  const progress = new Progress(io.stderr, {
    live: io.stderrIsTTY && io.env.TERM !== 'dumb',
    quiet: run.quiet,
    dim: (s) => term.err.dim(s),
  });
  const aside = (write: () => void) => {
    progress.clear();
    write();
    progress.redraw();
  };
  const onInterrupt = () => {
    if (!run.quiet && !(io.signal.reason instanceof OutputError))
      aside(() => term.note(term.err.dim('stopping: documents not yet complete are left as they were; Ctrl-C again quits at once')));
  };
  io.signal.addEventListener('abort', onInterrupt, { once: true });
  let sink: import('../core/batch-output.ts').LineSink | undefined;
  let lock: import('../lock.ts').Lock | undefined;
  const outputPath = options.output !== undefined && !run.dryRun ? resolve(io.cwd, options.output) : undefined;
  if (outputPath !== undefined) {
    const { tryLock } = await import('../lock.ts');
    const got = await tryLock(outputPath).catch((err: unknown) => {
      throw new UsageError(`-o ${options.output}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    });
    if ('heldBy' in got) throw new UsageError(`-o ${options.output}: another imgdesc run (pid ${got.heldBy}) is writing to it`);
    lock = got;
    sink = await output.openJsonlFile(outputPath, options.output).catch(async (err: unknown) => {
      await lock?.release();
      throw new UsageError(`-o ${options.output}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    });
  }

  let result: Awaited<ReturnType<typeof alt.runAlt>>;
  if (!run.dryRun) progress.start({ total: items.length, ok: 0, failed: 0, tokens: 0, skipped: 0 });
  try {
    result = await alt.runAlt(
      scan,
      {
        cwd: io.cwd,
        maxChars,
        context: options.context,
        settings: chosen,
        concurrency: chosen.concurrency,
        backup: options.backup,
        dryRun: run.dryRun,
        guards: options.guards,
        writers: sink ? [jsonlWriter(sink)] : [],
      },
      coreCtx,
      {
        onRecord: (rec) => {
          if (!rec.ok && !run.quiet) {
            const at = ((rec.row as { at?: string[] } | undefined)?.at ?? []).join(', ');
            const hint = hintWithDoctor(
              { status: rec.error.status ?? undefined, code: rec.error.code, message: rec.error.message },
              undefined,
            );
            aside(() => term.error(`${rec.image}${at ? ` (${at})` : ''}: ${rec.error.message.replace(`${rec.image}: `, '')}`, hint));
          }
        },
        onProgress: (s) => progress.update({ total: s.total, ok: s.ok, failed: s.failed, skipped: 0, tokens: s.tokens }),
        onDoc: (r) => {
          if (r.reason) aside(() => term.error(`${r.doc.shown}: not written: ${r.reason}`));
          else if (r.written > 0 && !run.quiet)
            aside(() => term.note(`${r.doc.shown}: ${r.written} alt text(s) written${r.backup ? ` (backup ${r.backup})` : ''}`));
        },
        onRetry: (item, e) => {
          if (e.reason === 'HTTP 429') progress.waitFor(e.delayMs);
          if (run.verbose) aside(() => term.info(`${item.image}: ${formatRetry(e)}`));
        },
      },
    );
  } finally {
    io.signal.removeEventListener('abort', onInterrupt);
    progress.stop();
    await sink?.close();
    await lock?.release();
  }
  const s = result.summary;
  const written = result.docs.filter((d) => d.written > 0);
  const lines: string[] = [];
  if (run.dryRun) {
    lines.push(`dry run: ${s.ok} image(s) would be described for ${sendable.length} place(s) in ${docCount} document(s); nothing was sent`);
    if (s.ok > 0) lines.push(costLine(s.ok, s.estimate));
  } else {
    const images = written.reduce((n, d) => n + d.written, 0);
    lines.push(
      `${summaryLine({ total: s.total, ok: s.ok, failed: s.failed, skipped: 0, tokens: s.tokens }, progress.elapsed())}; ${images} alt text(s) written in ${written.length} document(s)`,
    );
    const g = guardLine(s);
    if (g) lines.push(g);
    if (s.cached) lines.push(`${s.cached} answered from the cache, nothing billed for them (--refresh asks again)`);
  }
  progress.finish(lines);
  if (io.signal.reason instanceof OutputError) throw io.signal.reason;
  if (s.interrupted) {
    const stop = f.stop();
    term.note(
      term.err.dim(`${stop.message}: ${written.length} document(s) written; the rest are as they were (run the same command again)`),
    );
    return stop.exitCode;
  }
  if (s.authError) {
    term.error(`${s.authError.message}; stopped`);
    return ExitCode.config;
  }
  const failedPlaces = result.docs.reduce((n, d) => n + d.failed, 0) + scan.todo.filter((t) => t.problem).length;
  return failedPlaces > 0 || scan.unreadable.length > 0 ? ExitCode.partial : ExitCode.ok;
}
