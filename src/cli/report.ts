// `imgdesc report <results.jsonl...> [-o report.html] [--link]`: an HTML gallery of a batch's results.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReadCapError, readFileCapped } from '../read-capped.ts';
import { CliError, ExitCode, InterruptedError, UsageError } from '../types.ts';
import type { Factory } from './factory.ts';
import type { report } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc report` takes: its results files and flags (commands.ts). */
export type ReportOptions = OptionsOf<typeof report>;

const MAX_INPUT = 50 * 1024 * 1024;
/** A results file is read whole for the page; V8 cannot hold a string much past 512 MiB. */
const MAX_RESULTS = 256 * 1024 * 1024;

export async function run(options: ReportOptions, f: Factory): Promise<number> {
  const { io, term } = f;
  if (options.results.length === 0) throw new UsageError('no results files: give the JSONL files that imgdesc batch wrote (-o)');
  const { collectEntries, countEntries } = await import('../report/model.ts');
  const inputs = [];
  for (const file of options.results) {
    const path = resolve(io.cwd, file);
    let text: string;
    try {
      text = (await readFileCapped(path, { max: MAX_RESULTS, signal: io.signal })).toString('utf8');
    } catch (err) {
      if (err instanceof ReadCapError)
        throw new UsageError(`${file}: larger than 256 MiB; split it (imgdesc report a.jsonl b.jsonl …) or use --link`);
      if (err instanceof InterruptedError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a results file' : `cannot read (${code ?? String(err)})`}`,
      );
    }
    inputs.push({ text, base: io.cwd, source: file });
  }
  const { entries, ignored } = collectEntries(inputs);
  if (entries.length === 0) {
    throw new UsageError(`${options.results.join(', ')}: no batch records found`, {
      hint: 'imgdesc batch photos/ -o results.jsonl writes them',
    });
  }
  if (ignored) term.warn(`ignored ${ignored} line(s) that are not batch records`);
  // Paths are relative to where the batch ran; when that was the results file's folder, look there.
  for (const e of entries) {
    if (e.remote || isAbsolute(e.image) || existsSync(e.location)) continue;
    const beside = resolve(dirname(resolve(io.cwd, e.source)), e.image);
    if (existsSync(beside)) e.location = beside;
  }

  const outPath = options.output !== undefined ? resolve(io.cwd, options.output) : undefined;
  const { makeThumbs } = await import('../report/thumbs.ts');
  const { renderReport } = await import('../report/html.ts');
  const spinner = await term.spinner(`Making thumbnails of ${entries.length} image(s)`);
  let html: string;
  try {
    const { previewBytes } = await import('../core/preview.ts');
    const decode = (path: string) =>
      previewBytes(path, { maxEdge: 512, maxInputBytes: MAX_INPUT, searchPath: f.core.searchPath, signal: io.signal });
    const thumbs = await makeThumbs(entries, {
      link: options.link,
      pageDir: outPath ? dirname(outPath) : io.cwd,
      maxInputBytes: MAX_INPUT,
      signal: io.signal,
      decode,
    });
    const missing = thumbs.filter((t) => 'none' in t && t.none === 'image not found').length;
    if (missing) term.warn(`${missing} image(s) not found; the report shows their captions without a picture`);
    const counts = countEntries(entries);
    html = renderReport(entries, thumbs, counts, {
      title: options.title ?? `imgdesc report: ${options.results.join(', ')}`,
      generated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      linked: options.link,
    });
  } finally {
    spinner.stop();
  }
  if (outPath === undefined) {
    io.stdout.write(html);
    return ExitCode.ok;
  }
  const { writeFileAtomic } = await import('../core/batch-output.ts');
  try {
    await writeFileAtomic(outPath, html);
  } catch (err) {
    throw new CliError(`-o ${options.output}: cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`, ExitCode.output);
  }
  // Where the page is: a file: URL most terminals open on a click.
  if (!f.run.quiet) {
    const n = entries.length;
    term.note(`wrote ${options.output}, ${n} ${n === 1 ? 'image' : 'images'}: ${pathToFileURL(outPath).href}`);
  }
  return ExitCode.ok;
}
