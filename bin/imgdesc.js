#!/usr/bin/env node
// The only place that ends the process: run the CLI, then exit with its code.
// CommonJS (bin/package.json): Node sets up its ES module loader only when the CLI is imported,
// so the answers below cost no more than starting node itself.
'use strict';
const { readFileSync, writeSync } = require('node:fs');
const { join } = require('node:path');

// `--version` and `--help`, which scripts and shells call often, are answered before anything else
// loads: the version the build puts in, and the help the build rendered from the program into
// dist/help.txt (commander wraps to a terminal's width, so a terminal gets the program's own).
const args = process.argv.slice(2);
const early = args.length === 1 ? earlyText(args[0]) : null;
if (early !== null && writeEarly(early)) process.exit(0);

function earlyText(arg) {
  try {
    if (arg === '--version' || arg === '-V') return `${JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')).version}\n`;
    if ((arg === '--help' || arg === '-h') && !process.stdout.isTTY) return readFileSync(join(__dirname, '../dist/help.txt'), 'utf8');
  } catch {
    // not built yet (the build renders the help through the program itself)
  }
  return null;
}

/** Writes it all to stdout before exit; false when stdout failed (the full path then says why). */
function writeEarly(text) {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off);
    return true;
  } catch (error) {
    if (error.code === 'EPIPE') process.exit(0);
    return off === 0 ? false : (process.stderr.write(`error: cannot write to stdout: ${error.code}\n`), process.exit(6));
  }
}

// Older Node lacks what undici and our code use (File, AbortSignal.any): say so instead of failing
// somewhere inside.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`error: imgdesc needs Node 20.18 or newer (this is Node ${process.versions.node})\n`);
  process.exit(3);
}

// Node 22+: keep compiled bytecode of our bundle between runs (a no-op on Node 20).
require('node:module').enableCompileCache?.();

// `imgdesc x.jpg | head -c 10`: a closed pipe ends the run quietly. Other stdout errors (a full
// disk) are processIO's: it stops the command and makes the exit code 6.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
});

// `imgdesc <image> [prompt]` loads the describe path alone, bundled in one CommonJS file
// (dist/plain.cjs: no ES module loader started); everything else the program (dist/main.js).
const { plainDescribe } = require('../dist/route.cjs');
(plainDescribe(args) ? Promise.resolve(require('../dist/plain.cjs')) : import('../dist/main.js')).then(async ({ main, processIO }) => {
  const io = processIO();
  const code = await main(args, io);
  // Exit only once stdout has taken every byte: a slow reader of a pipe gets the whole answer.
  process.exit(await io.settle(code));
});
