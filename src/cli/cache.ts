// `imgdesc cache info|prune|clear`: the answer cache (core/answer-cache.ts).
import { formatBytes } from '../format.ts';
import { ExitCode } from '../types.ts';
import type { Profile } from '../config/store.ts';
import type { Factory } from './factory.ts';
import type { cacheClear, cacheInfo, cachePrune } from './commands.ts';
import type { OptionsOf } from './spec.ts';

export type CacheVerb = 'info' | 'prune' | 'clear';

export const runInfo = (options: OptionsOf<typeof cacheInfo>, f: Factory) => runCache('info', options, f);
export const runClear = (options: OptionsOf<typeof cacheClear>, f: Factory) => runCache('clear', options, f);
export async function runPrune(options: OptionsOf<typeof cachePrune>, f: Factory): Promise<number> {
  // --max-size is the cache-max-size setting for this one prune, read by its rules
  const { parseSetting } = await import('../config/keys.ts');
  const settings =
    options.maxSize === undefined
      ? options.settings
      : { ...options.settings, 'cache-max-size': parseSetting('cache-max-size', options.maxSize, '--max-size') };
  return runCache('prune', { ...options, settings }, f);
}

async function runCache(verb: CacheVerb, options: { settings: Profile; json: boolean }, f: Factory): Promise<number> {
  const { io } = f;
  // The settings without the token: a token-command (a password manager) has no business here.
  const { ProfileStore } = await import('../config/store.ts');
  const { checkProfile, chooseProfile, resolveSettings } = await import('../config/settings.ts');
  const store = await ProfileStore.open(io.env);
  const { name } = chooseProfile(f.run.profile, io.env, store.activeName());
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
