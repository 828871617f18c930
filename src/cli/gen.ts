/** `bpfkit gen types FILE.o`: a typed TypeScript skeleton of an eBPF object (see src/gen). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { generateSkeleton } from '../gen/skeleton.js';
import { inFile } from './files.js';

/** Register the `gen` command group. */
export function register(program: Command): void {
  const gen = program.command('gen').description('generate code from eBPF objects');
  gen
    .command('types')
    .description('write a TypeScript module with typed programs, maps (key/value codecs) and .rodata settings')
    .argument('<file>', 'object file (clang -target bpf)')
    .option('--name <name>', 'skeleton name (default: the file name without .bpf.o)')
    .option('--type <struct...>', 'also emit these BTF structs (e.g. ring buffer event types)')
    .action((file: string, opts: { name?: string; type?: string[] }) => {
      const name = opts.name ?? basename(file).replace(/(\.bpf)?\.o$/, '');
      process.stdout.write(inFile(file, () => generateSkeleton(readFileSync(file), { name, types: opts.type })));
    });
}
