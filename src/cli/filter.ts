/**
 * `bpfkit filter compile EXPR [-d|-dd|-ddd] [--ebpf]`: compile a pcap filter expression, printing it exactly
 * in tcpdump's -d, -dd or -ddd format (default -d); `--ebpf` adds the kernel-equivalent eBPF translation.
 * `bpfkit filter run EXPR FILE [-w OUT]`: print the 1-based numbers of the packets the filter accepts and
 * optionally write them to a pcap. `bpfkit filter asm FILE` / `filter disasm FILE`: classic bpf_asm syntax.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { disassemble } from '../asm/index.js';
import {
  assembleClassic,
  classicToEbpf,
  compileFilter,
  disassembleClassic,
  formatDump,
  formatDumpC,
  formatDumpDecimal,
  matchRecords,
  parseDumpDecimal,
  validateFilter,
  type FilterEngine,
  type SockFilter,
} from '../cbpf/index.js';
import { UsageError } from '../errors.js';
import { readCapture, writePcap } from '../pcap/index.js';
import { inFile } from './files.js';

const LINKTYPES: Record<string, number> = { en10mb: 1, ether: 1, ethernet: 1, raw: 101, linux_sll: 113, sll: 113, ipv4: 228, ipv6: 229 };

function linktypeOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^[0-9]+$/.test(v)) return Number(v);
  const t = LINKTYPES[v.toLowerCase()];
  if (t === undefined) throw new UsageError(`--linktype: unknown link type '${v}' (EN10MB, RAW, LINUX_SLL, IPV4, IPV6 or a number)`);
  return t;
}

/** Format a classic program in tcpdump's -d (1), -dd (2) or -ddd (3) style. */
export function formatLevel(prog: readonly SockFilter[], level: number): string {
  if (level >= 3) return formatDumpDecimal(prog);
  if (level === 2) return formatDumpC(prog);
  return formatDump(prog);
}

function countD(cmd: Command): { get: () => number } {
  let level = 0;
  cmd.on('option:dump', () => level++);
  return { get: () => level };
}

/** Register the `filter` command group. */
export function register(program: Command): void {
  const filter = program.command('filter').description('classic BPF: the pcap filter language (tcpdump expressions)');

  const compile = filter
    .command('compile')
    .description("compile a filter expression; prints tcpdump's -d format (-dd: C array, -ddd: decimal)")
    .argument('<expr...>', 'filter expression (several words are joined with spaces, as tcpdump does)')
    .option('-d, --dump', 'dump format; repeat for -dd and -ddd')
    .option('--linktype <type>', 'link-layer type: EN10MB (default), RAW, LINUX_SLL, IPV4, IPV6 or a DLT number')
    .option('-s, --snaplen <n>', 'accept length returned for matches', '262144')
    .option('-O, --no-optimize', 'do not run the optimiser')
    .option('--ebpf', 'also print the translated eBPF (LLVM syntax)');
  const level = countD(compile);
  compile.action((words: string[], opts: { linktype?: string; snaplen: string; optimize: boolean; ebpf?: boolean }) => {
    const prog = compileFilter(words.join(' '), { linktype: linktypeOf(opts.linktype), snaplen: Number(opts.snaplen), optimize: opts.optimize });
    let out = formatLevel(prog, Math.max(1, level.get()));
    if (opts.ebpf) out += `; eBPF (${classicToEbpf(prog).length} slots)\n` + disassemble(classicToEbpf(prog), { syntax: 'llvm', labels: true });
    process.stdout.write(out.endsWith('\n') ? out : out + '\n');
  });

  filter
    .command('run')
    .description('print the 1-based numbers of the packets of a pcap/pcapng file the expression accepts')
    .argument('<expr>', 'filter expression')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .option('-w, --write <out>', 'write the matching packets to this pcap file')
    .option('--engine <engine>', 'cbpf (the classic interpreter) or ebpf (the translation, in the userspace VM)', 'cbpf')
    .option('-O, --no-optimize', 'do not run the optimiser')
    .action((expr: string, file: string, opts: { write?: string; engine: string; optimize: boolean }) => {
      if (opts.engine !== 'cbpf' && opts.engine !== 'ebpf') throw new UsageError(`--engine: '${opts.engine}' is not cbpf or ebpf`);
      const cap = inFile(file, () => readCapture(new Uint8Array(readFileSync(file))));
      const prog = compileFilter(expr, { linktype: cap.linktype, snaplen: cap.snaplen || 262144, optimize: opts.optimize });
      const hits = matchRecords(prog, cap.records, opts.engine as FilterEngine);
      process.stdout.write(hits.map((i) => `${i + 1}\n`).join(''));
      if (opts.write) writeFileSync(opts.write, writePcap(hits.map((i) => cap.records[i]!), { linktype: cap.linktype, snaplen: cap.snaplen }));
      process.stderr.write(`${hits.length} of ${cap.records.length} packets matched\n`);
    });

  const asm = filter
    .command('asm')
    .description('assemble classic BPF in bpf_asm syntax; prints -ddd by default (-d, -dd also)')
    .argument('<file>', 'bpf_asm source ("-" for stdin)')
    .option('-d, --dump', 'dump format; repeat for -dd and -ddd');
  const asmLevel = countD(asm);
  asm.action((file: string) => {
    const prog = assembleClassic(readFileSync(file === '-' ? 0 : file, 'utf8'));
    validateFilter(prog, { allowRetX: true });
    process.stdout.write(formatLevel(prog, asmLevel.get() || 3));
  });

  filter
    .command('disasm')
    .description('disassemble a classic program given in -ddd form (count, then "code jt jf k" lines) to bpf_asm syntax')
    .argument('<file>', '-ddd text ("-" for stdin)')
    .action((file: string) => {
      process.stdout.write(disassembleClassic(parseDumpDecimal(readFileSync(file === '-' ? 0 : file, 'utf8'))));
    });
}
