// `imgdesc [describe] <image> [prompt]`: one request, the answer on stdout.
import type { Profile } from '../config/store.ts';
import type { Settings } from '../config/settings.ts';
import { jsonSafe } from '../safe-text.ts';
import { ExitCode, UsageError } from '../types.ts';
import { formatImageReport, formatRequest, formatRetry, formatUsage, formatDuration } from '../ui/render.ts';
import type { RetryEvent } from '../core/describe.ts';
import type { Factory } from './factory.ts';
import type { describe } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** The image, the prompt, `-i` images, the flags and the settings given as flags (commands.ts). */
export type DescribeOptions = OptionsOf<typeof describe>;

/** The image layer's note for a resize, `photo.jpg: resized 4000x3000 → 1568x1176`. */
const RESIZE_NOTE = /: resized \d+x\d+ → \d+x\d+$/;

export async function run(options: DescribeOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  const images = [options.image, ...options.extra];
  if (options.prompt !== undefined && options.settings.prompt !== undefined) {
    throw new UsageError('give the prompt either as the second argument or with -p, not both');
  }
  let flags: Profile = { ...options.settings };
  if (options.prompt !== undefined) {
    if (run.promptFile !== undefined) throw new UsageError('give the prompt either as the second argument or with --prompt-file, not both');
    flags.prompt = options.prompt;
  }
  if (images.includes('-') && io.stdinIsTTY) {
    throw new UsageError('stdin is a terminal: pipe an image into imgdesc -', {
      hint: 'imgdesc - < photo.jpg, or curl -s URL | imgdesc -',
    });
  }
  const { readPromptFlags } = await import('./prompt-source.ts');
  flags = await readPromptFlags(flags, run, io, images.includes('-') ? 'the image' : undefined);
  const settings = await f.settings(flags);
  const core = await import('../core/describe.ts');
  for (const w of core.checkRelay(settings, run.dryRun)) term.warn(w);
  term.info(describeSettings(settings));

  const ctx = {
    ...(await f.context(settings)),
    onNote: (message: string) => term.warn(message),
    onRetry: (e: RetryEvent) => {
      spinner.text(formatRetry(e));
      term.info(formatRetry(e));
    },
  };
  const spinner = await term.spinner(images.length > 1 ? `Preparing ${images.length} images` : 'Preparing image');
  try {
    const [ask, { HOW_TO_CHOOSE }] = await Promise.all([import('../core/ask.ts'), import('../core/models.ts')]);
    const planned = await ask.planAsk(images, settings, ctx, async (s) => (await f.model(s, { dryRun: run.dryRun })).choice);
    const { plan } = planned;
    for (const img of plan.images) {
      // A resize is routine (every phone photo is larger than --max-edge): -v shows it in the report line.
      for (const w of img.warnings) if (!(img.report.resized && RESIZE_NOTE.test(w))) term.warn(w);
      if (run.verbose || run.dryRun) term.note(term.err.dim(formatImageReport(img.report)));
    }
    if ((run.dryRun || run.verbose) && planned.choice.source !== 'none') {
      const fam = plan.family;
      term.note(term.err.dim(`model family ${fam.family}${fam.notes.length ? `: ${fam.notes.join('; ')}` : ''}`));
    }
    if (run.dryRun) {
      spinner.stop();
      const shown = core.redactPlan(plan, planned.settings.token);
      io.stdout.write(run.json ? JSON.stringify(shown, null, 2) + '\n' : formatRequest(shown));
      return ExitCode.ok;
    }
    const started = Date.now();
    const asked = await ask.sendAsk(
      planned,
      ctx,
      { command: 'describe', images },
      {
        onSending: (model) => spinner.text(`Asking ${model}`),
        onRepicked: (from, to) => term.warn(`${from} is gone from the relay: using ${to} (${HOW_TO_CHOOSE})`),
      },
    );
    spinner.stop();
    const { result } = asked;
    const { answer, response } = result;
    if (result.cached && !run.quiet)
      term.note(term.err.dim(`answered from the cache (asked ${formatWhen(result.cached.at)}; --refresh asks again)`));

    const reasoning = answer.reasoning;
    if (reasoning && (settings.showReasoning || run.verbose) && !run.quiet) {
      term.block(reasoning.trim());
    }
    term.info(
      [
        `${response.status} in ${formatDuration(Date.now() - started)}`,
        response.attempts > 1 ? `${response.attempts} attempts` : '',
        response.requestId ? `request id ${response.requestId}` : '',
        answer.model ? `model ${answer.model}` : '',
        formatUsage(answer.usage) ?? '',
      ]
        .filter(Boolean)
        .join(', '),
    );
    if (core.isCutOff(answer.finishReason)) {
      term.warn(`the answer was cut off (finish_reason: ${answer.finishReason}); raise --max-tokens for a complete one`);
    }

    if (run.json) {
      const raw = response.rawText;
      // The body as received, but with C1 and bidi controls in its strings written as \u escapes.
      const safe = jsonSafe(raw);
      io.stdout.write(safe.endsWith('\n') || !io.stdoutIsTTY ? safe : safe + '\n');
      // The answer as received is out; a schema it fails still decides the exit code.
      if (plan.structured) await core.parseStructured(answer, plan.structured);
      return ExitCode.ok;
    }
    const structured = plan.structured ? { data: await core.parseStructured(answer, plan.structured) } : undefined;
    io.stdout.write(core.answerText(answer, structured, run.raw, io.stdoutIsTTY));
    return ExitCode.ok;
  } finally {
    spinner.stop();
  }
}

/** `2026-12-07 11:02`, local time. */
function formatWhen(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function describeSettings(s: Settings): string {
  const from = (k: keyof Settings['sources']) => (s.sources[k] ? ` (${s.sources[k]})` : '');
  return `profile ${s.profile}, base URL ${s.baseUrl ?? 'none'}${from('base-url')}, model ${s.model ?? 'to be picked'}${from('model')}, token ${s.token ? 'set' : 'missing'}${from('token')}`;
}
