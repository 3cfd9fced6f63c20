// Loads the profile store and resolves the settings of one run.
import { checkProfile, resolveSettings, chooseProfile, type Settings } from '../config/settings.ts';
import { ProfileStore, type Profile } from '../config/store.ts';
import { ConfigError } from '../types.ts';
import type { RunFlags } from './options.ts';
import { savedPrompt } from './prompt-source.ts';

/** The profile a run uses, and whether it was asked for by name (--profile, IMGDESC_PROFILE) and exists. */
export interface ChosenProfile {
  name: string;
  explicit: boolean;
  exists: boolean;
}

export async function loadSettings(
  flags: Profile,
  run: Pick<RunFlags, 'profile'>,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
  warn?: (message: string) => void,
): Promise<{ settings: Settings; profile: ChosenProfile }> {
  const store = await ProfileStore.open(env);
  for (const w of store.warnings) warn?.(w);
  const { name, explicit } = chooseProfile(run.profile, env, store.activeName());
  const profile = checkProfile(name, store.profile(name), store.path);
  if (explicit && !profile) {
    const known = store.profileNames();
    throw new ConfigError(`no profile named '${name}'${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, {
      hint: `create it with: imgdesc init --profile ${name}`,
    });
  }
  const settings = resolveSettings({ flags: savedPrompt(flags, profile, name), env, profileName: name, profile });
  return { settings: await withTokenCommand(settings, env, signal), profile: { name, explicit, exists: profile !== undefined } };
}

/** Layers of the precedence, strongest first: a token-command is used unless the token comes from above it. */
const RANK: Record<string, number> = { flag: 0, env: 1, profile: 2, 'openai-env': 3, default: 4 };

/**
 * A token-command (a flag or the profile's) beats a token from the same layer or below, not one
 * from above (`IMGDESC_TOKEN` beats the profile's command); it runs at each use.
 */
export async function withTokenCommand(
  settings: Settings,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<Settings> {
  const command = settings.tokenCommand;
  const from = settings.sources['token-command'];
  const token = settings.sources.token;
  if (typeof command !== 'string' || from === undefined) return settings;
  if (token !== undefined && (RANK[token] ?? 9) < (RANK[from] ?? 9)) return settings;
  const { runTokenCommand } = await import('../config/token-command.ts');
  const value = await runTokenCommand(command, env, signal);
  return {
    ...settings,
    token: value,
    sources: { ...settings.sources, token: 'token-command' },
    values: { ...settings.values, token: value },
  };
}
