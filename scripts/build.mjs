// Bundles src/ into dist/ with esbuild. One entry (the CLI); commands and heavy libraries are
// reached through `await import()`, which esbuild splits into chunks loaded only when used,
// so `imgdesc --help` and `--version` read a few small files. The plain describe has its own
// bundle (dist/plain.cjs, below).
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
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS packages call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  define: { __IMGDESC_VERSION__: JSON.stringify(version), __UNDICI_VERSION__: JSON.stringify(undici) },
  legalComments: 'none',
  logLevel: 'warning',
};
const external = ['sharp', 'libheif-js', 'exiftool-vendored'];
await build({
  ...common,
  entryPoints: { main: 'src/cli/entry.ts' },
  outdir: 'dist',
  splitting: true,
  external,
  chunkNames: 'chunks/[name]-[hash]',
});
// The plain describe, `imgdesc <image> [prompt]` (a shell loop's call), in one file: loading the
// ≈28 chunks it reaches in the split build was most of its time. The libraries it reaches only on
// rare paths (undici: proxies; ajv: --schema; ora: a terminal's spinner; exif-reader: EXIF; conf,
// commander, file-type) are not copied in: there they load from node_modules (import() stays
// import(), so the ES-module-only ones load as such).
// CommonJS, required by the bin: Node then never starts its ES module loader for the run (≈7 ms of
// a describe on Node 20, 3 ms on Node 22). import.meta.url is the file's own URL, as in a module.
await build({
  ...common,
  format: 'cjs',
  banner: { js: "'use strict';\nconst __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...common.define, 'import.meta.url': '__importMetaUrl' },
  entryPoints: { plain: 'src/cli/plain.ts' },
  outfile: 'dist/plain.cjs',
  external: [...external, 'undici', 'ajv', 'ajv-formats', 'conf', 'commander', 'file-type', 'ora', 'exif-reader'],
});
// bin/imgdesc.js picks dist/plain.cjs or dist/main.js with this, before loading either.
await build({
  entryPoints: { route: 'src/cli/route.ts' },
  outfile: 'dist/route.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
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
