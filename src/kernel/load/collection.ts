/**
 * A `Collection`: the live kernel objects of one `ObjectSpec` — its BTF loaded (BPF_BTF_LOAD), maps created
 * (pinned-by-name maps reused when compatible, global data initialised, `.rodata`/`.kconfig` frozen, map-in-map
 * and prog-array slots filled), programs loaded with their references resolved. Closing it closes everything
 * it created (pins stay).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KernelError } from '../../errors.js';
import { AttachType, MapType, ProgType } from '../../isa/uapi.js';
import { uprobeMulti } from '../features/probe.js';
import type { MapSpec } from '../../spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../../spec/program.js';
import type { FdRef } from '../sys/fd.js';
import { possibleCpus } from '../sys/fs.js';
import { KernelMap } from '../maps/map.js';
import { TypedMap } from '../maps/typed.js';
import { btfCodec } from '../maps/btf-codec.js';
import { Btf } from '../../btf/btf.js';
import { mapTypeName } from '../../isa/names.js';
import { loadBtf } from './btf-load.js';
import { KernelProgram } from './program.js';
import { readKernelObject, type KernelObjectOptions } from './object-file.js';

/** LIBBPF_PIN_BY_NAME. */
export const PIN_BY_NAME = 1;

/** Options for `Collection.load`. */
export interface CollectionOptions {
  /** Directory for maps pinned by name (default /sys/fs/bpf). */
  pinPath?: string;
  /** Verifier log level for successful loads (failures always carry the log). */
  logLevel?: number;
  /** Load only these programs (by name); default all. */
  programs?: string[];
  /** Use these existing maps instead of creating the named ones. */
  replaceMaps?: Record<string, KernelMap>;
  /**
   * Keep going when a program fails to load: it is left out and its error recorded in `failures`
   * (default false: the first failure closes everything and throws).
   */
  skipFailedPrograms?: boolean;
  /** Do not load the object's BTF (maps and programs then go without BTF info). */
  noBtf?: boolean;
  /**
   * Load `usdt` programs for uprobe_multi links (expected attach type BPF_TRACE_UPROBE_MULTI), so `attachUsdt`
   * attaches every call site through one link, as libbpf does. Default: when the kernel has uprobe_multi;
   * false: per-site perf uprobes.
   */
  usdtUprobeMulti?: boolean;
}

/** Map types the kernel creates without BTF key/value types (libbpf clears them for these). */
const NO_BTF_TYPES: ReadonlySet<number> = new Set([
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.STACK_TRACE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
  MapType.CPUMAP,
  MapType.XSKMAP,
  MapType.SOCKMAP,
  MapType.SOCKHASH,
  MapType.QUEUE,
  MapType.STACK,
  MapType.PROG_ARRAY,
]);

function compatible(m: KernelMap, s: MapSpec, maxEntries: number): string | undefined {
  if (m.type !== s.type) return `type ${mapTypeName(m.type)} ≠ ${mapTypeName(s.type)}`;
  if (m.keySize !== s.keySize) return `key size ${m.keySize} ≠ ${s.keySize}`;
  if (m.valueSize !== s.valueSize) return `value size ${m.valueSize} ≠ ${s.valueSize}`;
  if (m.maxEntries !== maxEntries) return `max entries ${m.maxEntries} ≠ ${maxEntries}`;
  if ((m.flags & ~0x8) !== (s.flags & ~0x8)) return `flags 0x${m.flags.toString(16)} ≠ 0x${s.flags.toString(16)}`;
  return undefined;
}

/** The live objects of one ObjectSpec. */
export class Collection {
  readonly maps = new Map<string, KernelMap>();
  readonly programs = new Map<string, KernelProgram>();
  /** Programs left out with `skipFailedPrograms`, and why. */
  readonly failures = new Map<string, Error>();
  /** Things that went less than perfectly (BTF rejected, ...). */
  readonly warnings: string[] = [];
  /** The object's BTF in the kernel, when loaded. */
  btf?: FdRef;
  readonly spec: ObjectSpec;
  private readonly owned = new Set<KernelMap>();

  private constructor(spec: ObjectSpec) {
    this.spec = spec;
  }

  /** Create the maps and load the programs of `spec`. Throws `KernelError` (everything created is closed first). */
  static load(spec: ObjectSpec, opts: CollectionOptions = {}): Collection {
    const c = new Collection(spec);
    try {
      c.loadAll(opts);
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /**
   * Load an eBPF ELF object file: CO-RE relocated against the running kernel's BTF (vmlinux + modules) unless
   * `opts.targetBtf` says otherwise, `opts.globals` set, then `Collection.load`. Notes from CO-RE (poisoned
   * relocations) land in `warnings`. Throws ElfError/BtfError for a bad object, KernelError from the kernel.
   */
  static loadFile(path: string, opts: CollectionOptions & KernelObjectOptions = {}): Collection {
    return Collection.loadBytes(path, opts);
  }

  /** Like `loadFile`, from the object's bytes (or a path). */
  static loadBytes(source: Uint8Array | string, opts: CollectionOptions & KernelObjectOptions = {}): Collection {
    const obj = readKernelObject(source, opts);
    const c = Collection.load(obj.spec, opts);
    c.warnings.unshift(...obj.warnings);
    return c;
  }

  private loadAll(opts: CollectionOptions): void {
    const spec = this.spec;
    if (spec.btfRaw && !opts.noBtf) {
      try {
        this.btf = loadBtf(spec.btfRaw);
      } catch (e) {
        this.warnings.push(`object BTF rejected by the kernel, loading without it: ${(e as Error).message}`);
      }
    }
    // Maps (inner maps and data first as they come; slots pointing at maps after all exist).
    for (const ms of spec.maps) {
      const replaced = opts.replaceMaps?.[ms.name];
      if (replaced) {
        this.maps.set(ms.name, replaced);
        continue;
      }
      if (ms.type === MapType.STRUCT_OPS) {
        this.warnings.push(`struct_ops map ${ms.name} not created here: load the object with loadStructOpsObject() (src/kernel/link/struct-ops-object.ts) to register it`);
        continue;
      }
      const m = this.createMap(ms, opts);
      this.maps.set(ms.name, m);
    }
    for (const ms of spec.maps) {
      const m = this.maps.get(ms.name);
      if (!m || !ms.initialSlots?.length || ms.type === MapType.PROG_ARRAY) continue;
      for (const slot of ms.initialSlots) {
        const inner = this.maps.get(slot.name);
        if (!inner) throw new KernelError('MAP_UPDATE_ELEM', 2, 'ENOENT', { detail: `map ${ms.name}`, hint: `slot ${slot.index} names map ${slot.name}, which does not exist` });
        m.update(u32(slot.index), u32(inner.fd));
      }
    }
    // Programs.
    const wanted = opts.programs ? new Set(opts.programs) : undefined;
    for (const ps of spec.programs) {
      if (wanted && !wanted.has(ps.name)) continue;
      try {
        const prog = this.loadProgram(ps, opts);
        this.programs.set(ps.name, prog);
        this.bindRodata(prog, spec);
      } catch (e) {
        if (!opts.skipFailedPrograms) throw e;
        this.failures.set(ps.name, e as Error);
      }
    }
    // Prog arrays referencing programs.
    for (const ms of spec.maps) {
      if (ms.type !== MapType.PROG_ARRAY || !ms.initialSlots?.length) continue;
      const m = this.maps.get(ms.name)!;
      for (const slot of ms.initialSlots) {
        const p = this.programs.get(slot.name);
        if (!p) {
          if (this.failures.has(slot.name) || (wanted && !wanted.has(slot.name))) continue;
          throw new KernelError('MAP_UPDATE_ELEM', 2, 'ENOENT', { detail: `map ${ms.name}`, hint: `slot ${slot.index} names program ${slot.name}, which does not exist` });
        }
        m.update(u32(slot.index), u32(p.fd));
      }
    }
  }

  private createMap(ms: MapSpec, opts: CollectionOptions): KernelMap {
    let maxEntries = ms.maxEntries;
    if (ms.type === MapType.PERF_EVENT_ARRAY && maxEntries === 0) maxEntries = possibleCpus().length;
    const shaped: MapSpec = { ...ms, maxEntries };
    if (NO_BTF_TYPES.has(ms.type)) {
      delete shaped.btfKeyTypeId;
      delete shaped.btfValueTypeId;
    }
    const pinPath = ms.pinning === PIN_BY_NAME ? join(opts.pinPath ?? '/sys/fs/bpf', ms.name) : undefined;
    if (pinPath && existsSync(pinPath)) {
      const m = KernelMap.fromPin(pinPath);
      const why = compatible(m, ms, maxEntries);
      if (why) {
        m.close();
        throw new KernelError('OBJ_GET', 22, 'EINVAL', { detail: pinPath, hint: `pinned map is incompatible with map ${ms.name}: ${why}` });
      }
      this.owned.add(m);
      return m;
    }
    let m: KernelMap;
    try {
      m = KernelMap.create(shaped, { btfFd: this.btf?.fd });
    } catch (e) {
      if (!this.btf || !(ms.btfKeyTypeId || ms.btfValueTypeId)) throw e;
      // The kernel may refuse the BTF types of some maps: retry without them.
      m = KernelMap.create(shaped, {});
      this.warnings.push(`map ${ms.name} created without BTF types: ${(e as Error).message}`);
    }
    this.owned.add(m);
    if (ms.contents?.length) {
      for (const { key, value } of ms.contents) {
        if (typeof value === 'string') continue; // names of programs/maps: filled as slots later
        const v = value.length === m.valueSize ? value : padTo(value, m.valueSize);
        m.update(key.length === m.keySize ? key : padTo(key, m.keySize), v);
      }
    }
    const sec = ms.dataSection ?? '';
    if (sec.startsWith('.rodata') || sec === '.kconfig') m.freeze();
    if (pinPath) m.pin(pinPath);
    return m;
  }

  /**
   * Bind the object's `.rodata` map to `prog` even when no instruction uses it, as libbpf does (BPF_PROG_BIND_MAP,
   * 5.10+), so tools such as bpftool find a program's read-only settings and metadata (`bpf_metadata_*`)
   * through it. A kernel without the command is no error (the binding is informative only).
   */
  private bindRodata(prog: KernelProgram, spec: ObjectSpec): void {
    const ms = spec.maps.find((m) => m.dataSection === '.rodata');
    const m = ms && this.maps.get(ms.name);
    if (!m) return;
    try {
      prog.bindMap(m.fd);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      this.warnings.push(`program ${prog.name}: .rodata not bound (BPF_PROG_BIND_MAP: ${e.errnoName})`);
    }
  }

  private loadProgram(ps: ProgramSpec, opts: CollectionOptions): KernelProgram {
    if (ps.type === ProgType.KPROBE && ps.expectedAttachType === undefined && /^usdt(\.s)?(\/|$)/.test(ps.section)) {
      if (opts.usdtUprobeMulti ?? uprobeMulti().ok) ps = { ...ps, expectedAttachType: AttachType.TRACE_UPROBE_MULTI };
    }
    const maps = (n: string) => this.maps.get(n)?.fd;
    try {
      return KernelProgram.load(ps, { maps, btfFd: this.btf?.fd, logLevel: opts.logLevel });
    } catch (e) {
      // A kernel that rejects the object's func/line info: retry without it, keep the first error if that fails too.
      if (this.btf && e instanceof KernelError && e.errnoName === 'EINVAL' && /btf|func_info|line_info/i.test(e.log ?? e.message)) {
        const p = KernelProgram.load(ps, { maps, logLevel: opts.logLevel });
        this.warnings.push(`program ${ps.name} loaded without BTF func/line info: ${e.message}`);
        return p;
      }
      throw e;
    }
  }

  /** A map by name; throws `KernelError(ENOENT)` when absent. */
  map(name: string): KernelMap {
    const m = this.maps.get(name);
    if (!m) throw new KernelError('collection', 2, 'ENOENT', { hint: `no map named ${name} (maps: ${[...this.maps.keys()].join(', ') || 'none'})` });
    return m;
  }

  /**
   * A map with keys and values as JS values, decoded through the object's BTF (struct keys as plain objects).
   * Throws `KernelError(ENOENT)` when the object or the map has no BTF types.
   */
  typedMap<K = unknown, V = unknown>(name: string): TypedMap<K, V> {
    const m = this.map(name);
    const ms = this.spec.maps.find((s) => s.name === name);
    if (!this.spec.btfRaw || !ms?.btfKeyTypeId || !ms.btfValueTypeId) {
      throw new KernelError('collection', 2, 'ENOENT', { hint: `map ${name} has no BTF key/value types` });
    }
    this.parsedBtf ??= Btf.parse(this.spec.btfRaw);
    return new TypedMap<K, V>(m, btfCodec<K>(this.parsedBtf, ms.btfKeyTypeId), btfCodec<V>(this.parsedBtf, ms.btfValueTypeId));
  }

  private parsedBtf?: Btf;

  /** A program by name; throws `KernelError(ENOENT)` when absent. */
  program(name: string): KernelProgram {
    const p = this.programs.get(name);
    if (!p) {
      const why = this.failures.get(name);
      throw new KernelError('collection', 2, 'ENOENT', {
        hint: why ? `program ${name} failed to load: ${why.message}` : `no program named ${name} (programs: ${[...this.programs.keys()].join(', ') || 'none'})`,
      });
    }
    return p;
  }

  /** Close every program, map and BTF this collection created (pins remain). */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const m of this.owned) m.close();
    this.btf?.close();
  }
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function padTo(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}
