#!/usr/bin/env node
// Entry point of the `bpfkit` command; the implementation is compiled TypeScript under dist/.
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: internal: ${err?.message ?? err}\n`);
    process.exitCode = 70;
  },
);
