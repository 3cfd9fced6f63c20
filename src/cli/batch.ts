// `imgdesc batch <inputs...>`: many images, one request each, JSON lines out as each finishes.
import { resolve } from 'node:path';
import { lstat, stat } from 'node:fs/promises';
import { formatCount } from '../format.ts';
import { tryLock, type Lock } from '../lock.ts';
import { isImageExtension, outputKind, RefusedFileError, refusal } from '../core/safe-files.ts';
import { outputMatcher, withoutOwnFiles } from '../core/batch-inputs.ts';
import { jsonSafe, visible } from '../safe-text.ts';
import { ExitCode, InterruptedError, OutputError, UsageError } from '../types.ts';
import { formatImageReport, formatRetry } from '../ui/render.ts';
import { checkSource, listSource, shardItems, type SourceOptions } from './items.ts';
import { describeShard, resolveShard, shardOutput } from '../core/shard.ts';
import type { Factory } from './factory.ts';
import { downLimitMs, gracefulStop, hungMinMs } from './stop.ts';
import type { batch } from './commands.ts';
import type { OptionsOf } from './spec.ts';
import type { BatchEstimate, BatchSummary } from '../core/batch.ts';
import { errorHint, hintWithDoctor } from '../core/doctor.ts';
import type { ExistingMode } from '../core/caption.ts';
import type { ProgressCounts } from '../ui/progress.ts';

/** What `imgdesc batch` takes: its inputs, flags and the settings given as flags (commands.ts). */
export type BatchOptions = OptionsOf<typeof batch>;
/** The same with a bare --sidecar as the extension it means (txt) and `-o -` as stdout (none). */
type Given = Omit<BatchOptions, 'sidecar'> & { sidecar: string | undefined };

/** `-o` that is a folder, unreadable or unwritable: a usage error, not a bug. */
function cannotOpen(output: string | undefined, err: unknown): never {
  throw new UsageError(`-o ${output ?? ''}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
}

/** Takes the -o file's lock, or refuses with exit 2 naming the pid of the batch that holds it. */
async function lockOutput(path: string, shown: string): Promise<Lock> {
  const got = await tryLock(path).catch((err: unknown) => cannotOpen(shown, err));
  if ('heldBy' in got) {
    if (got.host !== undefined)
      throw new UsageError(`-o ${shown}: an imgdesc batch on ${got.host} (pid ${got.heldBy}) is writing to it`, {
        hint: `if none runs there any more, remove ${got.path}`,
      });
    throw new UsageError(`-o ${shown}: another imgdesc batch (pid ${got.heldBy}) is writing to it`, {
      hint: `wait for it to finish, or stop it (kill ${got.heldBy}); a lock left by a run that was killed is taken over`,
    });
  }
  return got;
}

/** What the progress line shows, from the flow's own tallies. */
function countsOf(s: Pick<BatchSummary, 'total' | 'ok' | 'failed' | 'skipped' | 'tokens'>): ProgressCounts {
  return { total: s.total, ok: s.ok, failed: s.failed, skipped: Object.values(s.skipped).reduce((a, b) => a + b, 0), tokens: s.tokens };
}

/**
 * What to say when the inputs name no file at all: an empty folder, a glob that matches nothing
 * and an empty list are all "nothing to do" (exit 0), said in terms of what was given.
 */
export function emptyBatchMessage(o: Pick<SourceOptions, 'inputs' | 'filesFrom' | 'recursive' | 'manifest'>): string {
  if (o.manifest !== undefined) return `${o.manifest}: no rows; nothing to describe`;
  const given = o.inputs.map((i) => `'${i}'`);
  if (o.filesFrom !== undefined) given.push(`the list ${o.filesFrom === '-' ? 'on stdin' : o.filesFrom}`);
  const globOnly = o.inputs.length > 0 && o.inputs.every((i) => /[*?[\]{}]/.test(i));
  const hint = o.recursive || o.inputs.length === 0 || globOnly ? '' : ' (folders are read one level deep; -r descends into sub-folders)';
  return `no files in ${given.join(', ')}; nothing to describe${hint}`;
}

export async function run(given: BatchOptions, f: Factory): Promise<number> {
  // `-o -` is stdout, as for curl and tar
  const options: Given = {
    ...given,
    sidecar: given.sidecar === true ? 'txt' : given.sidecar,
    output: given.output === '-' ? undefined : given.output,
  };
  const { run, io, term } = f;
  checkSource(options, 'batch');
  const existing = existingMode(options);
  const photo = photoMode(options);
  if (options.join !== undefined && options.prefix === undefined && options.suffix === undefined)
    throw new UsageError('--join goes with --prefix or --suffix');
  if (options.fallbackModel !== undefined && options.fallbackModel.trim() === '') throw new UsageError('--fallback-model: give a model id');
  if (options.settings['sidecar-name'] !== undefined && options.sidecar === undefined)
    throw new UsageError('--sidecar-name goes with --sidecar');
  if (options.sidecar !== undefined && !/^\.?[\w.-]+$/.test(options.sidecar)) {
    throw new UsageError(`--sidecar ${options.sidecar}: not a file extension`);
  }
  if (options.sidecar !== undefined && isImageExtension(options.sidecar))
    throw new UsageError(`--sidecar ${options.sidecar}: an image extension; the sidecars would replace pictures`, {
      hint: 'captions usually go in .txt (a bare --sidecar)',
    });

  const { readPromptFlags } = await import('./prompt-source.ts');
  const flags = await readPromptFlags(options.settings, run, io, options.filesFrom === '-' ? 'the --files-from list' : undefined);
  let settings = await f.settings(flags);
  if (settings.schema !== undefined && (options.prefix !== undefined || options.suffix !== undefined)) {
    throw new UsageError('--prefix and --suffix go with text captions, not --schema', {
      hint: "put the trigger word into the schema's caption field in a later step, or drop --schema",
    });
  }
  if (options.fallbackModel !== undefined && options.fallbackModel === settings.model)
    throw new UsageError(`--fallback-model ${options.fallbackModel} is the model already used`);
  const { readResumeIndex } = await import('../core/batch-resume.ts');
  const { jsonlWriter, runBatchFlow } = await import('../core/batch.ts');
  const { Progress, summaryLine } = await import('../ui/progress.ts');

  const { checkRelay } = await import('../core/describe.ts');
  for (const w of checkRelay(settings, run.dryRun)) term.warn(w);

  const shard = resolveShard({ shard: options.shard, shardCount: options.shardCount, env: io.env });
  const outFile = options.output !== undefined ? shardOutput(options.output, shard) : undefined;
  const outputPath = outFile !== undefined ? resolve(io.cwd, outFile) : undefined;
  // A device or FIFO (/dev/stdout, a named pipe) as -o holds nothing to resume, and no lock beside
  // it; a link to a file (or a folder) is refused before anything is read through it.
  const outKind =
    outputPath !== undefined
      ? outputKind(await lstat(outputPath).catch(() => undefined), await stat(outputPath).catch(() => undefined))
      : undefined;
  if (typeof outKind === 'object')
    throw new RefusedFileError(refusal(outKind.refused, `-o ${outFile}`) as string, 'refused-file', 'give -o a new file name');
  const resumable = outputPath !== undefined && (outKind === 'new' || outKind === 'file');
  // Read while the inputs are listed: for 100,000 images each takes seconds.
  const unlisted = new AbortController();
  const reading = resumable ? readResumeIndex(outputPath, io.cwd, AbortSignal.any([io.signal, unlisted.signal])) : undefined;
  reading?.catch(() => {}); // awaited below, once the listing went well
  const listed = await listSource(options, io).catch((err: unknown) => {
    unlisted.abort();
    throw err;
  });
  if (listed.duplicates > 0) term.warn(`${options.manifest}: ${listed.duplicates} repeated row(s) left out`);
  const isOutput = outputMatcher(options.output !== undefined ? resolve(io.cwd, options.output) : undefined);
  const items = await shardItems(withoutOwnFiles(listed.items, { sidecar: options.sidecar, isOutput }), shard);
  if (shard) term.info(`${describeShard(shard)}: ${items.length} of ${listed.items.length} image(s)`);
  const resume = await reading?.catch((err: unknown) => (err instanceof InterruptedError ? Promise.reject(err) : cannotOpen(outFile, err)));
  const concurrency = settings.concurrency;
  const coreCtx = await f.context(settings);
  let choice: import('../core/models.ts').ModelChoice | undefined;
  if (items.length > 0) ({ settings, choice } = await f.model(settings, { dryRun: run.dryRun }));
  term.info(
    `${items.length} image(s), concurrency ${concurrency}, model ${settings.model}, base URL ${settings.baseUrl ?? 'none'}` +
      (resume?.size ? `, ${resume.size} already recorded ok in ${outFile}` : ''),
  );
  if (items.length === 0) {
    if (shard) term.info(`shard ${shard.index}/${shard.count} has no images`);
    else if (!run.quiet) term.warn(emptyBatchMessage(options));
    return ExitCode.ok;
  }

  const progress = new Progress(io.stderr, {
    live: io.stderrIsTTY && io.env.TERM !== 'dumb',
    quiet: run.quiet,
    dim: (s) => term.err.dim(s),
  });

  // A result line on the same terminal as the live line: erase the line, write, draw it again.
  const sharesTerminal = io.stdoutIsTTY && progress.live;
  const aside = (write: () => void) => {
    progress.clear();
    write();
    progress.redraw();
  };
  // The first Ctrl-C stops new requests and waits for the answers in flight (stop.ts).
  let pace: import('../core/batch.ts').PaceView | undefined;
  const stop = gracefulStop(io, (line) => {
    if (!run.quiet) aside(() => term.note(term.err.dim(line(pace?.inFlight() ?? 0))));
  });
  progress.setPace(() => {
    if (!pace) return {};
    const stopping = stop.line(pace.inFlight());
    if (stopping !== undefined) return { stopping };
    return { rate: pace.achieved(), limit: pace.limit(), waitingMs: pace.holdingMs() };
  });

  let sink: import('../core/batch-output.ts').LineSink;
  let lock: Lock | undefined;
  const output = await import('../core/batch-output.ts');
  if (outputPath !== undefined && !run.dryRun) {
    // One batch at a time per -o file: a second one would describe every image again.
    if (resumable) lock = await lockOutput(outputPath, outFile ?? '');
    let file: import('../core/batch-output.ts').JsonlFile;
    try {
      file = await output.openJsonlFile(outputPath, outFile, !resumable);
    } catch (err) {
      await lock?.release();
      if (err instanceof UsageError) throw err;
      cannotOpen(outFile, err);
    }
    sink = file;
    const torn = resume ? resume.torn - (file.repaired > 0 ? 1 : 0) : 0;
    if (file.repaired > 0)
      term.warn(`${outFile}: removed an incomplete last line (${file.repaired} bytes) left by an earlier run that was stopped mid-write`);
    if (torn > 0) term.info(`${outFile}: ignored ${torn} line(s) that are not whole records`);
  } else {
    sink = sharesTerminal
      ? output.streamSink(
          io.stdout,
          'stdout',
          () => progress.clear(),
          () => progress.redraw(),
        )
      : output.streamSink(io.stdout);
  }

  let summary;
  if (!run.dryRun) progress.start({ total: items.length, ok: 0, failed: 0, tokens: 0, skipped: 0 });
  try {
    summary = await runBatchFlow(
      {
        items,
        prompt: settings.prompt,
        settings,
        concurrency,
        resume,
        sidecar: options.sidecar !== undefined ? { ext: options.sidecar, naming: settings.sidecarName } : undefined,
        hfMetadata: options.hfMetadata,
        photo,
        existing,
        caption: { prefix: options.prefix, suffix: options.suffix, join: options.join },
        guards: options.guards,
        fallbackModel: options.fallbackModel,
        dryRun: run.dryRun,
        keepResponse: run.json,
        shard: shard?.index,
        writers: [jsonlWriter(sink)],
        raw: run.raw,
        quit: stop.quit,
        downLimitMs: downLimitMs(io.env),
        hungMinMs: hungMinMs(io.env),
      },
      coreCtx,
      {
        onRecord: async (rec) => {
          if (!rec.ok && !run.quiet) {
            const msg = rec.error.message.startsWith(rec.image) ? rec.error.message : `${rec.image}: ${rec.error.message}`;
            const hint = hintWithDoctor(
              { status: rec.error.status ?? undefined, code: rec.error.code, message: rec.error.message },
              undefined,
            );
            aside(() => term.error(msg, hint));
          }
        },
        onSkip: (item, reason) => {
          if (reason === 'not-image') term.info(`${item.image}: not an image, skipped`);
        },
        onProgress: (s) => progress.update(countsOf(s)),
        onPlanned: (item, image, _plan, writes) => {
          const r = image.report;
          if (run.json) {
            io.stdout.write(
              jsonSafe(
                JSON.stringify({
                  image: item.image,
                  mime: image.mime,
                  width: r.widthOut ?? r.widthIn,
                  height: r.heightOut ?? r.heightIn,
                  bytes: r.bytesOut ?? r.bytesIn,
                  estimated_tokens: r.estimatedTokens,
                }),
              ) + '\n',
            );
          } else {
            io.stdout.write(formatImageReport({ ...r, source: item.image }) + '\n');
          }
          for (const w of writes) term.note(term.err.dim(`  would write ${visible(w)}`));
        },
        // Per-image notes (resized, first frame only) would be one line per photo in a folder of
        // phone pictures: shown with -v only. Image warnings already name their file.
        onWarning: (item, message) => {
          if (run.verbose) aside(() => term.warn(message.startsWith(item.image) ? message : `${item.image}: ${message}`));
        },
        onRetry: (item, e) => {
          if (e.reason === 'HTTP 429') progress.waitFor(e.delayMs);
          if (run.verbose) aside(() => term.info(`${item.image}: ${formatRetry(e)}`));
        },
        onPace: (c) => {
          if (run.verbose) aside(() => term.info(`pace: ${c.text}`));
        },
        onPacer: (view) => {
          pace = view;
        },
      },
    );
  } finally {
    stop.dispose();
    progress.stop();
    await sink.close();
    await lock?.release();
  }

  const s = summary;
  if (s.modelNotFound && !run.dryRun) {
    const models = await import('../core/models.ts');
    if (choice?.source === 'cache') {
      // The relay retired the cached pick: forget it, so the next run picks again from a fresh list.
      await models.forgetPick(settings, coreCtx);
      term.warn(`${choice.model} is gone from the relay; the cached pick was forgotten: rerun to pick another`);
    } else if (settings.model) {
      term.warn(`${await models.missingModelLine(settings, coreCtx, settings.model)} (${models.HOW_TO_CHOOSE})`);
    }
  }
  const detail = [
    s.skipped.done ? `${s.skipped.done} already done` : '',
    s.skipped.sidecar ? `${s.skipped.sidecar} with a sidecar` : '',
    s.skipped.captioned ? `${s.skipped.captioned} already in metadata.jsonl` : '',
    s.skipped.described ? `${s.skipped.described} already described` : '',
    s.skipped['not-image'] ? `${s.skipped['not-image']} not images` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const counts = countsOf(s);
  const lines = [
    run.dryRun
      ? `dry run: ${s.ok} image(s) would be sent, ${s.failed} failed, ${counts.skipped} skipped${detail ? ` (${detail})` : ''}; nothing was sent`
      : summaryLine(counts, progress.elapsed(), detail) + (s.cutOff ? `; ${s.cutOff} cut off at the token limit (raise --max-tokens)` : ''),
  ];
  if (!run.dryRun) {
    if (s.cached) lines.push(`${s.cached} answered from the cache, nothing billed for them (--refresh asks again)`);
    const g = guardLine(s);
    if (g) lines.push(g);
    const p = paceSummary(s, settings.concurrency);
    if (p) lines.push(p);
  } else if (s.ok > 0) lines.push(costLine(s.ok, s.estimate));
  if (run.verbose && !run.dryRun) {
    lines.push(
      term.err.dim(
        `most requests in flight: ${s.peakInFlight}; 429s: ${s.rateLimited}; lowest concurrency: ${s.lowestConcurrency}; most images prepared and waiting: ${s.peakPrepared}`,
      ),
    );
  }
  progress.finish(lines);

  // stdout failed (processIO stopped the batch): exit 6 with the cause, not "interrupted"
  if (io.signal.reason instanceof OutputError) throw io.signal.reason;
  if (s.interrupted) {
    const done = s.ok + s.failed + counts.skipped;
    const how =
      outputPath !== undefined || options.sidecar !== undefined || options.hfMetadata || photo !== undefined
        ? 'run the same command again to resume'
        : 'results so far went to stdout; use -o results.jsonl (or --sidecar) to make a batch resumable';
    const stop = f.stop();
    term.note(term.err.dim(`${stop.message} after ${done} of ${s.total}; ${how}`));
    return stop.exitCode;
  }
  if (s.authError) {
    term.error(`${s.authError.message}; stopped the batch`, errorHint(s.authError));
    return ExitCode.config;
  }
  if (s.relayDown) {
    const done = s.ok + s.failed + counts.skipped;
    term.error(`${s.relayDown.message}; stopped the batch after ${done} of ${s.total}`, s.relayDown.hint);
    return ExitCode.api;
  }
  return s.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

/**
 * What the relay allowed, when it held the batch back, and the flags that fit it:
 * `relay: 23 answers were 429; it allowed about 20 requests/s (--max-rps 19 fits)`.
 */
export function paceSummary(s: Pick<BatchSummary, 'rateLimited' | 'learned'>, concurrency: number): string {
  if (s.rateLimited === 0 && s.learned.rate === undefined && s.learned.concurrency === undefined) return '';
  const parts = [`relay: ${s.rateLimited} answer${s.rateLimited === 1 ? ' was' : 's were'} 429`];
  const fits: string[] = [];
  if (s.learned.rate !== undefined) {
    const r = s.learned.rate;
    parts.push(`it allowed about ${r >= 10 ? r.toFixed(0) : r.toFixed(1)} requests/s`);
    fits.push(`--max-rps ${Math.max(0.1, Math.floor(r * 10) / 10)}`);
  }
  if (s.learned.concurrency !== undefined && s.learned.concurrency < concurrency) {
    parts.push(`${s.learned.concurrency} at once`);
    fits.push(`-c ${s.learned.concurrency}`);
  }
  return parts.join('; ') + (fits.length ? ` (${fits.join(' ')} fits it)` : '');
}

/** --existing, with --overwrite as its synonym; it needs somewhere captions already are. */
function existingMode(o: Pick<Given, 'existing' | 'overwrite' | 'sidecar' | 'hfMetadata' | 'xmp' | 'embed'>): ExistingMode {
  if (o.overwrite && o.existing !== undefined && o.existing !== 'overwrite')
    throw new UsageError(`--overwrite and --existing ${o.existing} disagree`);
  const mode = o.existing ?? (o.overwrite ? 'overwrite' : 'skip');
  if ((o.overwrite || o.existing !== undefined) && o.sidecar === undefined && !o.hfMetadata && !o.xmp && !o.embed) {
    throw new UsageError(`${o.overwrite ? '--overwrite' : '--existing'} goes with --sidecar, --hf-metadata, --xmp or --embed`);
  }
  return mode;
}

/** --xmp or --embed (not both: --embed already puts RAW descriptions into sidecars). */
function photoMode(
  o: Pick<Given, 'xmp' | 'xmpName' | 'embed' | 'backup'>,
): { mode: 'xmp' | 'embed'; naming: 'ext' | 'stem'; backup: boolean } | undefined {
  if (o.xmp && o.embed) throw new UsageError('--xmp and --embed: choose one (--embed writes RAW descriptions to sidecars anyway)');
  if (!o.backup && !o.embed) throw new UsageError('--no-backup goes with --embed');
  if (o.xmpName !== undefined && !o.xmp && !o.embed) throw new UsageError('--xmp-name goes with --xmp or --embed');
  if (!o.xmp && !o.embed) return undefined;
  // --xmp-name full (photo.jpg.xmp) is what the metadata layer calls ext
  return { mode: o.xmp ? 'xmp' : 'embed', naming: o.xmpName === 'stem' ? 'stem' : 'ext', backup: o.backup };
}

/** What the guards did: "guards: 2 refused, 1 empty, 3 chatter removed; fallback model answered 2 of 3". */
export function guardLine(s: Pick<BatchSummary, 'verdicts' | 'fallbacks'>): string {
  const v = s.verdicts;
  const parts = [
    v.refused ? `${v.refused} refused` : '',
    v.empty ? `${v.empty} empty` : '',
    v.truncated ? `${v.truncated} cut off` : '',
    v.chatter ? `${v.chatter} with chatter removed` : '',
  ].filter(Boolean);
  const fb = s.fallbacks.sent ? `fallback model answered ${s.fallbacks.ok} of ${s.fallbacks.sent}` : '';
  if (!parts.length && !fb) return '';
  return [parts.length ? `guards: ${parts.join(', ')}` : '', fb].filter(Boolean).join('; ');
}

const n = formatCount;

/** "cost: 12 images to send, ≈18,400 input tokens (17,200 image + 1,200 prompt), output cap 3,600 tokens (12 × 300)". */
export function costLine(images: number, e: BatchEstimate): string {
  const input = `≈${n(e.imageTokens + e.promptTokens)} input tokens (${n(e.imageTokens)} for images by ${e.formula}, ${n(e.promptTokens)} for prompts)`;
  const capped = images - e.uncapped;
  const cap =
    e.uncapped === 0
      ? `output cap ${n(e.outputCap)} tokens (${capped} × ${n(Math.round(e.outputCap / Math.max(1, capped)))})`
      : `no output cap set (the model's own limit applies; --max-tokens sets one)`;
  const unsized = e.unsized ? `; ${e.unsized} URL image(s) of unknown size not counted` : '';
  return `cost: ${images} image(s) to send, ${input}, ${cap}${unsized}`;
}
