/**
 * `bpfkit prog dump xlated|jited`: a loaded program's translated instructions in bpftool's layout (function
 * prototypes and `; source` lines from BTF, `--linum` file/line/column, `--opcodes` raw bytes), or its JIT image
 * as raw bytes (`--raw FILE`; there is no x86 disassembler in bpfkit).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { bpfAttr, scratchAttr, Attr } from '../kernel/sys/bpf.js';
import { dumpXlated, type XlatedInsn } from '../kernel/info/xlated.js';
import { openProgram, printJson } from './prog.js';

const hexBytes = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');

/** A prototype spelled as bpftool does: `void * ctx`, `struct __sk_buff * skb`. */
const bpftoolProto = (c: string) => c.replace(/\s*(\*+)\s*/g, (_m, stars: string) => ` ${stars.split('').join(' ')} `);

/** bpftool's plain text for one instruction (and what precedes it). Source lines lose their indentation, as there. */
function plain(i: XlatedInsn, opts: { linum?: boolean; opcodes?: boolean }): string {
  let s = '';
  if (i.func) s += `${bpftoolProto(i.func)}:\n`;
  for (const l of i.lines) s += `; ${l.src.trimStart()}${opts.linum ? ` [file:${l.file} line_num:${l.line} line_col:${l.col}]` : ''}\n`;
  s += `${String(i.pc).padStart(4)}: ${i.text}\n`;
  if (opts.opcodes) s += `       ${hexBytes(i.bytes)}\n`;
  return s;
}

/** The JIT image of a program (BPF_OBJ_GET_INFO_BY_FD jited_prog_insns). */
function jitedBytes(fd: number): Buffer {
  const first = new Attr('PROG_INFO');
  const a = scratchAttr('INFO');
  a.set('bpf_fd', fd).set('info_len', first.size).set('info', first.buf);
  bpfAttr('OBJ_GET_INFO_BY_FD', a);
  const len = first.get('jited_prog_len');
  const image = Buffer.alloc(len);
  if (!len) return image;
  const info = new Attr('PROG_INFO').setAll({ jited_prog_len: len, jited_prog_insns: image });
  const b = scratchAttr('INFO');
  b.set('bpf_fd', fd).set('info_len', info.size).set('info', info.buf);
  bpfAttr('OBJ_GET_INFO_BY_FD', b);
  return image.subarray(0, Math.min(len, info.get('jited_prog_len')));
}

/** Register `prog dump` under the `prog` command. */
export function registerDump(prog: Command): void {
  const dump = prog.command('dump').description('dump a loaded program: xlated (disassembled) or jited (raw bytes)');
  dump
    .command('xlated')
    .description("the kernel's translated instructions, disassembled as bpftool does (helpers named, map[id:N])")
    .argument('<prog>', 'program id or pinned path')
    .option('--linum', 'show file, line and column of each source line')
    .option('--opcodes', 'show the raw bytes of each instruction')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { linum?: boolean; opcodes?: boolean; json?: boolean }) => {
      const p = openProgram(ref);
      try {
        const d = dumpXlated(p.fd);
        if (!d.insns.length) throw new UsageError(`program ${d.progId}: the kernel gave no instructions (needs CAP_SYS_ADMIN or CAP_PERFMON)`);
        if (opts.json) {
          printJson(
            d.insns.map((i) => ({
              pc: i.pc,
              ...(i.func ? { proto: bpftoolProto(i.func) } : {}),
              ...(i.lines.length ? { lines: i.lines.map((l) => ({ ...l, src: l.src.trimStart() })) } : {}),
              disasm: i.text,
              code: i.insn.code,
              opcodes: hexBytes(i.bytes),
            })),
          );
        } else process.stdout.write(d.insns.map((i) => plain(i, opts)).join(''));
      } finally {
        p.close();
      }
    });
  dump
    .command('jited')
    .description('the JIT image: only as raw bytes to a file (--raw), bpfkit has no x86/arm64 disassembler')
    .argument('<prog>', 'program id or pinned path')
    .option('--raw <file>', 'write the machine code bytes to FILE')
    .action((ref: string, opts: { raw?: string }) => {
      if (!opts.raw) throw new UsageError('prog dump jited: disassembly is not supported (needs an x86 disassembler); use --raw FILE for the bytes');
      const p = openProgram(ref);
      try {
        const image = jitedBytes(p.fd);
        if (!image.length) throw new UsageError(`${ref}: no JIT image (JIT disabled, or no CAP_SYS_ADMIN/CAP_PERFMON)`);
        writeFileSync(opts.raw, image);
        process.stderr.write(`wrote ${image.length} bytes to ${opts.raw}\n`);
      } finally {
        p.close();
      }
    });
}
