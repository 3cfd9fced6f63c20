// `imgdesc config set|get|list|use|remove|path`.
import { SETTING_KEYS, isSettingKey, parseSetting, type SettingKey, type SettingValue } from '../config/keys.ts';
import { maskToken } from '../config/settings.ts';
import { ProfileStore, configPath, type Profile } from '../config/store.ts';
import { ConfigError, ExitCode, InterruptedError, UsageError, type IO } from '../types.ts';
import { Term } from '../ui/term.ts';
import { closest } from './suggest.ts';

type Verb = 'set' | 'get' | 'list' | 'use' | 'remove' | 'path';

export async function runConfig(verb: Verb, args: string[], opts: Record<string, unknown>, io: IO): Promise<number> {
  if (verb === 'path') {
    io.stdout.write(configPath(io.env) + '\n');
    return ExitCode.ok;
  }
  const store = await ProfileStore.open(io.env);
  const profileName = typeof opts.profile === 'string' ? opts.profile : store.activeName();
  const term = new Term(io, { quiet: false, verbose: false, noColor: false, json: false });

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
      let value: SettingValue = parseSetting(key, text, key);
      if (key === 'base-url') {
        const { normalizeBaseUrl } = await import('../core/describe.ts');
        value = normalizeBaseUrl(text);
      }
      await store.set(profileName, key, value);
      term.note(`${profileName}: ${key} = ${key === 'token' ? maskToken(String(value)) : String(value)}`);
      return ExitCode.ok;
    }
    case 'get': {
      const key = settingKey(args[0]);
      const value = store.profile(profileName)?.[key];
      if (value === undefined) {
        term.error(`${key} is not set in profile '${profileName}'`);
        return ExitCode.config;
      }
      const shown = key === 'token' && opts.reveal !== true ? maskToken(String(value)) : String(value);
      io.stdout.write(shown + '\n');
      return ExitCode.ok;
    }
    case 'list': {
      const active = store.activeName();
      const names = store.profileNames();
      if (opts.json === true) {
        const profiles: Record<string, Profile> = {};
        for (const n of names) profiles[n] = masked(store.profile(n) ?? {});
        io.stdout.write(JSON.stringify({ active, path: store.path, profiles }, null, 2) + '\n');
        return ExitCode.ok;
      }
      if (names.length === 0) {
        term.note(`no profiles yet (${store.path}); start with: imgdesc config set base-url https://relay.example.com`);
        return ExitCode.ok;
      }
      const out = term.out;
      const lines: string[] = [];
      for (const n of names) {
        lines.push(`${n === active ? out.green('*') : ' '} ${out.bold(n)}`);
        for (const [k, v] of Object.entries(masked(store.profile(n) ?? {}))) lines.push(`    ${k} = ${String(v)}`);
      }
      io.stdout.write(lines.join('\n') + '\n');
      return ExitCode.ok;
    }
    case 'use': {
      const name = args[0] ?? '';
      if (!store.profile(name)) {
        const known = store.profileNames();
        throw new ConfigError(`no profile named '${name}'${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, {
          hint: `create it with: imgdesc config set base-url <url> --profile ${name}`,
        });
      }
      await store.use(name);
      term.note(`active profile: ${name}`);
      return ExitCode.ok;
    }
    case 'remove': {
      if (args.length === 0) {
        if (typeof opts.profile !== 'string') {
          throw new UsageError('config remove: name the keys to remove, or --profile <name> to remove a whole profile');
        }
        if (!(await store.removeProfile(profileName))) throw new ConfigError(`no profile named '${profileName}'`);
        term.note(`removed profile ${profileName}`);
        return ExitCode.ok;
      }
      const keys = args.map(settingKey);
      const missing: SettingKey[] = [];
      for (const k of keys) if (!(await store.unset(profileName, k))) missing.push(k);
      if (missing.length) term.warn(`not set in profile '${profileName}': ${missing.join(', ')}`);
      return ExitCode.ok;
    }
  }
}

function settingKey(key: string | undefined): SettingKey {
  if (key && isSettingKey(key)) return key;
  const near = key ? closest(key, Object.keys(SETTING_KEYS)) : undefined;
  throw new UsageError(`unknown setting '${key ?? ''}'${near ? `; did you mean '${near}'?` : ''} (known: ${Object.keys(SETTING_KEYS).join(', ')})`);
}

function masked(p: Profile): Profile {
  return p.token === undefined ? p : { ...p, token: maskToken(String(p.token)) };
}

/** From stdin when piped (one trailing newline dropped), else a hidden prompt on the terminal. */
async function readToken(io: IO): Promise<string> {
  if (!io.stdinIsTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  const { ask } = await import('../ui/prompt.ts');
  try {
    return await ask(io, 'API token: ', { silent: true });
  } catch (error) {
    if (error instanceof InterruptedError) throw new InterruptedError('cancelled; nothing was saved');
    throw error;
  }
}
