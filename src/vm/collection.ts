/**
 * Running real eBPF objects in userspace: `loadCollection(object)` creates the maps, prepares every program for
 * the interpreter (ctx pass, map and global-data references resolved, helpers bound by id — a call to a helper
 * the runtime does not implement fails here, at load, naming it) and returns `{ programs, maps, run }`.
 * `run(name, input)` builds the program type's context (packet, skb, pt_regs, args...), runs the program and
 * returns its return value, verdict, output packet, context fields and whatever helpers recorded.
 *
 * Tests can replace any helper (`mockHelper`) and read every call made (`recordCalls` / `helperCalls`).
 */
import { VmError, UsageError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import { helperById, helperByName } from '../isa/helpers.js';
import { Class, JmpOp, LDDW, PseudoCall, PseudoLd, opClass, opJmp, opSource } from '../isa/opcodes.js';
import { MapType, ProgType } from '../isa/uapi.js';
import type { MapSpec } from '../spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../spec/program.js';
import { loadObjectSpec, type LoadObjectOptions } from '../elf/object.js';
import type { HelperCallContext, HelperImpl, Memory } from './api.js';
import { Vm, type VmEngine } from './vm.js';
import { VmMemory } from './memory.js';
import { createMap, type CreateMapOptions } from './maps/index.js';
import { UserMap, u32Key } from './maps/base.js';
import { ArrayMap } from './maps/array.js';
import { ProgArrayMap } from './maps/prog-array.js';
import { isMapOfMaps } from './maps/map-in-map.js';
import { objectById, objectId, PROGRAM_MARK, releaseObjectId } from './objects.js';
import { xorshift32 } from './prandom.js';
import { helperImplementation, runtimeHelpers } from './helpers/index.js';
import {
  MapHandles,
  type HelperCall,
  type MemoryChunk,
  type RecordedEvent,
  type RedirectTarget,
  type Route,
  type RuntimeEnv,
  type SimClock,
  type SimTask,
} from './helpers/env.js';
import { layoutFor, prepareContext, rewriteCtxAccess, verdictName, type ContextOptions, type CtxValues, type RunInput } from './contexts/index.js';

export type { RunInput } from './contexts/index.js';

/** A replacement for a helper: gets the arguments and the runtime's own implementation to delegate to. */
export type HelperMock = (call: {
  args: bigint[];
  env: RuntimeEnv;
  mem: Memory;
  ctx: HelperCallContext;
  /** Run the runtime's implementation with the same arguments (undefined when it has none). */
  original?: () => bigint | number | void;
}) => bigint | number | void;

/** Options of `loadCollection`. */
export interface CollectionOptions extends ContextOptions {
  /** Simulated CPUs (per-CPU maps, perf buffers; default 1). */
  ncpus?: number;
  /** CPU programs run on (default 0). */
  cpu?: number;
  /** The current task (defaults: pid/tgid 1000, uid/gid 0, comm "bpfkit", cgroup 1). */
  task?: Partial<SimTask>;
  /** Bytes of the task_struct get_current_task points to (default 8 KiB of zeros). */
  taskStruct?: Uint8Array;
  /**
   * Clocks: 'real' (process clocks), a fixed time in ns, or functions. Default: a simulated monotonic clock
   * starting at 1 s that advances 1 µs per read (deterministic runs).
   */
  clock?: 'real' | bigint | Partial<SimClock>;
  /** Seed of get_prandom_u32 (xorshift32; default 1). */
  seed?: number;
  kernelMemory?: MemoryChunk[];
  userMemory?: MemoryChunk[];
  routes?: Route[];
  neighbours?: Record<string, string>;
  funcIp?: bigint;
  attachCookie?: bigint;
  socketCookie?: bigint;
  /** Replace helpers by name (`ktime_get_ns` or `bpf_ktime_get_ns`), also helpers the runtime lacks. */
  helpers?: Record<string, HelperMock>;
  /** Record every helper call in `helperCalls`. */
  recordCalls?: boolean;
  /** Instruction budget per run (default 1e9). */
  maxInsns?: number;
  /** Engine running the programs: 'interp' (default) or 'jit' (WebAssembly, src/jit). */
  engine?: VmEngine;
  /** Bytes per perf buffer. */
  perfBufferSize?: number;
  /** Use these maps instead of creating the object's maps of the same name (sharing between collections). */
  maps?: Record<string, UserMap>;
  /** Options for parsing ELF bytes. */
  elf?: LoadObjectOptions;
  /** Skip the load-time context pass (raw programs that do not use the ctx pointer conventionally). */
  noCtxRewrite?: boolean;
}

/** What one run produced. */
export interface RunResult {
  /** r0 as the kernel's test run reports it (u32). */
  retval: number;
  /** r0 as 64 bits. */
  retval64: bigint;
  /** The return value's meaning (XDP_PASS, TC_ACT_SHOT, DROP...), for program types that have verdicts. */
  verdict?: string;
  /** Output packet (XDP: data..data_end; skb programs: the frame from the MAC header). */
  packet?: Uint8Array;
  /** XDP metadata (data_meta..data). */
  meta?: Uint8Array;
  /** Context fields after the run. */
  ctx?: CtxValues;
  redirect?: RedirectTarget;
  /** trace_printk lines of this run. */
  printk: string[];
  /** Signals, overridden returns, clone_redirects... of this run. */
  events: RecordedEvent[];
  /** Instructions executed. */
  insns: number;
}

/** A program loaded into the userspace runtime. */
export class UserProgram {
  readonly [PROGRAM_MARK] = true as const;
  readonly name: string;
  readonly type: number;
  readonly section: string;
  readonly spec: ProgramSpec;
  /** Instructions after the context pass. */
  readonly insns: Insn[];
  readonly vm: Vm;
  /** Pseudo fd / id (what prog arrays store). */
  readonly fd: number;

  constructor(
    readonly collection: Collection,
    spec: ProgramSpec,
    insns: Insn[],
    vm: Vm,
  ) {
    this.name = spec.name;
    this.type = spec.type;
    this.section = spec.section;
    this.spec = spec;
    this.insns = insns;
    this.vm = vm;
    this.fd = objectId(this);
  }

  /** Run once (see `Collection.run`). */
  run(input: RunInput = {}): RunResult {
    return this.collection.run(this.name, input);
  }
}

function makeClock(c: CollectionOptions['clock']): SimClock {
  if (c === 'real') {
    // Node's nanosecond clock; elsewhere (a browser) performance.now(), whose resolution the host may coarsen.
    const mono = typeof process !== 'undefined' && process.hrtime?.bigint ? () => process.hrtime.bigint() : () => BigInt(Math.round(performance.now() * 1e6));
    const bootOffset = BigInt(Math.round(performance.timeOrigin * 1e6)) - mono();
    return {
      monotonicNs: mono,
      bootNs: mono,
      coarseNs: () => (mono() / 4_000_000n) * 4_000_000n,
      taiNs: () => mono() + bootOffset + 37_000_000_000n,
      jiffies: () => mono() / 4_000_000n,
    };
  }
  let t = 1_000_000_000n;
  const fixed = typeof c === 'bigint' ? c : undefined;
  const mono = fixed !== undefined ? () => fixed : () => (t += 1000n);
  const base: SimClock = {
    monotonicNs: mono,
    bootNs: mono,
    coarseNs: () => (mono() / 4_000_000n) * 4_000_000n,
    taiNs: () => mono() + 1_700_000_000_000_000_000n,
    jiffies: () => 4_294_892_296n + mono() / 4_000_000n,
  };
  return typeof c === 'object' ? { ...base, ...c } : base;
}

/** A loaded object: live maps and runnable programs sharing one VM memory. */
export class Collection {
  readonly programs: Record<string, UserProgram> = {};
  readonly maps: Record<string, UserMap> = {};
  readonly memory: VmMemory;
  readonly env: RuntimeEnv;
  /** Helper calls made while `recordCalls` is on. */
  readonly helperCalls: HelperCall[] = [];
  /** Every trace_printk line of every run, in order. */
  readonly printk: string[] = [];
  /** Record helper calls into `helperCalls`. */
  recordCalls: boolean;
  private readonly slots = new Map<number, HelperImpl>();
  private readonly opts: CollectionOptions;

  constructor(obj: ObjectSpec, opts: CollectionOptions = {}) {
    this.opts = opts;
    this.recordCalls = !!opts.recordCalls;
    this.memory = new VmMemory();
    const ncpus = Math.max(1, opts.ncpus ?? 1);
    const task: SimTask = { pid: 1000, tgid: 1000, uid: 0, gid: 0, comm: 'bpfkit', cgroupId: 1n, ...opts.task };
    const taskAddr = this.memory.map(opts.taskStruct ?? new Uint8Array(8192), { writable: false, kind: 'helper', name: 'task_struct' });
    const sockAddr = this.memory.map(new Uint8Array(80), { writable: false, kind: 'helper', name: 'bpf_sock' });
    this.env = {
      mem: this.memory,
      cpu: opts.cpu ?? 0,
      ncpus,
      numaNode: 0,
      handles: new MapHandles(),
      task,
      taskAddr,
      clock: makeClock(opts.clock),
      random: xorshift32(opts.seed ?? 1),
      printk: [],
      kernelMemory: opts.kernelMemory ?? [],
      userMemory: opts.userMemory ?? [],
      progType: ProgType.UNSPEC,
      ctxAddr: 0n,
      events: [],
      routes: opts.routes ?? [],
      neighbours: opts.neighbours ?? {},
      funcIp: opts.funcIp ?? 0xffffffff81000000n,
      attachCookie: opts.attachCookie ?? 0n,
      funcArgs: [],
      funcRet: 0n,
      socketCookie: opts.socketCookie ?? 4096n,
      sockAddr,
      netnsCookie: 1n,
      scratch: [],
      locks: new Set(),
    };

    // Maps first (programs refer to them).
    const mapOpts: CreateMapOptions = { ncpus, bufferSize: opts.perfBufferSize };
    for (const spec of obj.maps) {
      this.maps[spec.name] = opts.maps?.[spec.name] ?? createMap(spec, mapOpts);
    }
    // Helper dispatch: one stable function per id reading the current implementation (mockable after load).
    for (const [id, impl] of runtimeHelpers()) this.slots.set(id, impl);
    for (const [name, mock] of Object.entries(opts.helpers ?? {})) this.installMock(name, mock);
    const dispatch = new Map<number, HelperImpl>();
    for (const id of this.slots.keys()) dispatch.set(id, this.dispatcher(id));

    for (const p of obj.programs) {
      const prog = this.prepare(p, dispatch);
      this.programs[p.name] = prog;
    }
    // Prog arrays and map-in-maps initialised in the object.
    for (const spec of obj.maps) this.fillSlots(spec);
  }

  private dispatcher(id: number): HelperImpl {
    const proto = helperById(id);
    const name = proto?.name ?? `helper_${id}`;
    const nargs = proto?.args.length ?? 5;
    return (c, r1, r2, r3, r4, r5) => {
      const impl = this.slots.get(id)!;
      if (!this.recordCalls) return impl(c, r1, r2, r3, r4, r5);
      const ret = impl(c, r1, r2, r3, r4, r5);
      this.helperCalls.push({
        name,
        id,
        args: [r1, r2, r3, r4, r5].slice(0, nargs),
        ret: BigInt.asUintN(64, BigInt(ret ?? 0)),
        program: c.vm.name,
        pc: c.pc,
      });
      return ret;
    };
  }

  private installMock(name: string, mock: HelperMock): void {
    const proto = helperByName(name);
    if (!proto) throw new UsageError(`no helper named ${name}`);
    const orig = helperImplementation(name);
    this.slots.set(proto.id, (c, r1, r2, r3, r4, r5) =>
      mock({
        args: [r1, r2, r3, r4, r5].slice(0, proto.args.length),
        env: this.env,
        mem: c.mem,
        ctx: c,
        original: orig ? () => orig(c, r1, r2, r3, r4, r5) : undefined,
      }),
    );
  }

  /**
   * Replace a helper for the following runs (programs calling helpers the runtime lacks must get their mock at
   * load time, through `CollectionOptions.helpers`).
   */
  mockHelper(name: string, mock: HelperMock): void {
    const proto = helperByName(name);
    if (!proto || !this.slots.has(proto.id)) throw new UsageError(`helper ${name} was not bound at load time; pass it in CollectionOptions.helpers`);
    this.installMock(name, mock);
  }

  /** Put back the runtime's own implementation of a helper. */
  restoreHelper(name: string): void {
    const proto = helperByName(name);
    const orig = helperImplementation(name);
    if (proto && orig) this.slots.set(proto.id, orig);
  }

  private prepare(p: ProgramSpec, dispatch: Map<number, HelperImpl>): UserProgram {
    // Helpers and kfuncs: refuse at load what the runtime cannot run.
    for (let pc = 0; pc < p.insns.length; pc++) {
      const i = p.insns[pc];
      if (i.code === LDDW) {
        pc++;
        continue;
      }
      if (opClass(i.code) === Class.JMP && opJmp(i.code) === JmpOp.CALL && !opSource(i.code)) {
        if (i.src === PseudoCall.HELPER && !dispatch.has(i.imm)) {
          const h = helperById(i.imm);
          throw new VmError(pc, 'helper', `program ${p.name} calls ${h ? h.fullName : `helper #${i.imm}`}, which the userspace runtime does not implement (mock it with CollectionOptions.helpers)`);
        }
        if (i.src === PseudoCall.KFUNC) {
          const ref = p.references.find((r) => r.pc === pc && r.kind === 'ksym');
          throw new VmError(pc, 'helper', `program ${p.name} calls kfunc ${ref && 'symbol' in ref ? ref.symbol : `#${i.imm}`}, which the userspace runtime does not implement`);
        }
      }
    }
    let insns = p.insns.map((i) => ({ ...i }));
    const layout = layoutFor(p.type);
    if (layout && !this.opts.noCtxRewrite) insns = rewriteCtxAccess(insns, layout, p.type, p.name).insns;
    const refs = new Map(p.references.map((r) => [r.pc, r]));
    const resolveLddw = (pc: number, insn: Insn, next: Insn): bigint => {
      const ref = refs.get(pc);
      if (ref?.kind === 'ksym') throw new VmError(pc, 'lddw', `program ${p.name} uses kernel symbol ${ref.symbol}, which the userspace runtime cannot provide`);
      let map: UserMap | undefined;
      if (ref?.kind === 'map') {
        map = this.maps[ref.map];
        if (!map) throw new VmError(pc, 'lddw', `program ${p.name} refers to map ${ref.map}, which the object does not define`);
      } else if (insn.src === PseudoLd.MAP_IDX || insn.src === PseudoLd.MAP_IDX_VALUE) {
        map = Object.values(this.maps)[insn.imm];
      } else if (insn.src === PseudoLd.MAP_FD || insn.src === PseudoLd.MAP_VALUE) {
        const o = objectById(insn.imm);
        map = o instanceof UserMap ? o : undefined;
      }
      if (insn.src === PseudoLd.FUNC) return BigInt(pc + 1 + insn.imm) | (0xfffe0000n << 32n);
      if (!map) throw new VmError(pc, 'lddw', `program ${p.name}: lddw with pseudo source ${insn.src} names no map`);
      const wantsValue = ref?.kind === 'map' ? ref.value : insn.src === PseudoLd.MAP_VALUE || insn.src === PseudoLd.MAP_IDX_VALUE;
      if (!wantsValue) return this.env.handles.addressOf(map);
      if (!(map instanceof ArrayMap)) throw new VmError(pc, 'lddw', `program ${p.name}: direct value access to ${map.name}, which is not an array map`);
      const off = ref?.kind === 'map' && ref.offset !== undefined ? ref.offset : next.imm;
      return map.baseAddress(this.memory, 0) + BigInt(off >>> 0);
    };
    const vm = new Vm(insns, {
      helpers: dispatch,
      memory: this.memory,
      env: this.env,
      resolveLddw,
      maxInsns: this.opts.maxInsns,
      name: p.name,
      engine: this.opts.engine,
      legacyPacket: (env) => (env as RuntimeEnv).packet?.bytes(),
    });
    return new UserProgram(this, p, insns, vm);
  }

  private fillSlots(spec: MapSpec): void {
    const m = this.maps[spec.name];
    for (const s of spec.initialSlots ?? []) {
      if (m instanceof ProgArrayMap) {
        const prog = this.programs[s.name];
        if (!prog) throw new UsageError(`prog array ${spec.name}: slot ${s.index} names program ${s.name}, which is not in the object`);
        m.setProgram(s.index, prog);
      } else if (isMapOfMaps(m)) {
        const inner = this.maps[s.name];
        if (!inner) throw new UsageError(`map ${spec.name}: slot ${s.index} names map ${s.name}, which is not in the object`);
        m.update(u32Key(s.index), u32Key(objectId(inner)));
      }
    }
  }

  /**
   * Run program `name` once on `input` (a packet for XDP/tc/socket filters, context fields, arguments...).
   * Throws `VmError` on a fault (out-of-bounds access, budget...) and `UsageError` for unusable input.
   */
  run(name: string, input: RunInput = {}): RunResult {
    const prog = this.programs[name];
    if (!prog) throw new UsageError(`no program ${name} (programs: ${Object.keys(this.programs).join(', ') || 'none'})`);
    const env = this.env;
    env.cpu = input.cpu ?? this.opts.cpu ?? 0;
    if (env.cpu < 0 || env.cpu >= env.ncpus) throw new UsageError(`cpu ${env.cpu} out of range (ncpus ${env.ncpus})`);
    env.progType = prog.type;
    env.packet = undefined;
    env.skb = undefined;
    env.redirect = undefined;
    env.events = [];
    env.printk = [];
    env.funcArgs = [];
    env.funcRet = 0n;
    env.locks.clear();
    env.calls = this.recordCalls ? this.helperCalls : undefined;
    const ctx = prepareContext(this.memory, env, prog.type, prog.spec.attachTo, input, this.opts);
    env.ctxAddr = ctx.r1;
    let r0: bigint;
    try {
      r0 = prog.vm.run(ctx.r1);
      const out = ctx.finish();
      const retval = Number(r0 & 0xffffffffn);
      this.printk.push(...env.printk);
      return {
        retval,
        retval64: r0,
        verdict: verdictName(prog.type, retval),
        packet: out.packet,
        meta: out.meta,
        ctx: out.ctx,
        redirect: env.redirect,
        printk: env.printk,
        events: env.events,
        insns: prog.vm.lastRun.insns,
      };
    } finally {
      ctx.release();
      env.packet = undefined;
      env.skb = undefined;
    }
  }

  /** Close every map and forget the programs' ids. */
  close(): void {
    for (const m of Object.values(this.maps)) if (!this.opts.maps || !Object.values(this.opts.maps).includes(m)) m.close();
    for (const p of Object.values(this.programs)) releaseObjectId(p);
  }
}

/**
 * Load an object (an `ObjectSpec`, or ELF bytes from clang) into the userspace runtime.
 * Throws `ElfError` for a bad object, `VmError` for a program the runtime cannot run (unknown helper or kfunc,
 * bad jump...), `VerifierError` for a bad context access, `MapError` for a map the runtime cannot create.
 */
export function loadCollection(obj: ObjectSpec | Uint8Array, opts: CollectionOptions = {}): Collection {
  const spec = obj instanceof Uint8Array ? loadObjectSpec(obj, opts.elf) : obj;
  return new Collection(spec, opts);
}

/** Map type names for display (`hash`, `percpu_array`...). */
export function mapTypeName(type: number): string {
  const e = Object.entries(MapType).find(([, v]) => v === type);
  return e ? e[0].toLowerCase() : `type ${type}`;
}
