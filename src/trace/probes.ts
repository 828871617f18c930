/**
 * Probe specs → attach points: aliases (`t:`, `u:`...), units of `interval`/`profile`, and wildcard
 * expansion (tracepoints through tracefs, uprobes through the binary's symbol table).
 */
import { functionSymbols } from '../kernel/link/elf-symbols.js';
import { resolveLibrary } from '../kernel/link/libpath.js';
import { ProgType } from '../isa/uapi.js';
import { PerfHwConfig, PerfSwConfig, PerfType } from '../kernel/sys/perf.js';
import type { ProbeSpec } from './ast.js';
import { traceError, unsupported } from './errors.js';
import { listTracepoints } from './tpformat.js';
import { expandUsdt, type UsdtPoint } from './usdt.js';

/** A resolved place to attach one program. `name` is what the `probe` builtin prints. */
export type AttachPoint = { name: string } & (
  | { kind: 'BEGIN' | 'END' }
  | { kind: 'tracepoint'; category: string; event: string }
  | { kind: 'rawtracepoint'; event: string }
  | { kind: 'uprobe' | 'uretprobe'; binary: string; func: string }
  | { kind: 'kprobe' | 'kretprobe'; func: string }
  | { kind: 'interval'; periodNs: number }
  | { kind: 'profile'; hz: number }
  /** A counting perf event (software or hardware): the program runs every `count` events, on every CPU. */
  | { kind: 'software' | 'hardware'; type: number; config: number; count: number }
  | Omit<UsdtPoint, 'name'>
);

const ALIASES: Record<string, string> = {
  t: 'tracepoint',
  tracepoint: 'tracepoint',
  rawtracepoint: 'rawtracepoint',
  rt: 'rawtracepoint',
  u: 'uprobe',
  uprobe: 'uprobe',
  ur: 'uretprobe',
  uretprobe: 'uretprobe',
  k: 'kprobe',
  kprobe: 'kprobe',
  kr: 'kretprobe',
  kretprobe: 'kretprobe',
  i: 'interval',
  interval: 'interval',
  p: 'profile',
  profile: 'profile',
  U: 'usdt',
  usdt: 'usdt',
  s: 'software',
  software: 'software',
  h: 'hardware',
  hardware: 'hardware',
};

/** bpftrace's software events: name, alias, perf config, default count. */
const SOFTWARE_EVENTS: [string, string, number, number][] = [
  ['alignment-faults', '', PerfSwConfig.ALIGNMENT_FAULTS, 1],
  ['bpf-output', '', PerfSwConfig.BPF_OUTPUT, 1],
  ['context-switches', 'cs', PerfSwConfig.CONTEXT_SWITCHES, 1000],
  ['cpu-clock', 'cpu', PerfSwConfig.CPU_CLOCK, 1000000],
  ['cpu-migrations', '', PerfSwConfig.CPU_MIGRATIONS, 1],
  ['dummy', '', PerfSwConfig.DUMMY, 1],
  ['emulation-faults', '', PerfSwConfig.EMULATION_FAULTS, 1],
  ['major-faults', '', PerfSwConfig.PAGE_FAULTS_MAJ, 1],
  ['minor-faults', '', PerfSwConfig.PAGE_FAULTS_MIN, 100],
  ['page-faults', 'faults', PerfSwConfig.PAGE_FAULTS, 100],
  ['task-clock', '', PerfSwConfig.TASK_CLOCK, 1000000],
];
/** bpftrace's hardware events: name, alias, perf config, default count. */
const HARDWARE_EVENTS: [string, string, number, number][] = [
  ['backend-stalls', '', PerfHwConfig.STALLED_CYCLES_BACKEND, 1000000],
  ['branch-instructions', 'branches', PerfHwConfig.BRANCH_INSTRUCTIONS, 100000],
  ['branch-misses', '', PerfHwConfig.BRANCH_MISSES, 100000],
  ['bus-cycles', '', PerfHwConfig.BUS_CYCLES, 100000],
  ['cache-misses', '', PerfHwConfig.CACHE_MISSES, 1000000],
  ['cache-references', '', PerfHwConfig.CACHE_REFERENCES, 1000000],
  ['cpu-cycles', 'cycles', PerfHwConfig.CPU_CYCLES, 1000000],
  ['frontend-stalls', '', PerfHwConfig.STALLED_CYCLES_FRONTEND, 1000000],
  ['instructions', '', PerfHwConfig.INSTRUCTIONS, 1000000],
  ['ref-cycles', '', PerfHwConfig.REF_CPU_CYCLES, 1000000],
];

/** The BPF program type used for an attach point. */
export function progTypeFor(ap: AttachPoint): number {
  switch (ap.kind) {
    case 'BEGIN':
    case 'END':
    case 'rawtracepoint':
      return ProgType.RAW_TRACEPOINT;
    case 'tracepoint':
      return ProgType.TRACEPOINT;
    case 'interval':
    case 'profile':
    case 'software':
    case 'hardware':
      return ProgType.PERF_EVENT;
    default:
      return ProgType.KPROBE;
  }
}

/** A shell-style glob (`*`, `?`) as an anchored regular expression. */
export function globRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}
const isGlob = (s: string) => /[*?]/.test(s);

/** Expand one probe spec into its attach points. Throws TraceSyntaxError for bad or unmatched specs. */
export function expandProbe(spec: ProbeSpec, file?: string, pid?: number): AttachPoint[] {
  const text = spec.text;
  if (text === 'BEGIN' || text === 'END') return [{ kind: text, name: text }];
  const parts = text.split(':');
  const kind = ALIASES[parts[0]!];
  if (!kind) {
    if (['watchpoint', 'w', 'asyncwatchpoint', 'kfunc', 'f', 'kretfunc', 'fr', 'iter', 'it'].includes(parts[0]!)) {
      throw unsupported(`Probe type "${parts[0]}"`, spec.loc, file);
    }
    throw traceError(`Invalid probe type: ${parts[0]}`, spec.loc, file);
  }
  const bad = (why: string): never => {
    throw traceError(`${why}: ${text}`, spec.loc, file);
  };
  switch (kind) {
    case 'tracepoint': {
      if (parts.length !== 3 || !parts[1] || !parts[2]) bad('tracepoint probe must have a category and an event (tracepoint:category:event)');
      const [cat, ev] = [parts[1]!, parts[2]!];
      if (!isGlob(cat) && !isGlob(ev)) return [{ kind: 'tracepoint', category: cat, event: ev, name: `tracepoint:${cat}:${ev}` }];
      const rc = globRegExp(cat);
      const re = globRegExp(ev);
      const found = listTracepoints().filter(([c, e]) => rc.test(c) && re.test(e));
      if (!found.length) bad('No tracepoints match');
      return found.map(([c, e]) => ({ kind: 'tracepoint', category: c, event: e, name: `tracepoint:${c}:${e}` }));
    }
    case 'rawtracepoint': {
      if (parts.length !== 2 || !parts[1]) bad('rawtracepoint probe must name a tracepoint (rawtracepoint:name)');
      if (isGlob(parts[1]!)) throw unsupported('Wildcards in rawtracepoint probes', spec.loc, file);
      return [{ kind: 'rawtracepoint', event: parts[1]!, name: `rawtracepoint:${parts[1]}` }];
    }
    case 'uprobe':
    case 'uretprobe': {
      if (parts.length !== 3 || !parts[1] || !parts[2]) bad(`${kind} probe must have a binary and a function (${kind}:/path:function)`);
      const [bin, fn] = [parts[1]!, parts[2]!];
      if (/^0x[0-9a-f]+$|^\d+$/i.test(fn)) throw unsupported('uprobes on addresses', spec.loc, file);
      if (!isGlob(fn)) return [{ kind, binary: bin, func: fn, name: `${kind}:${bin}:${fn}` }];
      let names: string[];
      try {
        names = [...new Set(functionSymbols(resolveLibrary(bin)).map((s) => s.name))];
      } catch (e) {
        return bad(`cannot read symbols of ${bin} (${(e as Error).message})`);
      }
      const re = globRegExp(fn);
      const found = names.filter((n) => re.test(n)).sort();
      if (!found.length) bad('No functions match');
      return found.map((f) => ({ kind, binary: bin, func: f, name: `${kind}:${bin}:${f}` }));
    }
    case 'usdt': {
      if (parts.length !== 3 && parts.length !== 4) throw traceError('usdt probe type requires 2 or 3 arguments', spec.loc, file);
      const bin = parts[1]!;
      const provider = parts.length === 4 ? parts[2]! : undefined;
      const name = parts[parts.length - 1]!;
      if (!bin || !name || provider === '') bad('usdt probe must have a binary, an optional provider and a name (usdt:/path:provider:name)');
      if (isGlob(bin)) throw unsupported('Wildcards in the binary of usdt probes', spec.loc, file);
      let found: UsdtPoint[];
      try {
        found = expandUsdt(bin, provider, name, bin, (g, s) => globRegExp(g).test(s), pid);
      } catch (e) {
        return bad(`cannot read the USDT probes of ${bin} (${(e as Error).message})`);
      }
      if (!found.length) throw traceError(`Error finding location for probe: usdt:${bin}:${provider ?? ''}${provider === undefined ? '' : ':'}${name}`, spec.loc, file);
      return found;
    }
    case 'kprobe':
    case 'kretprobe': {
      const fn = parts.length === 2 ? parts[1]! : parts.length === 3 ? parts[2]! : '';
      if (!fn) bad(`${kind} probe must name a function (${kind}:function)`);
      if (isGlob(fn)) throw unsupported('Wildcards in kprobes', spec.loc, file);
      return [{ kind, func: fn, name: `${kind}:${fn}` }];
    }
    case 'software':
    case 'hardware': {
      // software:EVENT[:COUNT] / hardware:EVENT[:COUNT] (bpftrace's names and aliases).
      if (parts.length < 2 || parts.length > 3 || !parts[1]) bad(`${kind} probe must name an event (${kind}:event[:count])`);
      const table = kind === 'software' ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
      const ev = table.find(([n, alias]) => n === parts[1] || (alias && alias === parts[1]));
      if (!ev) throw traceError(`${parts[1]} is not a ${kind} probe`, spec.loc, file);
      let count = ev[3];
      if (parts.length === 3) {
        if (!/^\d+$/.test(parts[2]!) || Number(parts[2]) <= 0) bad(`${kind} probe count must be a positive integer`);
        count = Number(parts[2]);
      }
      return [{ kind, type: kind === 'software' ? PerfType.SOFTWARE : PerfType.HARDWARE, config: ev[2], count, name: `${kind}:${ev[0]}:${count}` }];
    }
    case 'interval':
    case 'profile': {
      if (parts.length !== 3 || !/^\d+$/.test(parts[2]!) || Number(parts[2]) <= 0) bad(`${kind} probe must have a unit and a positive rate (${kind}:ms:100)`);
      const n = Number(parts[2]);
      const unit = parts[1]!;
      const ns: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3 };
      if (unit === 'hz') return kind === 'profile' ? [{ kind, hz: n, name: text }] : [{ kind, periodNs: Math.round(1e9 / n), name: text }];
      if (ns[unit] === undefined) bad(`Invalid unit "${unit}" (hz, s, ms, us)`);
      if (kind === 'interval') return [{ kind, periodNs: n * ns[unit]!, name: text }];
      throw unsupported(`profile probes with unit "${unit}" (use profile:hz:N)`, spec.loc, file);
    }
  }
  return bad('Invalid probe');
}
