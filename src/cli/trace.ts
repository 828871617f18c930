/**
 * `bpfkit trace 'PROGRAM' | -e 'PROGRAM' | FILE.bt [ARG...] [-c CMD] [-p PID] [--unsafe] [--dry-run] [--json]`: a bpftrace-compatible
 * tracer (ARGs are the positional parameters $1, $2...). Compiles the script to eBPF, attaches it and prints like bpftrace (Ctrl-C stops and prints the maps).
 * `--dry-run` prints the generated programs in LLVM assembly syntax instead of running.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { formatLlvmAsm } from '../asm/index.js';
import { insnSlots } from '../asm/slots.js';
import { progTypeName } from '../isa/names.js';
import { compileScript } from '../trace/compile.js';
import { runScript } from '../trace/runtime.js';

interface TraceOptions {
  e?: string;
  c?: string;
  p?: string;
  dryRun?: boolean;
  unsafe?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('run a bpftrace-compatible tracing script (compiled to eBPF without LLVM)')
    .argument('[args...]', 'the script text or a .bt file (unless -e is given), then positional parameters ($1, $2...)')
    .option('-e <program>', 'the script text')
    .option('-c <cmd>', 'run this command and trace until it exits (cpid is its pid)')
    .option('-p <pid>', 'trace this process: uprobes in it only; stop when it exits')
    .option('--unsafe', 'allow functions that change the system: signal(), system()')
    .option('--dry-run', 'print the generated eBPF (LLVM syntax) instead of running')
    .option('--json', 'JSON lines output')
    .action(async (args: string[], opts: TraceOptions) => {
      let src = opts.e;
      let file = 'stdin';
      const params = [...args];
      if (src === undefined) {
        const arg = params.shift();
        if (arg === undefined) throw new UsageError('trace: give a program (text, -e TEXT or a .bt file)');
        if (existsSync(arg) && !arg.includes('{')) {
          src = readFileSync(arg, 'utf8');
          file = arg;
        } else src = arg;
      }
      const pid = opts.p !== undefined ? Number(opts.p) : undefined;
      if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) throw new UsageError(`trace: -p wants a process id, not "${opts.p}"`);
      const compiled = compileScript(src, { file, hasChild: opts.c !== undefined, params, pid, unsafe: opts.unsafe });
      if (opts.dryRun) {
        const out: string[] = [];
        for (const p of compiled.probes) {
          out.push(`${p.ap.name}: ${progTypeName(p.progType)}, ${p.program.insns.length} insns`);
          const insns = p.program.insns;
          for (let pc = 0; pc < insns.length; pc += insnSlots(insns, pc)) out.push(`${String(pc).padStart(5)}: ${formatLlvmAsm(insns, pc)}`);
          out.push('');
        }
        const maps = [...compiled.mapSpecs].map(([ref, s]) => `${ref} ${s.name}: type ${s.type} key ${s.keySize} value ${s.valueSize} entries ${s.maxEntries}`);
        process.stdout.write(out.join('\n') + 'maps:\n' + maps.map((m) => `  ${m}\n`).join(''));
        return;
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await runScript(compiled, {
          write: (s) => process.stdout.write(s),
          format: opts.json ? 'json' : 'text',
          signal: ac.signal,
          pid,
          command: opts.c,
          stderr: (s) => process.stderr.write(s),
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
