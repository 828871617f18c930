/**
 * `bpfkit disasm FILE.bin | --hex HEX [--syntax ubpf|llvm|kernel|objdump]`: decode raw little-endian
 * instruction bytes (rejecting invalid instructions with the pc) and print them as assembly.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { disassemble, formatKernel, formatLlvm, insnSlots, llvmObjdumpSlots } from '../asm/index.js';
import { UsageError } from '../errors.js';
import { decodeProgram, type Insn } from '../isa/index.js';
import { inFile } from './files.js';

const SYNTAXES = ['ubpf', 'llvm', 'kernel', 'objdump'] as const;

/** Parse hex text (whitespace, commas and `0x` prefixes allowed between bytes) into bytes. */
export function parseHexBytes(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean)) {
    const bad = clean.match(/[^0-9a-fA-F]/)![0];
    throw new UsageError(`--hex: invalid hex character '${bad}'`);
  }
  if (clean.length % 2) throw new UsageError('--hex: odd number of hex digits');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function render(insns: Insn[], syntax: (typeof SYNTAXES)[number], pcs: boolean, labels: boolean): string {
  if (syntax === 'ubpf' || syntax === 'llvm') return disassemble(insns, { syntax, pcs, labels });
  const out: string[] = [];
  for (let pc = 0; pc < insns.length; ) {
    const text = syntax === 'kernel' ? formatKernel(insns, pc) : formatLlvm(insns, pc);
    out.push(syntax === 'kernel' ? `${pc}: ${text}` : `${String(pc).padStart(8)}:\t${text}`);
    pc += syntax === 'kernel' ? insnSlots(insns, pc) : text === '<unknown>' ? 1 : llvmObjdumpSlots(insns, pc);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** Register the `disasm` command. */
export function register(program: Command): void {
  program
    .command('disasm')
    .description('disassemble raw eBPF instruction bytes')
    .argument('[file]', 'file of raw little-endian instructions ("-" for stdin)')
    .option('--hex <hex>', 'instruction bytes as hex instead of a file')
    .option('--syntax <syntax>', `output syntax: ${SYNTAXES.join(', ')} (objdump = exactly what llvm-objdump 14 prints)`, 'ubpf')
    .option('--pcs', 'prefix each instruction with its slot number')
    .option('--labels', 'name jump targets with labels instead of +N offsets')
    .option('--no-validate', 'print invalid slots as .insn instead of failing')
    .action((file: string | undefined, opts: { hex?: string; syntax: string; pcs?: boolean; labels?: boolean; validate: boolean }) => {
      if (!(SYNTAXES as readonly string[]).includes(opts.syntax)) {
        throw new UsageError(`--syntax: '${opts.syntax}' is not one of ${SYNTAXES.join(', ')}`);
      }
      if ((file === undefined) === (opts.hex === undefined)) throw new UsageError('disasm: give either FILE or --hex HEX');
      const bytes = opts.hex !== undefined ? parseHexBytes(opts.hex) : new Uint8Array(readFileSync(file === '-' ? 0 : file!));
      if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
        throw new UsageError(`${file}: is an ELF object, not raw instructions (use bpfkit objdump)`);
      }
      const insns = inFile(file ?? '', () => decodeProgram(bytes, { validate: opts.validate }));
      process.stdout.write(render(insns, opts.syntax as (typeof SYNTAXES)[number], !!opts.pcs, !!opts.labels));
    });
}
