/**
 * `bpfkit conformance [paths...]`: run bpf_conformance .data tests on the userspace interpreter. Prints one
 * `FAIL file:line: reason` line per failure (and `PASS file` with --verbose), then `N passed, N failed`;
 * exits 1 if any test failed.
 */
import type { Command } from 'commander';
import { formatConformanceResult, listConformanceFiles, runConformanceFile } from '../conformance/run.js';
import { UsageError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('conformance')
    .description('run bpf_conformance .data tests (files, or directories of *.data) on the interpreter')
    .argument('<paths...>', 'test files or directories')
    .option('-v, --verbose', 'also print passing tests')
    .option('--max-insns <n>', 'instruction budget per test', '100000000')
    .option('--engine <engine>', 'interp (the interpreter) or jit (WebAssembly JIT)', 'interp')
    .action((paths: string[], opts: { verbose?: boolean; maxInsns: string; engine: string }) => {
      const maxInsns = Number(opts.maxInsns);
      const engine = opts.engine;
      if (engine !== 'interp' && engine !== 'jit') throw new UsageError(`--engine: '${engine}' is not interp or jit`);
      if (!Number.isInteger(maxInsns) || maxInsns <= 0) throw new UsageError(`--max-insns: '${opts.maxInsns}' is not a positive integer`);
      let files: string[];
      try {
        files = listConformanceFiles(paths);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      let passed = 0;
      let failed = 0;
      for (const f of files) {
        const r = runConformanceFile(f, { maxInsns, engine });
        if (r.pass) passed++;
        else failed++;
        if (!r.pass || opts.verbose) process.stdout.write(formatConformanceResult(r) + '\n');
      }
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
    });
}
