#!/usr/bin/env node
// The only place that ends the process: run the CLI, then exit with its code.
import { main, processIO } from '../dist/main.js';

const code = await main(process.argv.slice(2), processIO());
process.exit(code);
