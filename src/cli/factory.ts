// The one factory: what every command needs, built once and the same way. Settings (flags →
// IMGDESC_* → profile → OPENAI_* → defaults, then a token-command), the model (set, or picked from
// the relay's list and cached), the core context (stdin, cwd, the abort signal, where the system's
// libheif is looked up, the cache folder, --dry-run) and the terminal. describe, batch, map, models, doctor,
// init and report take it from here; none builds its own, so a fix here is a fix for all.
import { cacheDir } from '../config/model-cache.ts';
import type { Settings } from '../config/settings.ts';
import type { Profile } from '../config/store.ts';
import type { CoreContext } from '../core/describe.ts';
import type { ModelChoice } from '../core/models.ts';
import { InterruptedError, UsageError, type IO } from '../types.ts';
import { Term } from '../ui/term.ts';
import type { RunFlags } from './options.ts';
import type { ChosenProfile } from './settings.ts';

export interface Factory {
  readonly io: IO;
  readonly run: RunFlags;
  /** Colour, spinner, warnings and errors on stderr, as -q, -v, --no-color and --json say. */
  readonly term: Term;
  /** What core needs of the outside world; commands add their own callbacks (onRetry…). */
  readonly core: CoreContext;
  /** The settings of this run: these flags over the environment, the profile and the defaults. */
  settings(flags: Profile): Promise<Settings>;
  /** The same, with the profile they came from (doctor and init speak of it). */
  resolve(flags: Profile): Promise<{ settings: Settings; profile: ChosenProfile }>;
  /**
   * The model to use: the one set, else the pick cached for this relay, else one picked now from
   * the relay's list (and cached); said on stderr when it was picked. `--dry-run` asks nothing.
   */
  model(settings: Settings, opts: { dryRun: boolean }): Promise<{ settings: Settings; choice: ModelChoice }>;
  /**
   * Core context with the answer cache and history of these settings (none for --dry-run, which
   * sends nothing and so learns nothing); --refresh without the cache is a usage error.
   */
  context(settings: Settings): Promise<CoreContext>;
  /** What stopped the run (Ctrl-C 130, SIGTERM 143, SIGHUP 129), as an error with that exit code. */
  stop(): InterruptedError;
}

export function makeFactory(io: IO, run: RunFlags): Factory {
  const term = new Term(io, { quiet: run.quiet, verbose: run.verbose, noColor: run.noColor, json: run.json });
  const core: CoreContext = {
    stdin: io.stdin,
    cwd: io.cwd,
    signal: io.signal,
    searchPath: io.env.PATH,
    cacheDir: cacheDir(io.env),
    dryRun: run.dryRun,
    ...(io.exiftool ? { exiftool: io.exiftool } : {}),
  };
  return {
    io,
    run,
    term,
    core,
    // loaded when asked for: version, completion and config path need no settings
    resolve: async (flags) => (await import('./settings.ts')).loadSettings(flags, run, io.env, io.signal, (w) => term.warn(w)),
    settings: async (flags) =>
      (await import('./settings.ts')).loadSettings(flags, run, io.env, io.signal, (w) => term.warn(w)).then((r) => r.settings),
    async model(settings, opts) {
      const models = await import('../core/models.ts');
      const choice = await models.chooseModel(settings, core, opts);
      if (choice.source === 'relay')
        term.warn(`no model set: using ${choice.model}, picked from the relay's list (${models.HOW_TO_CHOOSE})`);
      else if (choice.source === 'none') term.note("model: none set; it will be picked from the relay's model list when sent");
      else if (choice.source === 'cache') term.info(`model ${choice.model} (picked earlier from the relay's list)`);
      return { settings: choice.source === 'settings' ? settings : { ...settings, model: choice.model }, choice };
    },
    async context(settings) {
      if (run.refresh && !settings.cache)
        throw new UsageError('--refresh asks again and stores the answer: it does not go with --no-cache');
      if (run.dryRun) return core;
      const { openMemory } = await import('../core/answers.ts');
      return { ...core, memory: openMemory(io.env, settings, { refresh: run.refresh, onNote: (m) => term.warn(m) }) };
    },
    stop: () => stopOf(io.signal),
  };
}

/** The stop a signal's abort reason names; a plain abort is Ctrl-C's. */
export function stopOf(signal: AbortSignal): InterruptedError {
  return signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
}
