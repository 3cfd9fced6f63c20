// Runs every test/**/*.test.ts with node:test (tsx compiles the TypeScript).
// Node 20's --test does not expand globs itself, so the files are listed here.
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=retry`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const args = process.argv.slice(2);
const picked = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const files = picked.length ? picked : find('test').sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...flags, ...files], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
