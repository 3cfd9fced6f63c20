// `imgdesc config set|get|list|use|remove|path|edit`.
import { SETTING_KEYS, isSavedPromptKey, isSettingKey, parseSetting, specKey, type ConfigKey, type SettingValue } from '../config/keys.ts';
import { checkProfile, describeSource, maskToken, resolveSettings } from '../config/settings.ts';
import { ProfileStore, configPath, type Profile } from '../config/store.ts';
import { ConfigError, ExitCode, InterruptedError, UsageError, type IO } from '../types.ts';
import type { Factory } from './factory.ts';
import type { configEdit, configGet, configList, configPath as configPathCommand, configRemove, configSet, configUse } from './commands.ts';
import { withTokenCommand } from './settings.ts';
import type { OptionsOf } from './spec.ts';
import { closest } from './suggest.ts';

/** A token is a few hundred bytes; stdin past this is not one (`< /dev/zero` must not fill memory). */
const MAX_TOKEN_BYTES = 64 * 1024;

type ConfigVerb = 'set' | 'get' | 'list' | 'use' | 'remove' | 'edit';
/** What the verbs take besides their arguments (each only its own; the rest are false). */
interface VerbFlags {
  reveal?: boolean;
  effective?: boolean;
  json?: boolean;
  yes?: boolean;
}

export const runSet = (o: OptionsOf<typeof configSet>, f: Factory) =>
  runConfig('set', [o.key, ...(o.value === undefined ? [] : [o.value])], {}, f);
export const runGet = (o: OptionsOf<typeof configGet>, f: Factory) => runConfig('get', [o.key], o, f);
export const runList = (o: OptionsOf<typeof configList>, f: Factory) => runConfig('list', [], o, f);
export const runUse = (o: OptionsOf<typeof configUse>, f: Factory) => runConfig('use', [o.profile], {}, f);
export const runRemove = (o: OptionsOf<typeof configRemove>, f: Factory) => runConfig('remove', o.keys, o, f);
export const runEdit = (_o: OptionsOf<typeof configEdit>, f: Factory) => runConfig('edit', [], {}, f);
export async function runPath(_o: OptionsOf<typeof configPathCommand>, f: Factory): Promise<number> {
  f.io.stdout.write(configPath(f.io.env) + '\n');
  return ExitCode.ok;
}

async function runConfig(verb: ConfigVerb, args: string[], opts: VerbFlags, f: Factory): Promise<number> {
  const { io, term } = f;
  const store = await ProfileStore.open(io.env);
  // --profile: the profile to change (or list); the active one without it
  const given = f.run.profile;
  const profileName = given ?? store.activeName();
  for (const w of store.warnings) term.warn(w);

  switch (verb) {
    case 'set': {
      const key = settingKey(args[0]);
      let text = args[1];
      if (key === 'token') {
        if (text !== undefined) {
          throw new UsageError('the token is not taken as an argument (it would stay in shell history and ps)', {
            hint: 'printf %s "$TOKEN" | imgdesc config set token',
          });
        }
        text = await readToken(io);
        if (!text) throw new UsageError('empty token; nothing was saved');
      }
      if (text === undefined) throw new UsageError(`config set ${key}: missing value`);
      let value: SettingValue = parseSetting(specKey(key), text, key);
      if (key === 'base-url') {
        const { normalizeBaseUrl } = await import('../core/describe.ts');
        value = normalizeBaseUrl(text);
      }
      await store.set(profileName, key, value);
      term.note(`${profileName}: ${key} = ${key === 'token' ? maskToken(String(value)) : String(value)}`);
      const current = store.profile(profileName);
      if (key === 'token-command' && current?.token !== undefined) {
        term.note(
          `the token stored in '${profileName}' is no longer used (imgdesc config remove token${profileName === store.activeName() ? '' : ` --profile ${profileName}`})`,
        );
      }
      return ExitCode.ok;
    }
    case 'get': {
      const key = settingKey(args[0]);
      const show = (v: SettingValue) => (key === 'token' && opts.reveal !== true ? maskToken(String(v)) : String(v));
      const stored = store.profile(profileName)?.[key];
      if (isSavedPromptKey(key)) {
        if (stored !== undefined) io.stdout.write(`${stored}\n`);
        else term.error(`no prompt saved as ${key} in profile '${profileName}'`);
        return stored === undefined ? ExitCode.config : ExitCode.ok;
      }
      if (opts.effective === true || stored === undefined) {
        const settings = await effectiveSettings(store, profileName, io);
        const value = settings.values[key];
        const source = settings.sources[key];
        if (opts.effective !== true) {
          const inEffect =
            value === undefined || source === undefined
              ? 'nothing is in effect either'
              : `in effect: ${show(value)} from ${describeSource(key, source, profileName)}`;
          term.error(
            `${key} is not set in profile '${profileName}' (${inEffect})`,
            value === undefined ? undefined : `imgdesc config get ${key} --effective prints it`,
          );
          return ExitCode.config;
        }
        if (value === undefined || source === undefined) {
          term.error(`${key} is not set anywhere (profile '${profileName}', environment, defaults)`);
          return ExitCode.config;
        }
        io.stdout.write(show(value) + '\n');
        term.note(term.err.dim(`from ${describeSource(key, source, profileName)}`));
        return ExitCode.ok;
      }
      io.stdout.write(show(stored) + '\n');
      return ExitCode.ok;
    }
    case 'list': {
      const active = store.activeName();
      let names = store.profileNames();
      if (given !== undefined) {
        if (!store.profile(given)) throw noProfile(store, given);
        names = [given];
      }
      if (opts.json === true) {
        const profiles: Record<string, Profile> = {};
        for (const n of names) profiles[n] = masked(store.profile(n) ?? {});
        io.stdout.write(JSON.stringify({ active, path: store.path, profiles }, null, 2) + '\n');
        return ExitCode.ok;
      }
      if (names.length === 0) {
        term.note(`no profiles yet (${store.path}); start with: imgdesc init`);
        return ExitCode.ok;
      }
      // Which token a run would use (it may not be the one listed): a row of the list, under the
      // profile a run would use, so it is read with the keys it explains. It has no ` = `: a script
      // reading `key = value` rows passes it by.
      const shown = given ?? active;
      const source = resolveSettings({
        flags: {},
        env: io.env,
        profileName: shown,
        profile: checkProfile(shown, store.profile(shown), store.path),
      }).sources.token;
      const command = store.profile(shown)?.['token-command'];
      const from = command !== undefined && source !== 'env' ? 'token-command' : source;
      const inEffect = `token in effect: ${from ? `from ${describeSource('token', from, shown)}` : 'none'}`;
      const out = term.out;
      const lines: string[] = [];
      for (const n of names) {
        lines.push(`${n === active ? out.green('*') : ' '} ${out.bold(n)}`);
        for (const [k, v] of Object.entries(masked(store.profile(n) ?? {}))) lines.push(`    ${k} = ${String(v)}`);
        if (n === shown) lines.push(out.dim(`    ${inEffect}`));
      }
      if (!names.includes(shown)) lines.push(out.dim(`  ${inEffect.replace(':', ` for '${shown}':`)}`));
      io.stdout.write(lines.join('\n') + '\n');
      return ExitCode.ok;
    }
    case 'use': {
      const name = args[0] ?? '';
      if (!store.profile(name)) throw noProfile(store, name);
      await store.use(name);
      term.note(`active profile: ${name}`);
      return ExitCode.ok;
    }
    case 'remove': {
      if (args.length === 0) {
        if (given === undefined) {
          throw new UsageError('config remove: name the keys to remove, or --profile <name> to remove a whole profile');
        }
        const profile = store.profile(profileName);
        if (!profile) throw noProfile(store, profileName);
        const what = `profile '${profileName}' (${Object.keys(profile).join(', ') || 'empty'})`;
        if (opts.yes !== true) {
          if (!io.stdinIsTTY) throw new UsageError(`config remove: removing ${what} needs --yes`);
          const { confirm } = await import('../ui/prompt.ts');
          if (!(await confirm(io, `Remove ${what}?`, false))) {
            term.note('nothing was removed');
            return ExitCode.ok;
          }
        }
        await store.removeProfile(profileName);
        term.note(`removed profile ${profileName}`);
        return ExitCode.ok;
      }
      const keys = args.map(settingKey);
      const missing: ConfigKey[] = [];
      for (const k of keys) if (!(await store.unset(profileName, k))) missing.push(k);
      if (missing.length) term.warn(`not set in profile '${profileName}': ${missing.join(', ')}`);
      return ExitCode.ok;
    }
    case 'edit': {
      const { editConfig } = await import('./config-edit.ts');
      return editConfig(store, io, term);
    }
  }
}

function noProfile(store: ProfileStore, name: string): ConfigError {
  const known = store.profileNames();
  return new ConfigError(`no profile named '${name}'${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, {
    hint: `create it with: imgdesc config set base-url <url> --profile ${name}`,
  });
}

/** The settings a run with this profile would use (no flags). */
async function effectiveSettings(store: ProfileStore, name: string, io: IO) {
  const profile = checkProfile(name, store.profile(name), store.path);
  return withTokenCommand(resolveSettings({ flags: {}, env: io.env, profileName: name, profile }), io.env, io.signal);
}

function settingKey(key: string | undefined): ConfigKey {
  if (key && (isSettingKey(key) || isSavedPromptKey(key))) return key;
  const near = key ? closest(key, Object.keys(SETTING_KEYS)) : undefined;
  // The ~40 known keys made a 330-character line: the hint says where they are listed.
  throw new UsageError(`unknown setting '${key ?? ''}'${near ? `; did you mean '${near}'?` : ''}`, {
    hint: 'imgdesc config set --help lists every setting',
  });
}

function masked(p: Profile): Profile {
  return p.token === undefined ? p : { ...p, token: maskToken(String(p.token)) };
}

/** From stdin when piped (one trailing newline dropped), else a hidden prompt on the terminal. */
async function readToken(io: IO): Promise<string> {
  if (!io.stdinIsTTY) {
    const { readStdinText } = await import('./items.ts');
    return (await readStdinText(io, MAX_TOKEN_BYTES, 'the token on stdin is larger than 64 KiB')).replace(/\r?\n$/, '');
  }
  const { ask } = await import('../ui/prompt.ts');
  try {
    return await ask(io, 'API token: ', { silent: true });
  } catch (error) {
    if (error instanceof InterruptedError) throw new InterruptedError('cancelled; nothing was saved');
    throw error;
  }
}
