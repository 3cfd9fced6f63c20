// `imgdesc doctor [--json] [--models] [--no-probe] [--yes]`: a checklist of what works with this
// relay and how to fix the rest.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { jsonSafe } from '../safe-text.ts';
import { maskToken, type Settings } from '../config/settings.ts';
import { configPath } from '../config/store.ts';
import { CliError, UsageError } from '../types.ts';
import type { Check, ProbeOutcome } from '../core/doctor.ts';
import { formatDoctor, formatModelTable } from '../ui/doctor.ts';
import { confirm } from '../ui/prompt.ts';
import type { Factory } from './factory.ts';
import type { doctor } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc doctor` takes: its flags and the settings given as flags (commands.ts). */
export type DoctorOptions = OptionsOf<typeof doctor>;

/** More probe requests than this are asked about first (they cost tokens). */
const ASK_ABOVE = 5;

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}

export async function run(options: DoctorOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  const doctor = await import('../core/doctor.ts');
  const checks: Check[] = [];
  const file = configPath(io.env);

  // Settings: a problem here is the first finding, not a crash.
  let settings: Settings;
  let profileExplicit: boolean;
  let profileExists: boolean;
  const modeBefore = modeOf(file);
  try {
    // values checked as every run checks them; a token-command runs as it would for a run
    const resolved = await f.resolve(options.settings);
    settings = resolved.settings;
    profileExplicit = resolved.profile.explicit;
    profileExists = resolved.profile.exists;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    checks.push({ id: 'config', verdict: 'fail', finding: error.message, fix: error.hint, blame: 'config' });
    return finish(checks, undefined, undefined);
  }

  const configuredModel = settings.sources.model && settings.sources.model !== 'default' ? settings.model : undefined;
  checks.push(
    doctor.configCheck({
      profile: settings.profile,
      profileExplicit,
      profileExists,
      baseUrl: settings.baseUrl,
      token: settings.token,
      model: configuredModel,
      sources: settings.sources,
      file: { path: file, mode: modeOf(file), dirMode: modeOf(dirname(file)), modeBefore },
    }),
  );
  const ctx = f.core;
  const skip = (ids: Check['id'][], why: string) => {
    for (const id of ids) checks.push({ id, verdict: 'skip', finding: why });
  };
  if (!settings.baseUrl) {
    skip(['base-url', 'token', 'models', 'probe', 'quota'], 'not checked: no base URL');
    return finish(checks, settings, undefined);
  }

  const requests = await import('../core/doctor-run.ts');
  const { isVisionModel, pickModel, closestModels, resolveEndpoints } = await import('../api/index.ts');
  let endpoints;
  try {
    endpoints = resolveEndpoints(settings.baseUrl);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    checks.push({ id: 'base-url', verdict: 'fail', finding: error.message, fix: error.hint, blame: 'config' });
    skip(['token', 'models', 'probe', 'quota'], 'not checked: the base URL is not valid');
    return finish(checks, settings, undefined);
  }
  const proxy = doctor.proxyFor(endpoints.models, io.env).proxy;
  const spinner = await term.spinner(`Asking ${endpoints.origin}`);
  let table: Map<string, ProbeOutcome> | undefined;
  try {
    const { list, variants } = await requests.locateApi(settings.baseUrl, settings.token, ctx);
    checks.push(
      doctor.baseUrlCheck({
        baseUrl: settings.baseUrl,
        modelsUrl: endpoints.models,
        outcome: list.outcome,
        variants: variants.map((v) => ({ root: v.root, baseUrl: v.baseUrl, outcome: v.outcome })),
        proxy: proxy ? doctor.safeProxy(proxy) : null,
        profile: settings.profile,
        profileExplicit,
      }),
    );
    // When another form of the URL is the API, the rest is checked there: the user learns whether the fix is the whole fix.
    const variant = doctor.missesApi(list.outcome) ? doctor.workingVariant(variants) : undefined;
    const working = variant ?? (doctor.missesApi(list.outcome) ? undefined : list);
    if (working?.outcome.kind !== 'http') {
      skip(['token', 'models', 'probe', 'quota'], 'not checked: the relay did not answer GET /models');
      return finish(checks, settings, undefined);
    }
    const apiSettings: Settings = variant ? { ...settings, baseUrl: variant.baseUrl } : settings;
    if (!settings.token) {
      skip(['token', 'models', 'probe', 'quota'], 'not checked: no token');
      return finish(checks, settings, undefined);
    }
    const tokenCheck = doctor.tokenCheck(working.outcome, doctor.sourceWords('token', settings.sources.token));
    checks.push(tokenCheck);
    if (tokenCheck.verdict !== 'pass') {
      skip(['models', 'probe', 'quota'], 'not checked: the token was not accepted');
      return finish(checks, settings, undefined);
    }

    const ids = working.ids;
    const vision = ids.filter(isVisionModel);
    const closest = configuredModel ? closestModels(configuredModel, ids) : [];
    checks.push(doctor.modelsCheck({ ids, vision, model: configuredModel, closest, profile: settings.profile, profileExplicit }));

    const model = configuredModel ?? pickModel(ids);
    spinner.text(`Probing ${model ?? ''}`);
    if (options.models) {
      table = await probeAll(vision.length ? vision : ids, apiSettings, options, f, spinner);
    }
    const unlisted = doctor.probeSkipReason(ids, model);
    if (!model) {
      skip(['probe'], 'no model to probe: none configured and none the relay lists is known to see images');
    } else if (unlisted !== undefined) {
      skip(['probe'], unlisted);
    } else if (!options.probe) {
      checks.push(doctor.probeCheck(model, null, closest, settings.profile, profileExplicit));
    } else {
      const outcome = table?.get(model) ?? (await requests.probeModel(model, apiSettings, ctx));
      checks.push(doctor.probeCheck(model, outcome, closest, settings.profile, profileExplicit));
    }
    spinner.text('Asking for the balance');
    const quota = await requests.fetchQuota(resolveEndpoints(apiSettings.baseUrl as string).base, settings.token, ctx);
    checks.push(doctor.quotaCheck(quota, Math.floor(Date.now() / 1000)));
  } finally {
    spinner.stop();
  }
  return finish(checks, settings, table);

  function finish(all: Check[], s: Settings | undefined, models: Map<string, ProbeOutcome> | undefined): number {
    if (s?.baseUrl) {
      try {
        all.push(doctor.proxyCheck(new URL(s.baseUrl).href, io.env));
      } catch {
        // an invalid base URL was reported above
      }
    }
    const code = doctor.doctorExitCode(all);
    if (run.json) {
      const report = {
        profile: s?.profile ?? null,
        config_file: file,
        base_url: s?.baseUrl ?? null,
        token: s?.token ? maskToken(s.token) : null,
        model: (s && s.sources.model !== 'default' ? s.model : null) ?? null,
        checks: all.map((c) => ({ id: c.id, verdict: c.verdict, finding: c.finding, fix: c.fix ?? null, details: c.details ?? [] })),
        ...(models ? { models: [...models].map(([id, o]) => modelRow(id, o)) } : {}),
        exit_code: code,
      };
      io.stdout.write(jsonSafe(JSON.stringify(report, null, 2)) + '\n');
    } else {
      io.stdout.write(formatDoctor(all, term.out, run.verbose));
      if (models)
        io.stdout.write(
          '\n' +
            formatModelTable(
              [...models].map(([id, o]) => modelRow(id, o)),
              term.out,
            ),
        );
    }
    return code;
  }
}

function modelRow(model: string, o: ProbeOutcome): { model: string; works: boolean; latency_ms: number; error: string | null } {
  return {
    model,
    works: o.ok,
    latency_ms: Math.round(o.ms),
    error: o.ok ? null : `${o.status !== undefined ? `HTTP ${o.status}: ` : ''}${o.message}`,
  };
}

async function probeAll(
  models: string[],
  settings: Settings,
  options: DoctorOptions,
  f: Factory,
  spinner: { text(t: string): void; stop(): void },
): Promise<Map<string, ProbeOutcome>> {
  const { io } = f;
  if (models.length > ASK_ABOVE && !options.yes) {
    const question = `Probe ${models.length} models (one small request each, ${models.length} requests)?`;
    if (!io.stdinIsTTY || !io.stderrIsTTY) {
      throw new UsageError(`doctor --models would send ${models.length} requests; pass --yes to send them without asking`);
    }
    spinner.stop();
    if (!(await confirm(io, question, false))) throw new UsageError('nothing probed');
  }
  const { probeModels } = await import('../core/doctor-run.ts');
  let done = 0;
  return probeModels(models, settings, f.core, Math.min(4, settings.concurrency), () => {
    done++;
    spinner.text(`Probed ${done}/${models.length} models`);
    f.term.info(`probed ${done}/${models.length}`);
  });
}
