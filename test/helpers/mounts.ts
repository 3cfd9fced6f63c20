// Small filesystems for failure tests: a read-only folder and a nearly full disk, made with
// tmpfs mounts (the test machine and CI run as root; chmod does not stop root from writing).
// Tests skip with the reason when mounting is not possible here.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.ts';

export interface Mount {
  dir: string;
  /** Remounts read-only or read-write. */
  remount(mode: 'ro' | 'rw'): void;
  unmount(): void;
}

function canMount(): string | false {
  if (process.platform !== 'linux') return 'skipped: needs Linux tmpfs mounts';
  if (process.getuid?.() !== 0) return false; // chmod is enough for a non-root user (see readOnly)
  const probe = tempDir('imgdesc-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return false;
  } catch {
    return 'skipped: running as root without permission to mount tmpfs';
  }
}

export const noMounts: string | false = canMount();
const root = process.getuid?.() === 0;
/** Full-disk tests need a mount even for non-root users. */
export const noTmpfs: string | false = noMounts || (root ? false : 'skipped: a small tmpfs needs root');

/** A tmpfs of `size` bytes (root only; check `noTmpfs`). */
export function tmpfs(size: number): Mount {
  const dir = tempDir('imgdesc-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    remount: (mode) => execFileSync('mount', ['-o', `remount,${mode}`, dir]),
    unmount: () => execFileSync('umount', ['-l', dir]),
  };
}

/**
 * A folder this process cannot create files in: a read-only tmpfs as root, chmod 0555 otherwise.
 * `fill` runs first, while it is still writable.
 */
export function readOnlyDir(fill: (dir: string) => void): { dir: string; release(): void } {
  if (root) {
    const m = tmpfs(4 * 1024 * 1024);
    fill(m.dir);
    m.remount('ro');
    return { dir: m.dir, release: () => m.unmount() };
  }
  const dir = join(tempDir(), 'ro');
  mkdirSync(dir);
  fill(dir);
  chmodSync(dir, 0o555);
  return { dir, release: () => chmodSync(dir, 0o755) };
}
