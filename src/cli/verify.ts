/**
 * `bpfkit verify FILE.o [--program NAME] [--log]`: run bpfkit's static verifier on the programs of an eBPF
 * object (CO-RE relocated against the running kernel's BTF when it has one) and print each verdict; a rejected
 * program prints the instruction, the reason and the source line, and the exit status is 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Btf } from '../btf/btf.js';
import { loadObjectSpec } from '../elf/object.js';
import { UsageError } from '../errors.js';
import { progTypeName } from '../isa/names.js';
import { verify } from '../verifier/index.js';
import { inFile } from './files.js';

interface VerifyCliOptions {
  program?: string;
  log?: boolean;
  kernelPolicy?: boolean;
  btf?: string;
}

/** Register the `verify` command. */
export function register(program: Command): void {
  program
    .command('verify')
    .description("prove the programs of an eBPF object safe with bpfkit's static verifier (no kernel needed)")
    .argument('<file>', 'object file (clang -target bpf)')
    .option('--program <name>', 'verify only this program')
    .option('--log', 'print the register state at every processed instruction')
    .option('--kernel-policy', "judge as the kernel does for root (allows uninitialised stack reads and pointer return values)")
    .option('--btf <path>', 'target BTF for CO-RE relocations (default /sys/kernel/btf/vmlinux when present)')
    .action((file: string, opts: VerifyCliOptions) => {
      const btfPath = opts.btf ?? (existsSync('/sys/kernel/btf/vmlinux') ? '/sys/kernel/btf/vmlinux' : undefined);
      const targetBtf = btfPath ? inFile(btfPath, () => Btf.loadKernel(btfPath)) : undefined;
      const spec = inFile(file, () => loadObjectSpec(readFileSync(file), { targetBtf: targetBtf as never }));
      const progs = opts.program ? spec.programs.filter((p) => p.name === opts.program) : spec.programs;
      if (!progs.length) {
        throw new UsageError(opts.program ? `${file}: no program named ${opts.program} (have: ${spec.programs.map((p) => p.name).join(', ')})` : `${file}: no programs`);
      }
      let failed = 0;
      for (const p of progs) {
        const r = verify(p, { maps: spec.maps, log: opts.log, strict: !opts.kernelPolicy });
        const head = `${p.name} (${progTypeName(p.type)}, ${p.insns.length} insns)`;
        if (opts.log) for (const l of r.log) process.stdout.write(`  ${l}\n`);
        if (r.ok) {
          process.stdout.write(`${head}: verified — ${r.stats.insnsProcessed} insns processed, ${r.stats.states} states, peak ${r.stats.peakStates}\n`);
        } else {
          failed++;
          process.stdout.write(`${head}: REJECTED\n  ${r.errors[0]!.message}\n`);
        }
      }
      process.exitCode = failed ? 1 : 0;
    });
}
