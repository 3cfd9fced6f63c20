// Profiles, kept in one conf store at $XDG_CONFIG_HOME/imgdesc/config.json (mode 0600, dir 0700).
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../types.ts';
import type { ConfigKey, SavedPromptKey, SettingKey, SettingValue } from './keys.ts';

export type Profile = Partial<Record<SettingKey, SettingValue>> & { [key: SavedPromptKey]: string };

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

/** The part of conf's API we use to write. */
interface ConfLike {
  store: StoreData;
}

export class ProfileStore {
  readonly path: string;
  private conf: ConfLike | undefined;
  /** Read from an empty file or one with a BOM, which conf itself would refuse to load. */
  private unclean = false;
  private constructor(
    private readonly dir: string,
    private snapshot: StoreData,
  ) {
    this.path = join(dir, 'config.json');
  }

  /**
   * Opens the store. Reading is a plain JSON.parse of conf's file (what conf itself does), so a
   * describe run does not load conf and its schema validator; writes go through conf.
   * A corrupt file is reported, never wiped.
   */
  /** Parses the text of a config file: an empty one is no config, a BOM is dropped. */
  static parse(text: string): { data: unknown; unclean: boolean } {
    const clean = text.replace(/^\uFEFF/, '');
    const empty = clean.trim() === '';
    return { data: empty ? {} : (JSON.parse(clean) as unknown), unclean: empty || clean !== text };
  }

  static async open(env: Record<string, string | undefined>): Promise<ProfileStore> {
    const dir = configDir(env);
    const file = join(dir, 'config.json');
    let snapshot: StoreData = {};
    let unclean = false;
    try {
      // An empty file is no config yet; a BOM (Windows editors add one) is not part of the JSON.
      const parsed = ProfileStore.parse(readFileSync(file, 'utf8'));
      unclean = parsed.unclean;
      snapshot = parsed.data as StoreData;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw new ConfigError(`cannot read config file ${file}: ${why}`, {
          hint: 'fix or delete that file (it was left as it is)',
          cause: error,
        });
      }
    }
    if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
      throw new ConfigError(`config file ${file} does not hold a JSON object`, { hint: 'fix or delete that file (it was left as it is)' });
    }
    const store = new ProfileStore(dir, snapshot);
    store.unclean = unclean;
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
    return this.snapshot;
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

  private async write(next: StoreData): Promise<void> {
    if (this.unclean) {
      writeFileSync(this.path, JSON.stringify(this.snapshot, null, '\t'), { mode: 0o600 });
      this.unclean = false;
    }
    if (!this.conf) {
      const { default: Conf } = await import('conf');
      this.conf = new Conf<StoreData>({
        projectName: 'imgdesc',
        projectSuffix: '',
        cwd: this.dir,
        configName: 'config',
        configFileMode: 0o600,
        clearInvalidConfig: false,
      }) as unknown as ConfLike;
    }
    this.conf.store = next;
    this.snapshot = next;
    this.tightenPermissions();
  }

  async set(name: string, key: ConfigKey, value: SettingValue): Promise<void> {
    const data = this.data;
    const profiles = { ...data.profiles, [name]: { ...data.profiles?.[name], [key]: value } };
    await this.write({ ...data, profiles });
  }

  async unset(name: string, key: ConfigKey): Promise<boolean> {
    const data = this.data;
    const current = data.profiles?.[name];
    if (!current || !(key in current)) return false;
    const { [key]: _removed, ...rest } = current;
    await this.write({ ...data, profiles: { ...data.profiles, [name]: rest } });
    return true;
  }

  async removeProfile(name: string): Promise<boolean> {
    const data = this.data;
    if (!data.profiles?.[name]) return false;
    const { [name]: _removed, ...rest } = data.profiles;
    const next: StoreData = { ...data, profiles: rest };
    if (next.active === name) delete next.active;
    await this.write(next);
    return true;
  }

  /** Replaces the whole store (config edit, after the edit was checked). */
  async replace(next: StoreData): Promise<void> {
    await this.write(next);
  }

  async use(name: string): Promise<void> {
    await this.write({ ...this.data, active: name });
  }
}
