/**
 * `bpfkit prog list|show|load|run|dump|pin|detach` in bpftool's spirit: list loaded programs, show one, load an
 * object's programs (pinning them), run one with BPF_PROG_TEST_RUN (printing what bpftool prints), dump its
 * xlated instructions (prog-dump.ts), pin it, detach it from an attach-type hook (BPF_PROG_DETACH).
 * Also the small table / JSON output helpers the other kernel commands share.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ObjectSpec } from '../spec/program.js';
import { Collection } from '../kernel/load/collection.js';
import { readKernelObject } from '../kernel/load/object-file.js';
import { KernelProgram } from '../kernel/load/program.js';
import { objectIds, tryOpenById } from '../kernel/info/ids.js';
import { progInfo, type ProgInfo } from '../kernel/info/info.js';
import { inFile } from './files.js';
import { registerDump } from './prog-dump.js';
import { registerDetach } from './prog-detach.js';

/** Print rows as an aligned table (header first). */
export function printTable(header: string[], rows: (string | number | bigint)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n');
}

/** JSON with bigints as numbers (or strings when too large) and byte arrays as hex. */
export function printJson(value: unknown): void {
  process.stdout.write(
    JSON.stringify(value, (_k, v) => {
      if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      return v;
    }) + '\n',
  );
}

/** A program from `ID` (a number) or a pinned path. */
export function openProgram(ref: string): KernelProgram {
  if (/^\d+$/.test(ref)) return KernelProgram.fromId(Number(ref));
  if (ref.startsWith('/')) return KernelProgram.fromPin(ref);
  throw new UsageError(`${ref}: give a program id or a pinned path under bpffs`);
}

/**
 * Load an object file's spec for the kernel: CO-RE relocated against the running kernel's BTF (vmlinux + module
 * BTF); warnings (poisoned relocations) go to stderr.
 */
export function readObject(file: string): ObjectSpec {
  const obj = inFile(file, () => readKernelObject(file));
  for (const w of obj.warnings) process.stderr.write(`warning: ${w}\n`);
  return obj.spec;
}

/** A program's name by id ('' when it is gone or nameless). */
export function progNameById(id: number): string {
  const fd = tryOpenById('prog', id);
  if (!fd) return '';
  try {
    return progInfo(fd.fd).name;
  } finally {
    fd.close();
  }
}

function progRow(i: ProgInfo): (string | number | bigint)[] {
  return [i.id, i.typeName, i.name || '-', i.tag, i.xlatedLen, i.jitedLen, i.mapIds.join(',') || '-', i.runCount];
}
const HEADER = ['ID', 'TYPE', 'NAME', 'TAG', 'XLATED', 'JITED', 'MAPS', 'RUN_CNT'];

/** Register `prog`. */
export function register(program: Command): void {
  const prog = program.command('prog').description('loaded kernel programs: list, show, load, run, dump, pin, detach');

  prog
    .command('list')
    .description('list every loaded program')
    .option('--json', 'JSON output')
    .action((opts: { json?: boolean }) => {
      const infos: ProgInfo[] = [];
      for (const id of objectIds('prog')) {
        const fd = tryOpenById('prog', id);
        if (!fd) continue;
        try {
          infos.push(progInfo(fd.fd));
        } finally {
          fd.close();
        }
      }
      if (opts.json) printJson(infos);
      else printTable(HEADER, infos.map(progRow));
    });

  prog
    .command('show')
    .description('show one program')
    .argument('<prog>', 'program id or pinned path')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { json?: boolean }) => {
      const p = openProgram(ref);
      try {
        const i = p.info();
        if (opts.json) printJson(i);
        else printTable(HEADER, [progRow(i)]);
      } finally {
        p.close();
      }
    });

  prog
    .command('load')
    .description('load the programs of an object file (they live on only when pinned)')
    .argument('<file>', 'eBPF ELF object')
    .option('--pin <dir>', 'pin every loaded program as DIR/<name> (bpffs)')
    .option('--program <name...>', 'load only these programs')
    .option('--json', 'JSON output')
    .action((file: string, opts: { pin?: string; program?: string[]; json?: boolean }) => {
      const spec = readObject(file);
      const c = Collection.load(spec, { programs: opts.program });
      try {
        const rows: ProgInfo[] = [];
        for (const [name, p] of c.programs) {
          if (opts.pin) p.pin(`${opts.pin.replace(/\/$/, '')}/${name}`);
          rows.push(p.info());
        }
        if (opts.json) printJson({ programs: rows, pinned: opts.pin ?? null, warnings: c.warnings });
        else {
          printTable(HEADER, rows.map(progRow));
          for (const w of c.warnings) process.stderr.write(`warning: ${w}\n`);
          if (!opts.pin) process.stderr.write('note: not pinned (--pin DIR): the programs are unloaded when bpfkit exits\n');
        }
      } finally {
        c.close();
      }
    });

  prog
    .command('run')
    .description('run a program once or N times on test input (BPF_PROG_TEST_RUN)')
    .argument('<prog>', 'program id or pinned path')
    .option('--data <file>', 'packet data in')
    .option('--data-out <file>', 'write the data out here')
    .option('--ctx <file>', 'context in')
    .option('--ctx-out <file>', 'write the context out here')
    .option('--repeat <n>', 'runs', '1')
    .option('--json', 'JSON output')
    .action((ref: string, opts: { data?: string; dataOut?: string; ctx?: string; ctxOut?: string; repeat: string; json?: boolean }) => {
      const repeat = Number(opts.repeat);
      if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat: '${opts.repeat}' is not a positive integer`);
      const p = openProgram(ref);
      try {
        const r = p.testRun({
          data: opts.data ? readFileSync(opts.data) : undefined,
          ctx: opts.ctx ? readFileSync(opts.ctx) : undefined,
          repeat,
        });
        if (opts.dataOut && r.data) writeFileSync(opts.dataOut, r.data);
        if (opts.ctxOut && r.ctx) writeFileSync(opts.ctxOut, r.ctx);
        if (opts.json) printJson({ retval: r.retval, duration: r.duration, data_size_out: r.data?.length ?? 0 });
        // bpftool's exact line.
        else process.stdout.write(`Return value: ${r.retval >>> 0}, duration${repeat > 1 ? ' (average)' : ''}: ${r.duration}ns\n`);
      } finally {
        p.close();
      }
    });

  registerDump(prog);

  prog
    .command('pin')
    .description('pin a program in bpffs (it then outlives its loader)')
    .argument('<prog>', 'program id or pinned path')
    .argument('<path>', 'new pin path (under /sys/fs/bpf)')
    .action((ref: string, path: string) => {
      const p = openProgram(ref);
      try {
        p.pin(path);
      } finally {
        p.close();
      }
    });

  registerDetach(prog);
}
