/**
 * `bpfkit asm FILE.s [-o FILE.bin] [--syntax ubpf|llvm|auto]`: assemble eBPF assembly into raw
 * little-endian instruction bytes (written to -o), or print them as hex, one instruction per line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { assemble, insnSlots } from '../asm/index.js';
import { UsageError } from '../errors.js';
import { encodeProgram } from '../isa/index.js';

const SYNTAXES = ['ubpf', 'llvm', 'auto'] as const;

/** Register the `asm` command. */
export function register(program: Command): void {
  program
    .command('asm')
    .description('assemble eBPF assembly (uBPF/bpf_conformance or LLVM/kernel syntax) into raw instructions')
    .argument('<file>', 'assembly source ("-" for stdin)')
    .option('-o, --output <file>', 'write the raw little-endian instruction bytes to this file')
    .option('--syntax <syntax>', `input syntax: ${SYNTAXES.join(', ')}`, 'auto')
    .action((file: string, opts: { output?: string; syntax: string }) => {
      if (!(SYNTAXES as readonly string[]).includes(opts.syntax)) {
        throw new UsageError(`--syntax: '${opts.syntax}' is not one of ${SYNTAXES.join(', ')}`);
      }
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      const insns = assemble(text, { syntax: opts.syntax as (typeof SYNTAXES)[number], file: file === '-' ? '<stdin>' : file });
      const bytes = encodeProgram(insns);
      if (opts.output) {
        writeFileSync(opts.output, bytes);
        return;
      }
      const lines: string[] = [];
      for (let pc = 0; pc < insns.length; pc += insnSlots(insns, pc)) {
        const n = insnSlots(insns, pc) * 8;
        lines.push([...bytes.subarray(pc * 8, pc * 8 + n)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
      }
      if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    });
}
