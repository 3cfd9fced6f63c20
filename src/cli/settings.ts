// Loads the profile store and resolves the settings of one run.
import { checkProfile, resolveSettings, chooseProfile, type Settings } from '../config/settings.ts';
import { ProfileStore, type Profile } from '../config/store.ts';
import { ConfigError } from '../types.ts';
import type { RunFlags } from './options.ts';
import { savedPrompt } from './prompt-source.ts';

export async function loadSettings(
  flags: Profile,
  run: Pick<RunFlags, 'profile'>,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
  warn?: (message: string) => void,
): Promise<Settings> {
  const store = await ProfileStore.open(env);
  for (const w of store.warnings) warn?.(w);
  const { name, explicit } = chooseProfile(run.profile, env, store.activeName());
  const profile = checkProfile(name, store.profile(name), store.path);
  if (explicit && !profile) {
    const known = store.profileNames();
    throw new ConfigError(`no profile named '${name}'${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, {
      hint: `create it with: imgdesc config set base-url <url> --profile ${name}`,
    });
  }
  const settings = resolveSettings({ flags: savedPrompt(flags, profile, name), env, profileName: name, profile });
  return withTokenCommand(settings, profile, env, signal);
}

/** A profile's token-command beats its stored token, not IMGDESC_TOKEN; it runs at each use. */
export async function withTokenCommand(
  settings: Settings,
  profile: Profile | undefined,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<Settings> {
  const command = profile?.['token-command'];
  const source = settings.sources.token;
  if (typeof command !== 'string' || source === 'flag' || source === 'env') return settings;
  const { runTokenCommand } = await import('../config/token-command.ts');
  const token = await runTokenCommand(command, env, signal);
  return { ...settings, token, sources: { ...settings.sources, token: 'token-command' }, values: { ...settings.values, token } };
}
