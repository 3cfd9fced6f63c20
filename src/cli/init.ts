// `imgdesc init`: a guided first run, like `gh auth login`. Every question has a flag, so scripts
// run it without a terminal; without one, a missing answer is exit 2 naming the flag.
import { cleanToken } from '../config/keys.ts';
import { chooseProfile, maskToken, resolveSettings, type Settings } from '../config/settings.ts';
import { ProfileStore } from '../config/store.ts';
import type { ModelList } from '../core/doctor-run.ts';
import { visible } from '../safe-text.ts';
import { CliError, ExitCode, UsageError } from '../types.ts';
import { ask, confirm } from '../ui/prompt.ts';
import type { Factory } from './factory.ts';
import type { init } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** A token is a few hundred bytes; stdin past this is not one (`< /dev/zero` must not fill memory). */
const MAX_TOKEN_BYTES = 64 * 1024;

/** What `imgdesc init` takes: --yes, --no-probe and the settings given as flags (commands.ts). */
export type InitOptions = OptionsOf<typeof init>;

/** Wrong answers typed at the terminal are asked again, this many times in all. */
const ATTEMPTS = 3;

export async function run(options: InitOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  const c = term.err;
  const interactive = io.stdinIsTTY && io.stderrIsTTY;
  const store = await ProfileStore.open(io.env);
  const { name: profile, explicit } = chooseProfile(run.profile, io.env, store.activeName());
  const current = store.profile(profile) ?? {};
  // The profile being written, with this run's flags on top; the environment is left out on purpose:
  // init saves what the user answers, not what happens to be exported.
  const base: Settings = resolveSettings({ flags: options.settings, env: {}, profileName: profile, profile: current });
  const ctx = f.core;
  const core = await import('../core/doctor-run.ts');
  const doctor = await import('../core/doctor.ts');
  const { normalizeBaseUrl } = await import('../core/describe.ts');
  const { isVisionModel, pickModel, closestModels, resolveEndpoints } = await import('../api/index.ts');

  // The bracket note is for someone who can press Enter: not for a run without a terminal.
  const brackets = current['base-url'] && io.stdinIsTTY ? ' (current values in brackets; Enter keeps them)' : '';
  term.note(c.bold(`Setting up profile ${profile}`) + c.dim(brackets));

  /** The answer to one question: its flag, else the terminal, else the default with --yes, else exit 2. */
  const answer = async (q: {
    what: string;
    flag: string;
    given: string | undefined;
    def: string | undefined;
    prompt: string;
  }): Promise<string> => {
    if (q.given !== undefined) return q.given;
    if (interactive) {
      for (;;) {
        const a = await ask(io, q.def ? `${q.prompt} [${q.def}]: ` : `${q.prompt}: `, { default: q.def });
        if (a !== '') return a;
      }
    }
    if (options.yes && q.def !== undefined) {
      term.note(`${q.what}: ${q.def}`);
      return q.def;
    }
    throw new UsageError(
      `no terminal to ask for the ${q.what}: pass ${q.flag}${q.def !== undefined ? ` (or --yes to take ${q.def})` : ''}`,
    );
  };
  /** At the terminal a wrong answer is said and asked again; otherwise it ends the run. */
  const retrying = async <T>(fromFlag: boolean, step: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!interactive || fromFlag || attempt >= ATTEMPTS || !(error instanceof CliError) || error.exitCode === ExitCode.interrupted)
          throw error;
        term.error(error.message, error.hint);
      }
    }
  };

  // 1. base URL: normalised and checked at once (no token needed: a 401 shows the API is there).
  const baseUrl = await retrying(options.settings['base-url'] !== undefined, async () => {
    const typed = await answer({
      what: 'base URL',
      flag: '--base-url',
      given: options.settings['base-url'] === undefined ? undefined : String(options.settings['base-url']),
      def: current['base-url'] === undefined ? undefined : String(current['base-url']),
      prompt: 'Relay base URL (e.g. https://relay.example.com)',
    });
    const stored = normalizeBaseUrl(typed);
    const spinner = await term.spinner(`Checking ${stored}`);
    const found = await core.locateApi(stored, undefined, ctx).finally(() => spinner.stop());
    const check = doctor.baseUrlCheck({
      baseUrl: stored,
      modelsUrl: resolveEndpoints(stored).models,
      outcome: found.list.outcome,
      variants: found.variants,
      proxy: null,
      profile,
      profileExplicit: explicit,
    });
    if (check.verdict === 'pass') return stored;
    const good = doctor.workingVariant(found.variants);
    const outcome = found.list.outcome;
    if (good && outcome.kind === 'http' && outcome.notApi) {
      // A web page where the API should be: the address of the relay's dashboard, whose API another
      // form answers. Nothing to ask: the page can never be the API.
      term.note(`${visible(typed)} looks like the dashboard; using ${good.baseUrl}`);
      return good.baseUrl;
    }
    if (good) {
      term.warn(`${check.finding}`);
      if (!interactive || (await confirm(io, `Use ${good.baseUrl}?`, true))) {
        if (!interactive) term.note(`using ${good.baseUrl}`);
        return good.baseUrl;
      }
    }
    throw new CliError(check.finding, check.blame === 'config' ? ExitCode.config : ExitCode.api, { hint: good ? undefined : check.fix });
  });
  term.note(`${c.green('✓')} base URL ${baseUrl}`);

  // 2. token: piped on stdin, or typed at a hidden prompt; checked with GET /models.
  const root = resolveEndpoints(baseUrl).base;
  const currentToken = current.token === undefined ? undefined : String(current.token);
  let piped: string | undefined;
  if (!io.stdinIsTTY) {
    const { readStdinText } = await import('./items.ts');
    piped = (await readStdinText(io, MAX_TOKEN_BYTES, 'the token on stdin is larger than 64 KiB')).replace(/\r?\n$/, '');
  }
  let list: ModelList | undefined;
  const token = await retrying(false, async () => {
    let t: string;
    if (piped) t = piped;
    else if (interactive)
      t =
        (await ask(io, `API token${currentToken ? ` [${maskToken(currentToken)}, Enter keeps it]` : ''}: `, { silent: true })) ||
        (currentToken ?? '');
    else if (options.yes && currentToken) t = currentToken;
    else
      throw new UsageError(
        `no terminal to ask for the token: pipe it on stdin (printf %s "$TOKEN" | imgdesc init …)${currentToken ? ' or pass --yes to keep the current one' : ''}`,
      );
    // The one cleaner every way in goes through (config set token, IMGDESC_TOKEN, token-command):
    // a pasted `Bearer sk-…` would otherwise reach the relay as `Bearer Bearer sk-…`.
    const clean = cleanToken(t);
    if (typeof clean !== 'string') throw new UsageError(`the token: ${clean.problem}`);
    const spinner = await term.spinner('Listing models');
    list = await core.fetchModelList(root, clean, ctx, resolveEndpoints(baseUrl).models).finally(() => spinner.stop());
    const check = doctor.tokenCheck(list.outcome, 'init');
    if (check.verdict === 'fail') {
      throw new CliError(`token ${check.finding}`, check.blame === 'config' ? ExitCode.config : ExitCode.api, {
        hint: check.blame === 'config' ? "check the token on the relay's token page" : check.fix,
      });
    }
    return clean;
  });
  const ids = list?.ids ?? [];
  term.note(`${c.green('✓')} token accepted (${maskToken(token)}); the relay lists ${ids.length} model${ids.length === 1 ? '' : 's'}`);

  // 3. model: the vision-capable ones, best first, the picker's choice (or the current one) pre-selected.
  const vision: string[] = [];
  for (let rest = ids.filter(isVisionModel); rest.length; ) {
    const best = pickModel(rest) as string;
    vision.push(best);
    rest = rest.filter((id) => id !== best);
  }
  const currentModel = current.model === undefined ? undefined : String(current.model);
  const offered = (vision.length ? vision : ids).slice(0, 20);
  const chooseModel = async (preselected: string | undefined): Promise<string> => {
    if (options.settings.model !== undefined) return String(options.settings.model);
    if (!interactive) return answer({ what: 'model', flag: '--model', given: undefined, def: preselected, prompt: '' });
    if (!vision.length)
      term.warn(ids.length ? 'none of the listed models is known to see images; all are offered' : 'the relay lists no models; type an id');
    offered.forEach((id, i) =>
      term.note(`  ${String(i + 1).padStart(2)}. ${visible(id)}${id === preselected ? c.dim('  (suggested)') : ''}`),
    );
    const def = preselected === undefined ? undefined : String(offered.indexOf(preselected) + 1 || preselected);
    const picked = await answer({ what: 'model', flag: '--model', given: undefined, def, prompt: 'Model (number or id)' });
    return /^\d+$/.test(picked) && offered[Number(picked) - 1] ? (offered[Number(picked) - 1] as string) : picked;
  };
  let preselected = currentModel && ids.includes(currentModel) ? currentModel : (vision[0] ?? currentModel);
  let model: string;
  for (;;) {
    model = await chooseModel(preselected);
    if (ids.length && !ids.includes(model))
      term.warn(`${model} is not in the relay's list (closest: ${closestModels(model, ids).join(', ')})`);
    term.note(`${c.green('✓')} model ${visible(model)}`);
    if (!options.probe) break;

    // 4. one tiny picture to the chosen model: the only step that costs tokens.
    const spinner = await term.spinner(`Sending a test image to ${model}`);
    const outcome = await core.probeModel(model, { ...base, baseUrl, token, model }, ctx).finally(() => spinner.stop());
    const check = doctor.probeCheck(model, outcome, closestModels(model, ids), profile, explicit);
    if (check.verdict === 'pass') {
      term.note(`${c.green('✓')} ${visible(check.finding)}`);
      break;
    }
    term.note(`${c.red('✗')} ${visible(check.finding)}`);
    if (check.fix) term.note(`  ${c.yellow('fix:')} ${visible(check.fix)}`);
    const failed = new CliError('nothing saved: the test image failed', check.blame === 'config' ? ExitCode.config : ExitCode.api, {
      hint: 'imgdesc doctor --models shows which models work',
    });
    if (!interactive) throw failed;
    if (options.settings.model === undefined && (await confirm(io, 'Choose another model?', true))) {
      const current = model;
      preselected = offered.find((id) => id !== current);
      continue;
    }
    if (!(await confirm(io, 'Save the profile anyway?', false))) throw failed;
    break;
  }

  // 5. save.
  const firstProfile = store.profileNames().length === 0;
  await store.set(profile, 'base-url', baseUrl);
  await store.set(profile, 'token', token);
  await store.set(profile, 'model', model);
  if (firstProfile && profile !== store.activeName()) await store.use(profile);
  const active = store.activeName() === profile;
  term.note(
    `Saved profile ${profile} to ${store.path}${active ? '' : ` (use it with --profile ${profile}, or: imgdesc config use ${profile})`}`,
  );
  term.note(c.dim(`Next: imgdesc photo.jpg${active ? '' : ` --profile ${profile}`}    Check it any time: imgdesc doctor`));
  return ExitCode.ok;
}
