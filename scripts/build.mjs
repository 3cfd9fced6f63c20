// Bundles src/ into dist/ with esbuild. One entry (the CLI); commands and heavy libraries are
// reached through `await import()`, which esbuild splits into chunks loaded only when used,
// so `imgdesc --help` and `--version` read a few small files.
// sharp (native addon), the HEIC decoder (WebAssembly) and exiftool-vendored (it finds its Perl
// script beside itself) stay in node_modules.
// Then the program's help is rendered once into dist/help.txt, which the entry prints for
// `imgdesc --help` without loading commander.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const undici = JSON.parse(readFileSync('node_modules/undici/package.json', 'utf8')).version;

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/cli/entry.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['sharp', 'libheif-js', 'exiftool-vendored'],
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS packages call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  define: { __IMGDESC_VERSION__: JSON.stringify(version), __UNDICI_VERSION__: JSON.stringify(undici) },
  legalComments: 'none',
  logLevel: 'warning',
});

// With no dist/help.txt yet, this goes through commander; stdout is a pipe, so 80 columns.
const help = spawnSync(process.execPath, ['bin/imgdesc.js', '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
if (help.status !== 0 || !help.stdout) throw new Error(`rendering the help failed: ${help.stderr}`);
writeFileSync('dist/help.txt', help.stdout);

// The man page, from the same command definitions (package.json's `man` field installs it).
const { manPage } = await import('../dist/main.js');
mkdirSync('man', { recursive: true });
writeFileSync('man/imgdesc.1', await manPage());
