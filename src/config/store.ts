// Profiles, kept in one conf store at $XDG_CONFIG_HOME/imgdesc/config.json (mode 0600, dir 0700).
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { firstLine } from '../format.ts';
import { waitLock, type Lock } from '../lock.ts';
import { ConfigError, writeErrorText } from '../types.ts';
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
    const { data, unclean } = readStore(join(dir, 'config.json'));
    const store = new ProfileStore(dir, data);
    store.unclean = unclean;
    store.tightenPermissions();
    store.checkOwner();
    return store;
  }

  /** What the user should know about the file (the command says it once). */
  readonly warnings: string[] = [];

  /** A file someone else owns is not ours to tighten: if others can read it, the token is not private. */
  private checkOwner(): void {
    const uid = process.getuid?.();
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (uid === undefined || !st || st.uid === uid || (st.mode & 0o044) === 0) return;
    this.warnings.push(`${this.path} belongs to another user (uid ${st.uid}) and others can read it: the token in it is not private`);
  }

  /** Owner-only access, fixed if found looser (the file holds the token). */
  private tightenPermissions(): void {
    for (const [p, mode] of [
      [this.dir, 0o700],
      [this.path, 0o600],
    ] as const) {
      try {
        // Someone else's file is left as it is (checkOwner warns when that leaks the token).
        const st = statSync(p);
        if ((st.mode & 0o777) !== mode && st.uid === (process.getuid?.() ?? st.uid)) chmodSync(p, mode);
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

  /**
   * Read-modify-write under the config file's lock: the file is read again once the lock is held,
   * so two `imgdesc config set` at once both keep their change. `change` returns undefined for
   * "nothing to do". A file or folder that cannot be written is exit 3 naming it.
   */
  private async change(change: (data: StoreData) => StoreData | undefined): Promise<boolean> {
    let lock: Lock | undefined;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      lock = await waitLock(this.path, { timeoutMs: 10_000 });
      const fresh = readStore(this.path);
      this.snapshot = fresh.data;
      this.unclean = fresh.unclean;
      const next = change(fresh.data);
      if (next === undefined) return false;
      await this.write(next);
      return true;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new ConfigError(
          `${this.path} is being changed by another imgdesc (pid ${(error as { heldBy?: number }).heldBy ?? '?'}); nothing was saved`,
          { cause: error },
        );
      }
      throw new ConfigError(`cannot write config file ${this.path}: ${writeErrorText(error)}`, {
        hint: 'check who owns that file and its folder, or point XDG_CONFIG_HOME at a folder you can write',
        cause: error,
      });
    } finally {
      await lock?.release();
    }
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
    await this.change((data) => ({ ...data, profiles: { ...data.profiles, [name]: { ...data.profiles?.[name], [key]: value } } }));
  }

  async unset(name: string, key: ConfigKey): Promise<boolean> {
    return this.change((data) => {
      const current = data.profiles?.[name];
      if (!current || !(key in current)) return undefined;
      const { [key]: _removed, ...rest } = current;
      return { ...data, profiles: { ...data.profiles, [name]: rest } };
    });
  }

  async removeProfile(name: string): Promise<boolean> {
    return this.change((data) => {
      if (!data.profiles?.[name]) return undefined;
      const { [name]: _removed, ...rest } = data.profiles;
      const next: StoreData = { ...data, profiles: rest };
      if (next.active === name) delete next.active;
      return next;
    });
  }

  /** Replaces the whole store (config edit, after the edit was checked). */
  async replace(next: StoreData): Promise<void> {
    await this.change(() => next);
  }

  async use(name: string): Promise<void> {
    await this.change((data) => ({ ...data, active: name }));
  }
}

/** The store's data as on disk ({} when there is no file). A corrupt file is reported, never wiped. */
function readStore(file: string): { data: StoreData; unclean: boolean } {
  let parsed: { data: unknown; unclean: boolean } = { data: {}, unclean: false };
  try {
    // An empty file is no config yet; a BOM (Windows editors add one) is not part of the JSON.
    parsed = ProfileStore.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read config file ${file}: ${firstLine(error)}`, {
        hint: 'fix or delete that file (it was left as it is)',
        cause: error,
      });
    }
  }
  const data = parsed.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${file} does not hold a JSON object`, { hint: 'fix or delete that file (it was left as it is)' });
  }
  return { data: data as StoreData, unclean: parsed.unclean };
}
