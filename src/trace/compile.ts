/**
 * The compiler driver: source → parsed script → attach points (wildcards expanded) → checked probes →
 * per-probe eBPF programs plus the map specs and event layouts the runtime needs. Nothing is loaded here.
 */
import { MapType } from '../isa/uapi.js';
import type { MapSpec } from '../spec/map.js';
import type { Script } from './ast.js';
import { EVENTS_MAP, GLOBALS_MAP, JOIN_MAP, JOIN_VALUE_SIZE, USTACK_PID_MAP, generateProbe, stackMapRef, type GeneratedProgram } from './codegen.js';
import { traceError } from './errors.js';
import { parseScript } from './parser.js';
import { expandProbe, progTypeFor, type AttachPoint } from './probes.js';
import { ctypeSize, layoutRecord, parseCType, type CType } from './ctypes.js';
import { checkProbe, type CheckedProbe, type Globals, type PrintfInfo } from './semantic.js';
import { tracepointFields, type TpField } from './tpformat.js';
import { STACK_MAX, isPerCpu, mapKeySize, mapValueSize, type MapInfo, type Ty } from './types.js';

/** Entries of each script map (bpftrace's default). */
export const MAP_ENTRIES = 4096;
/** Ring buffer bytes for events. */
export const RINGBUF_BYTES = 1 << 20;

/** One program to load and attach. */
export interface CompiledProbe {
  ap: AttachPoint;
  progType: number;
  program: GeneratedProgram;
}

/** A compiled script: programs, maps (script maps in name order, then internal ones) and event layouts. */
export interface CompiledScript {
  probes: CompiledProbe[];
  /** Script maps sorted by name (the order they are printed in). */
  maps: MapInfo[];
  /** Reference name (`m0`...) → kernel map spec, internal maps included. */
  mapSpecs: Map<string, MapSpec>;
  printfs: PrintfInfo[];
  /** Delimiters of the join() calls, by join id. */
  joins: string[];
  /** Attach-point count (what "Attaching N probes..." says). */
  attachCount: number;
  usesStacks: { kernel: boolean; user: boolean };
  /** time() formats, by id. */
  timeFormats: string[];
}

/** Every type a checked expression has, the element types of maps included. */
function allTypes(types: Iterable<Ty>, maps: Iterable<MapInfo>): Ty[] {
  const out = [...types];
  for (const m of maps) out.push(...m.keys, ...(m.value ? [m.value] : []));
  return out;
}

/** Compile options. */
export interface CompileOptions {
  /** Name of the source in error messages (default `stdin`). */
  file?: string;
  /** `-c CMD` is given (enables `cpid`). */
  hasChild?: boolean;
  /** Positional parameters: `$1` is params[0] (missing ones read as 0 / ""). */
  params?: string[];
  /** `-p PID`: USDT binaries given by name are looked up among the files the process maps. */
  pid?: number;
  /** `--unsafe`: allow signal(), system() and other functions that change the system. */
  unsafe?: boolean;
  /** Tracepoint field lookup (default: tracefs). */
  tracepointFields?: (category: string, name: string) => TpField[] | undefined;
}

/** Compile a bpftrace script. Throws TraceSyntaxError (one line, `file:line:col: ERROR: ...`). */
export function compileScript(src: string, opts: CompileOptions = {}): CompiledScript {
  const file = opts.file ?? 'stdin';
  const script = parseScript(src, file);
  return compileAst(script, opts);
}

/** Lay out the script's struct/union definitions (members may use earlier ones and kernel types). */
function defineRecords(script: Script, file: string): Map<string, CType> {
  const records = new Map<string, CType>();
  for (const d of script.structs) {
    // Registered first so members can point to the struct itself (`struct node *next`).
    const key = `${d.kind} ${d.name}`;
    let real: CType | undefined;
    const fwd: CType = { c: 'record', name: key, size: 0, fields: () => (real?.c === 'record' ? real.fields() : undefined) };
    records.set(key, fwd);
    const members = d.members.map((m) => {
      let t = parseCType(m.type, records);
      if (!t || t.c === 'void') throw traceError(`Unknown type '${m.type}' of member ${m.name} in ${d.kind} ${d.name}`, m.loc, file);
      for (const n of [...m.array].reverse()) t = { c: 'array', elem: t, n };
      return { name: m.name, type: t };
    });
    real = layoutRecord(d.kind, d.name, members);
    fwd.size = ctypeSize(real);
    records.set(key, real);
  }
  return records;
}

/** Compile an already parsed script. */
export function compileAst(script: Script, opts: CompileOptions = {}): CompiledScript {
  const file = opts.file ?? 'stdin';
  const fieldsOf = opts.tracepointFields ?? tracepointFields;
  const g: Globals = { maps: new Map(), file, hasChild: opts.hasChild ?? false, params: opts.params ?? [], unsafe: opts.unsafe ?? false, enums: new Map(script.enums.map((x) => [x.name, x.value])), records: defineRecords(script, file) };
  const units: { probe: Script['probes'][number]; ap: AttachPoint; fields?: TpField[] }[] = [];
  for (const probe of script.probes) {
    for (const spec of probe.specs) {
      for (const ap of expandProbe(spec, file, opts.pid)) {
        let fields: TpField[] | undefined;
        if (ap.kind === 'tracepoint') {
          fields = fieldsOf(ap.category, ap.event);
          if (!fields) throw traceError(`No tracepoint ${ap.category}:${ap.event} (see /sys/kernel/tracing/available_events)`, spec.loc, file);
        }
        units.push({ probe, ap, fields });
      }
    }
  }
  // Pass 1 collects map definitions from every probe; pass 2 checks strictly.
  for (const u of units) checkProbe(u.probe, u.ap, g, u.fields, true);
  const checked: CheckedProbe[] = units.map((u) => checkProbe(u.probe, u.ap, g, u.fields, false));

  const maps = [...g.maps.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const refOf = new Map(maps.map((m, i) => [m.name, `m${i}`]));
  const printfs: PrintfInfo[] = [];
  const printfKey = new Map<string, number>();
  const usesStacks = { kernel: false, user: false };
  const joins: string[] = [];
  const timeFormats: string[] = [];
  /** Stack maps by reference: user or kernel, and their frame limit. */
  const stackMaps = new Map<string, { user: boolean; limit: number }>();
  for (const t of allTypes(checked.flatMap((cp) => [...cp.types.values()]), g.maps.values())) {
    if (t.k !== 'stack') continue;
    usesStacks[t.user ? 'user' : 'kernel'] = true;
    stackMaps.set(stackMapRef(t.user, t.limit), { user: t.user, limit: t.limit ?? STACK_MAX });
  }
  const probes: CompiledProbe[] = checked.map((cp) => {
    const program = generateProbe(cp, {
      maps: g.maps,
      file,
      mapRef: (n) => refOf.get(n)!,
      mapIndex: (n) => maps.findIndex((m) => m.name === n),
      printfId: (info) => {
        const k = JSON.stringify(info);
        let id = printfKey.get(k);
        if (id === undefined) {
          id = printfs.length;
          printfs.push(info);
          printfKey.set(k, id);
        }
        return id;
      },
      joinId: (delim) => {
        const i = joins.indexOf(delim);
        return i >= 0 ? i : joins.push(delim) - 1;
      },
      timeId: (fmt) => {
        const i = timeFormats.indexOf(fmt);
        return i >= 0 ? i : timeFormats.push(fmt) - 1;
      },
    });
    return { ap: cp.ap, progType: progTypeFor(cp.ap), program };
  });

  const mapSpecs = new Map<string, MapSpec>();
  maps.forEach((m, i) => {
    mapSpecs.set(`m${i}`, {
      name: `AT_${m.name}`.slice(0, 15),
      type: isPerCpu(m) ? MapType.PERCPU_HASH : MapType.HASH,
      keySize: mapKeySize(m),
      valueSize: mapValueSize(m),
      maxEntries: MAP_ENTRIES,
      flags: 0,
    });
  });
  mapSpecs.set(EVENTS_MAP, { name: 'bt_events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: RINGBUF_BYTES, flags: 0 });
  mapSpecs.set(GLOBALS_MAP, { name: 'bt_globals', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, flags: 0 });
  if (joins.length) mapSpecs.set(JOIN_MAP, { name: 'bt_join', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: JOIN_VALUE_SIZE, maxEntries: 1, flags: 0 });
  for (const [ref, sm] of stackMaps) {
    const name = `bt_${sm.user ? 'u' : 'k'}stack${sm.limit === STACK_MAX ? '' : `_${sm.limit}`}`.slice(0, 15);
    mapSpecs.set(ref, { name, type: MapType.STACK_TRACE, keySize: 4, valueSize: sm.limit * 8, maxEntries: 4096, flags: 0 });
  }
  if (usesStacks.user) mapSpecs.set(USTACK_PID_MAP, { name: 'bt_ustack_pid', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 16384, flags: 0 });
  return { probes, maps, mapSpecs, printfs, joins, attachCount: probes.reduce((n, p) => n + (p.ap.kind === 'usdt' ? p.ap.sites.length : 1), 0), usesStacks, timeFormats };
}
