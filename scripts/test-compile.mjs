// Compiles src/ and test/ to JavaScript for the test run, one output file per source file, in
// node_modules/.cache/imgdesc/js/ (the same tree: src/…, test/…). Loading the TypeScript through
// tsx instead cost each test process about 0.4 s of CPU before its first test (tsx's hooks thread
// starting, then every import answered across it): with some sixty node processes in a run that was
// a third of the suite's CPU. esbuild compiles the whole tree in well under a second.
// Nothing is bundled: every relative import stays an import of its own file (with .ts read as .js),
// so a test file loads the same modules, in the same order, as under tsx.
import { build } from 'esbuild';
import { existsSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const OUT = join(ROOT, 'node_modules', '.cache', 'imgdesc', 'js');

function sources(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Imports of another source file become imports of its compiled file; anything else (scripts/*.mjs, a package) is left where it is. */
const keepFiles = {
  name: 'keep-files',
  setup(b) {
    b.onResolve({ filter: /^\.{1,2}\// }, (a) => {
      if (a.kind === 'entry-point') return undefined;
      if (a.path.endsWith('.ts')) return { path: a.path.replace(/\.ts$/, '.js'), external: true };
      // outside the compiled tree: point at the original from where the compiled file sits
      const target = resolve(a.resolveDir, a.path);
      const from = join(OUT, relative(ROOT, a.resolveDir));
      return { path: relative(from, target).replace(/^(?!\.)/, './'), external: true };
    });
  },
};

/** Compiles every .ts under src/ and test/ (the old output removed first, so a deleted file cannot linger). */
export async function compileTests() {
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entryPoints: [...sources('src'), ...sources('test')].map((f) => join(ROOT, f)),
    outdir: OUT,
    outbase: ROOT,
    bundle: true,
    packages: 'external',
    plugins: [keepFiles],
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // beside each file, not inside it (nothing to scan at load): `npm test -- --enable-source-maps`
    // then names the .ts line in a failing test's stack
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // The folder sits under node_modules, where node looks for no package.json of ours: say ESM here.
  writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
  return OUT;
}

/** Where a test file (relative to the repository) is compiled to. */
export const compiled = (file) => join(OUT, file.replace(/\.ts$/, '.js'));
let realOut;
/**
 * The repository-relative source of a compiled file (as node names it: its real path, also when
 * node_modules is a link), for durations; undefined for a file that is not compiled here.
 */
export function sourceOf(file) {
  realOut ??= existsSync(OUT) ? realpathSync(OUT) : OUT;
  const out = realOut;
  return file.startsWith(out + sep) ? relative(out, file).replace(/\.js$/, '.ts') : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await compileTests();
