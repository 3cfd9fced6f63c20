#!/usr/bin/env node
// The only place that ends the process: run the CLI, then exit with its code.
// CommonJS (bin/package.json): Node sets up its ES module loader only when the CLI is imported,
// so the answers below cost no more than starting node itself.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

// `--version` and `--help`, which scripts and shells call often, are answered before anything else
// loads: the version the build puts in, and the help the build rendered from the program into
// dist/help.txt (commander wraps to a terminal's width, so a terminal gets the program's own).
const args = process.argv.slice(2);
const early = args.length === 1 ? earlyText(args[0]) : null;
if (early !== null) {
  process.stdout.write(early);
  process.exit(0);
}

function earlyText(arg) {
  try {
    if (arg === '--version' || arg === '-V') return `${JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')).version}\n`;
    if ((arg === '--help' || arg === '-h') && !process.stdout.isTTY) return readFileSync(join(__dirname, '../dist/help.txt'), 'utf8');
  } catch {
    // not built yet (the build renders the help through the program itself)
  }
  return null;
}

// Node 22+: keep compiled bytecode of our bundle between runs (a no-op on Node 20).
require('node:module').enableCompileCache?.();

// `imgdesc x.jpg | head -c 10`: a closed pipe ends the run quietly.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

import('../dist/main.js').then(async ({ main, processIO }) => {
  const code = await main(args, processIO());
  process.exit(code);
});
