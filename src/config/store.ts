// Profiles, kept in one conf store at $XDG_CONFIG_HOME/imgdesc/config.json (mode 0600, dir 0700).
import { chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../types.ts';
import type { SettingKey, SettingValue } from './keys.ts';

export type Profile = Partial<Record<SettingKey, SettingValue>>;

export interface StoreData {
  active?: string;
  profiles?: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function configDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'imgdesc');
}

export function configPath(env: Record<string, string | undefined>): string {
  return join(configDir(env), 'config.json');
}

/** The subset of conf's API we use, so the store can be swapped in tests if ever needed. */
interface ConfLike {
  store: StoreData;
  path: string;
}

export class ProfileStore {
  readonly path: string;
  private constructor(
    private readonly conf: ConfLike,
    private readonly dir: string,
  ) {
    this.path = conf.path;
  }

  /** Opens the store. A corrupt file is reported, never wiped. */
  static async open(env: Record<string, string | undefined>): Promise<ProfileStore> {
    const { default: Conf } = await import('conf');
    const dir = configDir(env);
    let conf: ConfLike;
    try {
      conf = new Conf<StoreData>({
        projectName: 'imgdesc',
        projectSuffix: '',
        cwd: dir,
        configName: 'config',
        configFileMode: 0o600,
        clearInvalidConfig: false,
      }) as unknown as ConfLike;
    } catch (error) {
      const file = join(dir, 'config.json');
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new ConfigError(`cannot read config file ${file}: ${why}`, {
        hint: 'fix or delete that file (it was left as it is)',
        cause: error,
      });
    }
    const store = new ProfileStore(conf, dir);
    store.tightenPermissions();
    return store;
  }

  /** Owner-only access, fixed if found looser (the file holds the token). */
  private tightenPermissions(): void {
    for (const [p, mode] of [
      [this.dir, 0o700],
      [this.path, 0o600],
    ] as const) {
      try {
        if ((statSync(p).mode & 0o777) !== mode) chmodSync(p, mode);
      } catch {
        // not created yet: conf creates it on the first write, then we tighten again
      }
    }
  }

  get data(): StoreData {
    const s = this.conf.store;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      throw new ConfigError(`config file ${this.path} does not hold a JSON object`, { hint: 'fix or delete that file' });
    }
    return s;
  }

  activeName(): string {
    return this.data.active ?? DEFAULT_PROFILE;
  }

  profileNames(): string[] {
    return Object.keys(this.data.profiles ?? {});
  }

  profile(name: string): Profile | undefined {
    return this.data.profiles?.[name];
  }

  private write(next: StoreData): void {
    this.conf.store = next;
    this.tightenPermissions();
  }

  set(name: string, key: SettingKey, value: SettingValue): void {
    const data = this.data;
    const profiles = { ...data.profiles, [name]: { ...data.profiles?.[name], [key]: value } };
    this.write({ ...data, profiles });
  }

  unset(name: string, key: SettingKey): boolean {
    const data = this.data;
    const current = data.profiles?.[name];
    if (!current || !(key in current)) return false;
    const { [key]: _removed, ...rest } = current;
    this.write({ ...data, profiles: { ...data.profiles, [name]: rest } });
    return true;
  }

  removeProfile(name: string): boolean {
    const data = this.data;
    if (!data.profiles?.[name]) return false;
    const { [name]: _removed, ...rest } = data.profiles;
    const next: StoreData = { ...data, profiles: rest };
    if (next.active === name) delete next.active;
    this.write(next);
    return true;
  }

  use(name: string): void {
    this.write({ ...this.data, active: name });
  }
}
