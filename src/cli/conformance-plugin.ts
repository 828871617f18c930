/**
 * `bpfkit conformance-plugin [--program HEX] [MEMORY_HEX] [--elf]`: a bpf_conformance plugin. The runner passes
 * the program as base16 on stdin (or --program), the input memory as base16 in the first argument; r0 is printed
 * in hex on stdout. On a refused or faulting program: the message on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { base16Decode, runPluginProgram } from '../conformance/plugin.js';
import { UsageError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('conformance-plugin')
    .description('bpf_conformance plugin: program (base16) on stdin or --program, memory (base16) as argument, prints r0 in hex')
    .argument('[memory]', 'input memory, base16')
    .option('--program <hex>', 'program bytes, base16 (default: first line of stdin)')
    .option('--elf', 'program is an ELF object (not supported)')
    .action((memory: string | undefined, opts: { program?: string; elf?: boolean }) => {
      if (opts.elf) throw new UsageError('conformance-plugin: --elf input is not supported; pass raw instruction bytes');
      const text = opts.program ?? (readFileSync(0, 'utf8').split('\n')[0] ?? '');
      const prog = base16Decode(text, 'program');
      const mem = base16Decode(memory ?? '', 'memory');
      const r0 = runPluginProgram(prog, mem);
      process.stdout.write(r0.toString(16) + '\n');
    });
}
