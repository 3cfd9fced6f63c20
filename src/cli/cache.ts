// `imgdesc cache info|prune|clear`: the answer cache (core/answer-cache.ts).
import { formatBytes } from '../format.ts';
import { ExitCode, type IO } from '../types.ts';
import type { Profile } from '../config/store.ts';

export type CacheVerb = 'info' | 'prune' | 'clear';

export interface CacheOptions {
  /** `--max-size` of prune, as the cache-max-size setting. */
  settings: Profile;
  profile: string | undefined;
  json: boolean;
}

export async function runCache(verb: CacheVerb, options: CacheOptions, io: IO): Promise<number> {
  // The settings without the token: a token-command (a password manager) has no business here.
  const { ProfileStore } = await import('../config/store.ts');
  const { checkProfile, chooseProfile, resolveSettings } = await import('../config/settings.ts');
  const store = await ProfileStore.open(io.env);
  const { name } = chooseProfile(options.profile, io.env, store.activeName());
  const profile = checkProfile(name, store.profile(name), store.path);
  const settings = resolveSettings({ flags: options.settings, env: io.env, profileName: name, profile });
  const { AnswerCache } = await import('../core/answer-cache.ts');
  const { cacheDir } = await import('../config/model-cache.ts');
  const cache = new AnswerCache(cacheDir(io.env), settings.cacheMaxSize);
  const print = (json: Record<string, unknown>, text: string) => io.stdout.write(options.json ? JSON.stringify(json) + '\n' : text + '\n');
  switch (verb) {
    case 'info': {
      const s = await cache.stats();
      const state = settings.cache
        ? 'on'
        : `off (cache false in ${settings.sources.cache === 'profile' ? `profile '${settings.profile}'` : 'the settings'})`;
      print(
        { dir: s.dir, entries: s.entries, bytes: s.bytes, max_bytes: s.maxBytes, enabled: settings.cache },
        `${s.dir}\n${s.entries} answer(s), ${formatBytes(s.bytes)} of at most ${formatBytes(s.maxBytes)}; the cache is ${state}`,
      );
      return ExitCode.ok;
    }
    case 'prune': {
      const r = await cache.prune();
      print(
        { removed: r.removed, freed_bytes: r.freed, entries: r.entries, bytes: r.bytes, max_bytes: settings.cacheMaxSize },
        `removed ${r.removed} least recently used answer(s) (${formatBytes(r.freed)}); ${r.entries} left, ${formatBytes(r.bytes)} of at most ${formatBytes(settings.cacheMaxSize)}`,
      );
      return ExitCode.ok;
    }
    case 'clear': {
      const r = await cache.clear();
      print({ removed: r.removed, freed_bytes: r.freed }, `removed ${r.removed} answer(s) (${formatBytes(r.freed)}) from ${cache.dir}`);
      return ExitCode.ok;
    }
  }
}
