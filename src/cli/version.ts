// `imgdesc version` and `imgdesc --version --verbose`: what a bug report needs.
import { createRequire } from 'node:module';
import { ExitCode, type IO } from '../types.ts';
import { VERSION } from '../version.ts';
import type { Factory } from './factory.ts';
import type { version } from './commands.ts';
import type { OptionsOf } from './spec.ts';

// Filled in by the bundler (undici is bundled, so its package.json is not there to read).
declare const __UNDICI_VERSION__: string | undefined;

export interface VersionInfo {
  imgdesc: string;
  node: string;
  undici: string;
  sharp: string | null;
  libvips: string | null;
  platform: string;
  /** The system's libheif decoder when present (HEIC decoding), else the WebAssembly build. */
  heic: string;
}

function undiciVersion(): string {
  if (typeof __UNDICI_VERSION__ === 'string') return __UNDICI_VERSION__;
  try {
    return (createRequire(import.meta.url)('undici/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function versionInfo(env: Record<string, string | undefined>): Promise<VersionInfo> {
  let sharp: string | null = null;
  let libvips: string | null = null;
  try {
    const { default: s } = await import('sharp');
    sharp = s.versions.sharp ?? null;
    libvips = s.versions.vips;
  } catch {
    // a broken sharp install is exactly what a bug report should show
  }
  const { heicDecoder } = await import('../core/describe.ts');
  return {
    imgdesc: VERSION,
    node: process.version,
    undici: undiciVersion(),
    sharp,
    libvips,
    platform: `${process.platform} ${process.arch}`,
    heic: await heicDecoder(env),
  };
}

/** `imgdesc version [--json]` (commands.ts). */
export const run = (options: OptionsOf<typeof version>, f: Factory): Promise<number> => printVersion(options.json, f.io);

/** The versions, as text or JSON; also what `imgdesc -V -v` prints. */
export async function printVersion(json: boolean, io: IO): Promise<number> {
  const v = await versionInfo(io.env);
  if (json) {
    io.stdout.write(JSON.stringify(v, null, 2) + '\n');
    return ExitCode.ok;
  }
  const rows: Array<[string, string]> = [
    ['imgdesc', v.imgdesc],
    ['node', v.node],
    ['undici', v.undici],
    ['sharp', v.sharp ?? 'not loadable'],
    ['libvips', v.libvips ?? 'not loadable'],
    ['platform', v.platform],
    ['heic', v.heic],
  ];
  io.stdout.write(rows.map(([k, val]) => `${k.padEnd(9)} ${val}`).join('\n') + '\n');
  return ExitCode.ok;
}
