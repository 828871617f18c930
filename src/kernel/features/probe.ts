/**
 * Feature probes: which program types, map types, helpers and attach kinds this kernel supports, found by
 * loading tiny programs and creating tiny maps (never by guessing from version numbers). Each answer carries a
 * reason, so tests and tools can say why something is unavailable. Results are cached per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { insn, type Insn } from '../../isa/insn.js';
import { helperById } from '../../isa/helpers.js';
import { AttachType, MapType, ProgType, Uapi, XdpAction } from '../../isa/uapi.js';
import { AluOp, Class, JmpOp, Source } from '../../isa/opcodes.js';
import { loadInsns } from '../load/program.js';
import { attachBtfId } from '../load/kernel-btf.js';
import { KernelMap } from '../maps/map.js';
import { FsMagic, fsMagic } from '../sys/fs.js';
import { perfEventOpen, PerfHwConfig, PerfSwConfig, PerfType } from '../sys/perf.js';
import { PerfAttrFlag } from '../sys/attr.js';
import { mapTypeName, progTypeName } from '../../isa/names.js';
import { pmuType } from '../link/tracefs.js';
import { bpfTry } from '../sys/bpf.js';
import { errnoName } from '../sys/errno.js';
import { closeFd } from '../sys/net.js';

/** A probe's answer. */
export interface Feature {
  ok: boolean;
  /** Why not (or a note when ok). */
  reason?: string;
}

const cache = new Map<string, Feature>();
function cached(key: string, f: () => Feature): Feature {
  let r = cache.get(key);
  if (!r) {
    try {
      r = f();
    } catch (e) {
      r = { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    cache.set(key, r);
  }
  return r;
}

const MOV64_IMM = Class.ALU64 | AluOp.MOV | Source.K;
/** `r0 = value; exit`. */
const retProg = (value: number): Insn[] => [insn(MOV64_IMM, 0, 0, 0, value), insn(Class.JMP | JmpOp.EXIT)];
const RET0: Insn[] = retProg(0);

/** What a probe program of some type needs to load. */
interface LoadParams {
  expectedAttachType?: number;
  attachTo?: string;
  insns?: Insn[];
  flags?: number;
}

/** Load parameters that make the minimal program acceptable for each type. */
function loadParams(type: number): LoadParams {
  switch (type) {
    case ProgType.CGROUP_SOCK_ADDR:
      return { expectedAttachType: AttachType.CGROUP_INET4_CONNECT, insns: retProg(1) };
    case ProgType.CGROUP_SKB:
    case ProgType.CGROUP_SOCK:
    case ProgType.CGROUP_SYSCTL:
    case ProgType.CGROUP_DEVICE:
    case ProgType.CGROUP_SOCKOPT:
      return {
        expectedAttachType:
          type === ProgType.CGROUP_SOCKOPT ? AttachType.CGROUP_GETSOCKOPT : type === ProgType.CGROUP_SOCK ? AttachType.CGROUP_INET_SOCK_CREATE : undefined,
        insns: retProg(1),
      };
    case ProgType.SK_LOOKUP:
      return { expectedAttachType: AttachType.SK_LOOKUP };
    case ProgType.TRACING:
      return { expectedAttachType: AttachType.TRACE_FENTRY, attachTo: 'bpf_fentry_test1' };
    case ProgType.LSM:
      return { expectedAttachType: AttachType.LSM_MAC, attachTo: 'file_open' };
    case ProgType.XDP:
      return { insns: retProg(XdpAction.PASS) };
    case ProgType.SYSCALL:
      return { flags: Uapi.BPF_F_SLEEPABLE };
    case ProgType.NETFILTER:
      return { expectedAttachType: AttachType.NETFILTER, insns: retProg(1) };
  }
  return {};
}

/** Load a probe program (`insns`, else the type's own minimal program, else `r0 = 0; exit`) and close it. */
function loadProbe(type: number, insns?: Insn[], p: LoadParams = loadParams(type)): void {
  loadInsns(type, insns ?? p.insns ?? RET0, { expectedAttachType: p.expectedAttachType, attachTo: p.attachTo, flags: p.flags, name: 'bpfkit_probe' }).close();
}

/** Can programs of this type be loaded? (EPERM answers "refused", EINVAL "unknown to this kernel".) */
export function probeProgType(type: number): Feature {
  return cached(`prog:${type}`, () => {
    if (type === ProgType.EXT || type === ProgType.STRUCT_OPS) {
      return { ok: false, reason: `${progTypeName(type)} programs need a target (not probed)` };
    }
    try {
      loadProbe(type);
      return { ok: true };
    } catch (e) {
      if (e instanceof KernelError) return { ok: false, reason: `${progTypeName(type)}: ${e.errnoName}${e.errnoName === 'EPERM' ? ' (refused by this kernel)' : e.errnoName === 'EINVAL' ? ' (not supported by this kernel)' : ''}: ${e.message}` };
      throw e;
    }
  });
}

function mapParams(type: number): { keySize: number; valueSize: number; maxEntries: number; flags?: number; mapExtra?: bigint; inner?: boolean } {
  switch (type) {
    case MapType.RINGBUF:
    case MapType.USER_RINGBUF:
      return { keySize: 0, valueSize: 0, maxEntries: 4096 };
    case MapType.QUEUE:
    case MapType.STACK:
      return { keySize: 0, valueSize: 4, maxEntries: 1 };
    case MapType.BLOOM_FILTER:
      return { keySize: 0, valueSize: 4, maxEntries: 1, mapExtra: 3n };
    case MapType.LPM_TRIE:
      return { keySize: 8, valueSize: 4, maxEntries: 1, flags: Uapi.BPF_F_NO_PREALLOC };
    case MapType.STACK_TRACE:
      return { keySize: 4, valueSize: 8, maxEntries: 1 };
    case MapType.CGROUP_STORAGE:
    case MapType.PERCPU_CGROUP_STORAGE:
      return { keySize: 16, valueSize: 8, maxEntries: 0 };
    case MapType.SK_STORAGE:
    case MapType.INODE_STORAGE:
    case MapType.TASK_STORAGE:
    case MapType.CGRP_STORAGE:
      return { keySize: 4, valueSize: 8, maxEntries: 0, flags: Uapi.BPF_F_NO_PREALLOC };
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS:
      return { keySize: 4, valueSize: 4, maxEntries: 1, inner: true };
    case MapType.STRUCT_OPS:
      return { keySize: 4, valueSize: 4, maxEntries: 1 };
    case MapType.ARENA:
      return { keySize: 0, valueSize: 0, maxEntries: 1, flags: Uapi.BPF_F_MMAPABLE };
    case MapType.DEVMAP:
    case MapType.DEVMAP_HASH:
    case MapType.CPUMAP:
    case MapType.XSKMAP:
    case MapType.SOCKMAP:
    case MapType.SOCKHASH:
    case MapType.REUSEPORT_SOCKARRAY:
      return { keySize: 4, valueSize: type === MapType.REUSEPORT_SOCKARRAY ? 8 : 4, maxEntries: 1 };
  }
  return { keySize: 4, valueSize: 4, maxEntries: 1 };
}

/** Can maps of this type be created? Storage maps need BTF and are reported as such when they fail for that. */
export function probeMapType(type: number): Feature {
  return cached(`map:${type}`, () => {
    const p = mapParams(type);
    try {
      const inner = p.inner ? { name: 'in', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 } : undefined;
      const m = KernelMap.create({ name: 'bpfkit_probe', type, keySize: p.keySize, valueSize: p.valueSize, maxEntries: p.maxEntries, flags: p.flags ?? 0, mapExtra: p.mapExtra, inner });
      m.close();
      return { ok: true };
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      // Storage / struct_ops maps require BTF key/value types: creation reaching the BTF check means the type exists.
      if ([MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE, MapType.STRUCT_OPS].includes(type as never) && e.errnoName === 'EINVAL') {
        return { ok: true, reason: 'exists (needs BTF key/value types to create)' };
      }
      return { ok: false, reason: `${mapTypeName(type)}: ${e.message}` };
    }
  });
}

/** Can a program of `progType` call helper `helperId`? (Loads a call with zeroed args; "unknown func" = no.) */
export function probeHelper(progType: number, helperId: number): Feature {
  return cached(`helper:${progType}:${helperId}`, () => {
    const code: Insn[] = [];
    for (let r = 1; r <= 5; r++) code.push(insn(MOV64_IMM, r, 0, 0, 0));
    code.push(insn(Class.JMP | JmpOp.CALL, 0, 0, 0, helperId), ...retProg(progType === ProgType.XDP ? XdpAction.PASS : 0));
    const name = helperById(helperId)?.fullName ?? `helper ${helperId}`;
    try {
      loadProbe(progType, code);
      return { ok: true };
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      const log = e.log ?? '';
      if (/invalid func|unknown func|cannot (?:call|use) helper|program of this type cannot use helper/.test(log)) {
        return { ok: false, reason: `${name} not available to ${progTypeName(progType)} programs` };
      }
      if (e.errnoName === 'EPERM' || (e.errnoName === 'EINVAL' && !log)) return { ok: false, reason: `cannot probe: ${e.message}` };
      // Rejected for its zero arguments: the helper itself exists for this type.
      return { ok: true };
    }
  });
}

/** kprobes (perf kprobe PMU and a successful kprobe perf_event_open on a common function). */
export function kprobes(): Feature {
  return cached('kprobes', () => {
    const type = pmuType('kprobe');
    if (type === undefined) return { ok: false, reason: 'this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices: CONFIG_KPROBES/KPROBE_EVENTS off)' };
    try {
      const fd = perfEventOpen({ type, config1: 'do_sys_openat2', samplePeriod: 1, flags: PerfAttrFlag.disabled, cpu: 0 });
      void fd.closeAsync();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `kprobe perf_event_open failed: ${(e as Error).message}` };
    }
  });
}

/** uprobes (perf uprobe PMU). */
export function uprobes(): Feature {
  return cached('uprobes', () =>
    pmuType('uprobe') === undefined ? { ok: false, reason: 'this kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS off)' } : { ok: true },
  );
}

/**
 * uprobe_multi links (6.6+), probed like libbpf: a KPROBE program loaded with expected attach type
 * TRACE_UPROBE_MULTI, LINK_CREATE on the directory "/" must fail with EBADF (the attach type is known, the
 * path is no regular file); then pid -1 must be refused with EINVAL (kernels whose first uprobe_multi
 * filtered by thread instead of process answer otherwise, and are reported as lacking it, as libbpf does).
 */
export function uprobeMulti(): Feature {
  return cached('uprobe_multi', () => {
    let prog;
    try {
      prog = loadInsns(ProgType.KPROBE, RET0, { name: 'bpfkit_probe', expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
    } catch (e) {
      return { ok: false, reason: `cannot load a KPROBE program with expected attach type TRACE_UPROBE_MULTI: ${(e as Error).message}` };
    }
    const offsets = Buffer.alloc(8);
    const create = (pid: number) => {
      const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, attach_type: AttachType.TRACE_UPROBE_MULTI, 'uprobe_multi.path': '/', 'uprobe_multi.offsets': offsets, 'uprobe_multi.cnt': 1, 'uprobe_multi.pid': pid });
      if (ret >= 0) closeFd(ret);
      return ret;
    };
    try {
      const r1 = create(0);
      if (r1 !== -9 /* EBADF */) return { ok: false, reason: `LINK_CREATE(BPF_TRACE_UPROBE_MULTI) says ${r1 >= 0 ? 'ok on "/"' : errnoName(-r1)}, not EBADF: no uprobe_multi links (Linux < 6.6 or CONFIG_UPROBES off) — per-site perf uprobes are used instead` };
      const r2 = create(-1);
      if (r2 !== -22 /* EINVAL */) return { ok: false, reason: `uprobe_multi filters by thread, not process, on this kernel (pid -1 gave ${r2 >= 0 ? 'a link' : errnoName(-r2)}, not EINVAL): treated as absent, like libbpf` };
      return { ok: true };
    } finally {
      prog.close();
    }
  });
}

/** A feature that is there exactly when programs of `type` load; `what` names it in the reason. */
function progTypeFeature(key: string, type: number, what: string): Feature {
  return cached(key, () => {
    const f = probeProgType(type);
    return f.ok ? f : { ok: false, reason: `${what} unavailable: ${f.reason}` };
  });
}

/** fentry/fexit (loads a TRACING program on bpf_fentry_test1). */
export function fentry(): Feature {
  return progTypeFeature('fentry', ProgType.TRACING, 'fentry/fexit');
}

/** BPF LSM programs. */
export function lsm(): Feature {
  return progTypeFeature('lsm', ProgType.LSM, 'LSM programs');
}

/** tp_btf (TRACING program with attach type TRACE_RAW_TP on sys_enter). */
export function tpBtf(): Feature {
  return cached('tp_btf', () => {
    try {
      attachBtfId(AttachType.TRACE_RAW_TP, 'sys_enter');
      loadProbe(ProgType.TRACING, RET0, { expectedAttachType: AttachType.TRACE_RAW_TP, attachTo: 'sys_enter' });
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `tp_btf unavailable: ${(e as Error).message}` };
    }
  });
}

/**
 * tcx links (6.6+): LINK_CREATE of a SCHED_CLS program with BPF_TCX_INGRESS on ifindex 0. A kernel with tcx
 * looks the device up and says ENODEV (nothing gets attached); one without refuses the attach type (EINVAL).
 * Without tcx, `attachTcx` falls back to classic tc (clsact + cls_bpf over netlink).
 */
export function tcx(): Feature {
  return cached('tcx', () =>
    schedClsLinkProbe(AttachType.TCX_INGRESS, 0, [19 /* ENODEV */], (e) => `LINK_CREATE(BPF_TCX_INGRESS): ${e} — classic tc (clsact + cls_bpf) is used instead`),
  );
}

/**
 * LINK_CREATE of a tiny SCHED_CLS program with `attachType` on `ifindex`: ok when it succeeds (closed at once) or
 * fails with one of `okErrnos` (the kernel knows the attach type and looked the device up); else not, `why(errno)`.
 */
function schedClsLinkProbe(attachType: number, ifindex: number, okErrnos: number[], why: (errno: string) => string): Feature {
  let prog;
  try {
    prog = loadInsns(ProgType.SCHED_CLS, RET0, { name: 'bpfkit_probe' });
  } catch (e) {
    return { ok: false, reason: `cannot load a SCHED_CLS program: ${(e as Error).message}` };
  }
  try {
    const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: ifindex, attach_type: attachType });
    if (ret >= 0) closeFd(ret);
    if (ret >= 0 || okErrnos.includes(-ret)) return { ok: true };
    return { ok: false, reason: why(errnoName(-ret)) };
  } finally {
    prog.close();
  }
}

/**
 * netkit links (6.7+, CONFIG_NETKIT): LINK_CREATE of a SCHED_CLS program with BPF_NETKIT_PRIMARY on lo
 * (ifindex 1). A kernel with netkit looks the device up and says ENXIO (not a netkit device; nothing gets
 * attached); one without refuses the attach type (EINVAL).
 */
export function netkit(): Feature {
  return cached('netkit', () =>
    schedClsLinkProbe(AttachType.NETKIT_PRIMARY, 1, [6 /* ENXIO */, 19 /* ENODEV */], (e) => `LINK_CREATE(BPF_NETKIT_PRIMARY): ${e} — no netkit in this kernel (CONFIG_NETKIT, Linux 6.7+)`),
  );
}

/**
 * sockmap links (6.10+): LINK_CREATE of an SK_MSG program with BPF_SK_MSG_VERDICT on a fresh SOCKMAP. Without
 * them `attachSockMap` falls back to BPF_PROG_ATTACH on the map.
 */
export function sockmapLinks(): Feature {
  return cached('sockmap_link', () => {
    let map;
    let prog;
    try {
      map = KernelMap.create({ name: 'bpfkit_probe', type: MapType.SOCKMAP, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
      prog = loadInsns(ProgType.SK_MSG, retProg(1), { name: 'bpfkit_probe', expectedAttachType: AttachType.SK_MSG_VERDICT });
      const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_fd: map.fd, attach_type: AttachType.SK_MSG_VERDICT });
      if (ret >= 0) {
        closeFd(ret);
        return { ok: true };
      }
      return { ok: false, reason: `LINK_CREATE(BPF_SK_MSG_VERDICT) on a sockmap: ${errnoName(-ret)} — BPF_PROG_ATTACH is used instead` };
    } catch (e) {
      return { ok: false, reason: `cannot set up the probe: ${(e as Error).message}` };
    } finally {
      prog?.close();
      map?.close();
    }
  });
}

/** Software perf events (SW_CPU_CLOCK) for sampling programs. */
export function perfEvents(): Feature {
  return cached('perf', () => {
    try {
      const fd = perfEventOpen({ type: PerfType.SOFTWARE, config: PerfSwConfig.CPU_CLOCK, sampleFreq: 1, flags: PerfAttrFlag.disabled, cpu: 0 });
      fd.close();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `perf_event_open(SW_CPU_CLOCK) failed: ${(e as Error).message}` };
    }
  });
}

/** Hardware perf events (HW_CPU_CYCLES sampling on CPU 0): absent in most VMs, which have no PMU. */
export function hardwarePerfEvents(): Feature {
  return cached('perf_hw', () => {
    try {
      const fd = perfEventOpen({ type: PerfType.HARDWARE, config: PerfHwConfig.CPU_CYCLES, sampleFreq: 1, flags: PerfAttrFlag.disabled, cpu: 0 });
      fd.close();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `no hardware perf counters: perf_event_open(HW_CPU_CYCLES) failed: ${(e as Error).message}` };
    }
  });
}

/** Tracepoints through tracefs (mounted when absent). */
export function tracepoints(): Feature {
  return cached('tracepoints', () => {
    for (const p of ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events']) if (existsSync(p)) return { ok: true };
    return { ok: true, reason: 'tracefs not mounted yet (bpfkit mounts it at /sys/kernel/tracing when attaching)' };
  });
}

/** The cgroup v2 mount point, or undefined. */
export function cgroup2Root(): string | undefined {
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, fstype] = line.split(' ');
      if (fstype === 'cgroup2' && mnt) return mnt;
    }
  } catch {
    /* none */
  }
  return undefined;
}

/** cgroup v2 availability. */
export function cgroupV2(): Feature {
  return cached('cgroup2', () => (cgroup2Root() ? { ok: true, reason: cgroup2Root() } : { ok: false, reason: 'no cgroup2 file system mounted' }));
}

/** bpffs mounted at /sys/fs/bpf. */
export function bpffs(): Feature {
  return cached('bpffs', () => (fsMagic('/sys/fs/bpf') === FsMagic.BPF ? { ok: true } : { ok: true, reason: 'bpffs not mounted yet (mounted on first pin)' }));
}

/** Everything at once, for `bpfkit feature probe`. */
export function probeAll(opts: { helpersFor?: number[] } = {}): {
  progTypes: Record<string, Feature>;
  mapTypes: Record<string, Feature>;
  attach: Record<string, Feature>;
  helpers: Record<string, Record<string, Feature>>;
} {
  const progTypes: Record<string, Feature> = {};
  for (const v of new Set(Object.values(ProgType))) if (v !== 0) progTypes[progTypeName(v)] = probeProgType(v);
  const mapTypes: Record<string, Feature> = {};
  for (const v of new Set(Object.values(MapType))) if (v !== 0) mapTypes[mapTypeName(v)] = probeMapType(v);
  const attach: Record<string, Feature> = {
    kprobe: kprobes(),
    uprobe: uprobes(),
    uprobe_multi: uprobeMulti(),
    tracepoint: tracepoints(),
    tp_btf: tpBtf(),
    fentry: fentry(),
    lsm: lsm(),
    perf_event: perfEvents(),
    perf_event_hw: hardwarePerfEvents(),
    tcx: tcx(),
    netkit: netkit(),
    sockmap_link: sockmapLinks(),
    cgroup2: cgroupV2(),
    bpffs: bpffs(),
  };
  const helpers: Record<string, Record<string, Feature>> = {};
  for (const t of opts.helpersFor ?? []) {
    const row: Record<string, Feature> = {};
    for (let id = 1; id < 250; id++) {
      const h = helperById(id);
      if (!h) continue;
      row[h.fullName] = probeHelper(t, id);
    }
    helpers[progTypeName(t)] = row;
  }
  return { progTypes, mapTypes, attach, helpers };
}
