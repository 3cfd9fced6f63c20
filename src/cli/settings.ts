// Loads the profile store and resolves the settings of one run.
import { checkProfile, resolveSettings, chooseProfile, type Settings } from '../config/settings.ts';
import { ProfileStore, type Profile } from '../config/store.ts';
import { ConfigError } from '../types.ts';
import type { RunFlags } from './options.ts';

export async function loadSettings(flags: Profile, run: Pick<RunFlags, 'profile'>, env: Record<string, string | undefined>): Promise<Settings> {
  const store = await ProfileStore.open(env);
  const { name, explicit } = chooseProfile(run.profile, env, store.activeName());
  const profile = checkProfile(name, store.profile(name), store.path);
  if (explicit && !profile) {
    const known = store.profileNames();
    throw new ConfigError(`no profile named '${name}'${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, {
      hint: `create it with: imgdesc config set base-url <url> --profile ${name}`,
    });
  }
  return resolveSettings({ flags, env, profileName: name, profile });
}
