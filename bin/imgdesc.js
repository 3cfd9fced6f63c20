#!/usr/bin/env node
// The only place that ends the process: run the CLI, then exit with its code.
import module from 'node:module';
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with a WebAssembly build of llhttp. V8 compiles it twice on every start,
// the second time with its optimising tier (≈60 ms of CPU on 2 cores) for code that a CLI run
// uses for a few kilobytes; the baseline compiler alone is plenty. Set before undici loads.
setFlagsFromString('--liftoff-only');
// Node 22+: keep compiled bytecode of our bundle between runs (a no-op on Node 20).
module.enableCompileCache?.();

// `imgdesc x.jpg | head -c 10`: a closed pipe ends the run quietly.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { main, processIO } = await import('../dist/main.js');
const code = await main(process.argv.slice(2), processIO());
process.exit(code);
