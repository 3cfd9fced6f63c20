// Bundles src/ into dist/ with esbuild. One entry (the CLI); commands and heavy libraries are
// reached through `await import()`, which esbuild splits into chunks loaded only when used,
// so `imgdesc --help` and `--version` read a few small files.
// sharp (native addon) and the HEIC decoder (WebAssembly) stay in node_modules.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['sharp', 'heic-decode', 'libheif-js'],
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS packages call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  define: { __IMGDESC_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
});
