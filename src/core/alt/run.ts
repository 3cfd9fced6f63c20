// `imgdesc alt`: documents in, alt text written where it was missing. Finds the images (find.ts),
// describes each distinct image once through the batch flow (the same concurrency, pacing, guards
// and records as `imgdesc batch`), and writes each document as soon as all its images are
// answered: atomically, only the alt text's bytes changed, read back before it is written.
import { relative } from 'node:path';
import type { Settings } from '../../config/settings.ts';
import type { BatchItem } from '../batch-inputs.ts';
import type { BatchCallbacks, BatchSummary, BatchWriter } from '../batch.ts';
import type { CoreContext } from '../describe.ts';
import type { FoundImage } from './find.ts';
import { imageSource, insideRoots, listDocs, readDoc, verifyAltText, withAltText, writeDoc, type ReadDoc } from './docs.ts';
import { altPrompt, answerToAlt, sourceName } from './text.ts';

export interface AltScanOptions {
  cwd: string;
  /** --include-decorative: HTML's `alt=""` is described too. */
  includeDecorative: boolean;
  /** --site-root: where `/img/a.png` is. */
  siteRoot?: string | undefined;
}

/** One image that needs alt text, where it is, and what it is. */
export interface AltTodo {
  doc: ReadDoc;
  image: FoundImage;
  /** What is described: a path, a URL or a data: URL (the same key for the same image). */
  key?: string;
  source?: string;
  url?: boolean;
  /** Why it cannot be described (a site path without --site-root, outside the folders, …). */
  problem?: string;
}

export interface AltScan {
  docs: ReadDoc[];
  todo: AltTodo[];
  /** Documents that could not be read, and why. */
  unreadable: { shown: string; reason: string }[];
}

/** `README.md:12:3`: where an image is, as editors and CI annotations read it. */
export function where(t: Pick<AltTodo, 'doc' | 'image'>): string {
  return `${t.doc.shown}:${t.image.line}:${t.image.column}`;
}

/** The documents and every image in them whose alt text is missing or a placeholder. */
export async function scanDocs(inputs: readonly string[], opts: AltScanOptions): Promise<AltScan> {
  const files = await listDocs(inputs, opts.cwd);
  const docs: ReadDoc[] = [];
  const unreadable: AltScan['unreadable'] = [];
  const todo: AltTodo[] = [];
  // Images are read from inside the working folder (and the site root): a document cannot send
  // ~/.ssh/id_ed25519.png to the relay by naming ../../.ssh/…
  const roots = [opts.cwd, ...(opts.siteRoot !== undefined ? [opts.siteRoot] : [])];
  for (const f of files) {
    let doc: ReadDoc;
    try {
      doc = await readDoc(f);
    } catch (err) {
      unreadable.push({ shown: f.shown, reason: err instanceof Error ? err.message.replace(`${f.shown}: `, '') : String(err) });
      continue;
    }
    docs.push(doc);
    for (const image of doc.images) {
      if (image.state === 'ok' || (image.state === 'decorative' && !opts.includeDecorative)) continue;
      const src = imageSource(image.src, doc.path, opts.siteRoot);
      if (!src.ok) {
        todo.push({ doc, image, problem: src.reason });
        continue;
      }
      if (!src.url && !src.source.startsWith('data:') && !(await insideRoots(src.source, roots))) {
        todo.push({
          doc,
          image,
          problem: `${image.src}: outside the working folder${opts.siteRoot !== undefined ? ' and --site-root' : ''}; not read`,
        });
        continue;
      }
      todo.push({ doc, image, key: src.key, source: src.source, url: src.url });
    }
  }
  return { docs, todo, unreadable };
}

export interface AltPlanOptions {
  cwd: string;
  maxChars: number;
  /** --no-context: the prompt says nothing of the document. */
  context: boolean;
}

/**
 * One batch item per distinct image (the same file or URL in two places, or two documents, is
 * described once), with the prompt made from where it first appears.
 */
export function altItems(todo: readonly AltTodo[], opts: AltPlanOptions): BatchItem[] {
  const items = new Map<string, BatchItem>();
  for (const t of todo) {
    if (t.key === undefined || t.source === undefined) continue;
    const seen = items.get(t.key);
    if (seen) {
      (seen.row as { at: string[] }).at.push(where(t));
      continue;
    }
    const isData = t.source.startsWith('data:');
    const shown = t.url || isData ? (isData ? `data:… (${where(t)})` : t.source) : relative(opts.cwd, t.source) || t.source;
    items.set(t.key, {
      image: shown,
      key: t.key,
      explicit: true,
      url: t.url === true,
      ...(isData ? { source: t.source } : {}),
      prompt: altPrompt(opts.maxChars, opts.context ? t.image.context : undefined),
      row: { at: [where(t)] },
    });
  }
  return [...items.values()];
}

/** `--dry-run`'s stand-in for alt text nobody has written yet. */
export function standIn(t: Pick<AltTodo, 'image'>): string {
  return `(alt text for ${sourceName(t.image.src) || 'this image'})`;
}

export interface DocResult {
  doc: ReadDoc;
  /** The images given alt text. */
  written: number;
  /** Images that got none (their item failed or could not be read). */
  failed: number;
  /** Set when the document was not written. */
  reason?: string;
  backup?: string;
}

export interface AltRunOptions extends AltPlanOptions {
  settings: Settings;
  concurrency: number;
  backup: boolean;
  dryRun: boolean;
  guards: boolean;
  writers: BatchWriter[];
}

export interface AltRunCallbacks extends BatchCallbacks {
  /** A document was written (or, with nothing to write, left alone) once all its images were answered. */
  onDoc?(r: DocResult): void;
}

/**
 * Describes the distinct images and writes each document as soon as all of its images are
 * answered. A document whose images are not all answered when the run stops (Ctrl-C, exit) is
 * left exactly as it was.
 */
export async function runAlt(
  scan: AltScan,
  opts: AltRunOptions,
  ctx: CoreContext,
  cb: AltRunCallbacks,
): Promise<{ summary: BatchSummary; docs: DocResult[] }> {
  const { runBatchFlow } = await import('../batch.ts');
  const items = altItems(scan.todo, opts);
  const answers = new Map<string, string>();
  const settled = new Set<string>();
  const results: DocResult[] = [];
  const byDoc = new Map<ReadDoc, AltTodo[]>();
  for (const t of scan.todo) byDoc.set(t.doc, [...(byDoc.get(t.doc) ?? []), t]);
  const pending = new Set(byDoc.keys());

  const finish = async (doc: ReadDoc, todo: AltTodo[]) => {
    pending.delete(doc);
    const changes = todo.flatMap((t) => {
      const alt = t.key !== undefined ? answers.get(t.key) : undefined;
      return alt !== undefined ? [{ image: t.image, alt }] : [];
    });
    const r: DocResult = { doc, written: 0, failed: todo.length - changes.length };
    if (changes.length > 0) {
      const next = withAltText(doc, changes);
      const wrong = await verifyAltText(doc, next, changes);
      if (wrong) r.reason = `the edit did not read back as written (${wrong}); left as it is`;
      else {
        const w = await writeDoc(doc, next, { backup: opts.backup });
        if (w.written) {
          r.written = changes.length;
          if (w.backup) r.backup = w.backup;
        } else r.reason = w.reason;
      }
      if (r.reason) r.failed = todo.length;
    }
    results.push(r);
    cb.onDoc?.(r);
  };
  const ready = async () => {
    for (const doc of [...pending]) {
      if (!pending.has(doc)) continue; // finished by another record's call while this one waited
      const todo = byDoc.get(doc) ?? [];
      if (todo.every((t) => t.key === undefined || settled.has(t.key))) await finish(doc, todo);
    }
  };

  // Documents whose images all have problems are done before anything is sent.
  if (!opts.dryRun) await ready();
  const summary = await runBatchFlow(
    {
      items,
      prompt: '',
      settings: opts.settings,
      concurrency: opts.concurrency,
      dryRun: opts.dryRun,
      keepResponse: false,
      guards: opts.guards,
      writers: opts.writers,
      command: 'alt',
      shape: (text) => {
        const a = answerToAlt(text, opts.maxChars);
        return a.ok ? { ok: true, text: a.alt } : a;
      },
    },
    ctx,
    {
      ...cb,
      onRecord: async (rec, item) => {
        await cb.onRecord?.(rec, item);
        if (opts.dryRun) return;
        if (rec.ok && typeof rec.content === 'string') answers.set(item.key, rec.content);
        settled.add(item.key);
        await ready();
      },
    },
  );
  return { summary, docs: results };
}
