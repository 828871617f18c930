/**
 * `bpfkit btf dump [FILE] [--format c|raw] [--base FILE] [--type NAME...]`: print a BTF blob (default: the
 * kernel's /sys/kernel/btf/vmlinux; an ELF object's .BTF section; a module's split BTF with --base) as a C header
 * (vmlinux.h) or in bpftool's raw format.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
// Narrow imports (not the area indexes): `btf dump` starts faster and smaller without CO-RE, the object loader...
import { Btf } from '../btf/btf.js';
import { btfToCBytes } from '../btf/cdump.js';
import { btfToRawChunks, formatRawType } from '../btf/raw.js';
import { parseElf } from '../elf/reader.js';
import { UsageError } from '../errors.js';

const FORMATS = ['c', 'raw'] as const;

/** Parse a BTF file: raw BTF, or an ELF object's .BTF section. */
function loadBtfFile(path: string, base?: Btf): Btf {
  const bytes = readFileSync(path);
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const sec = parseElf(bytes).section('.BTF');
    if (!sec) throw new UsageError(`${path}: ELF object has no .BTF section (compile with -g)`);
    return Btf.parse(sec.data, { base, name: path, section: `${path}:.BTF` });
  }
  return Btf.parse(bytes, { base, name: path, section: path });
}

/** Register the `btf` command (`btf dump`, `btf list`). */
export function register(program: Command): void {
  const btf = program.command('btf').description('inspect BTF (kernel, module or object file)');
  btf
    .command('list')
    .description('list the BTF objects loaded in the kernel (vmlinux, modules, programs, maps) by id')
    .option('--json', 'JSON output')
    // Imported on use: the kernel info modules stay out of `btf dump`'s start.
    .action(async (opts: { json?: boolean }) => (await import('./btf-list.js')).btfList(opts));
  btf
    .command('dump')
    .description('dump BTF as C (a vmlinux.h clang accepts) or in bpftool raw format')
    .argument('[file]', 'BTF blob or ELF object', '/sys/kernel/btf/vmlinux')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'raw')
    .option('--base <file>', 'base BTF of a split BTF (e.g. /sys/kernel/btf/vmlinux for a module)')
    .option('--type <name...>', 'only these named types (C: with what they depend on)')
    .action(async (file: string, opts: { format: string; base?: string; type?: string[] }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new UsageError(`--format: '${opts.format}' is not one of ${FORMATS.join(', ')}`);
      }
      const base = opts.base ? loadBtfFile(opts.base) : undefined;
      const b = loadBtfFile(file, base);
      let ids: number[] | undefined;
      if (opts.type) {
        ids = [];
        for (const name of opts.type) {
          const found = b.findIdsByName(name);
          if (!found.length) throw new UsageError(`no type named '${name}' in ${file}`);
          ids.push(...found);
        }
      }
      // Ignore a closed pipe (`bpfkit btf dump | head`).
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
      });
      // Streamed: each chunk is produced once stdout has taken the previous one (a slow pipe reader must not make
      // the whole dump pile up in memory); stop early once the reader has gone away.
      const chunks: Iterable<string | Uint8Array> =
        opts.format === 'c'
          ? btfToCBytes(b, { roots: ids })
          : ids
            ? ids.map((id) => formatRawType(b, b.typeById(id)) + '\n')
            : btfToRawChunks(b);
      const out = process.stdout;
      for (const chunk of chunks) {
        if (out.errored || out.destroyed) return;
        if (!out.write(chunk)) await once(out, 'drain');
      }
    });
}
