/**
 * An XDP layer-4 load balancer in the style of Katran: IPv4 TCP/UDP VIPs, each with weighted backends chosen by
 * Maglev consistent hashing of the flow's 5-tuple, connection tracking in an LRU so flows stay on their backend
 * across backend changes, forwarding by IPIP encapsulation or L2 direct server return (XDP_TX), per-VIP and
 * per-backend counters, live updates without detaching. One fixed eBPF program bpfkit generates itself (no
 * clang); runs in the kernel (attached with XDP) or in bpfkit's userspace runtime, and a reference evaluator in
 * TypeScript models every decision.
 */
import type { Insn } from '../../isa/index.js';
import { Collection as KernelCollection } from '../../kernel/load/collection.js';
import type { KernelProgram } from '../../kernel/load/program.js';
import { KernelMap } from '../../kernel/maps/map.js';
import { attachXdp, type XdpLink } from '../../kernel/link/xdp.js';
import type { BpfMap, MapSpec } from '../../spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../../spec/program.js';
import { loadCollection, type Collection as UserCollection, type RunResult } from '../../vm/collection.js';
import { createMap } from '../../vm/maps/index.js';
import { objectId } from '../../vm/objects.js';
import { formatIpv4, normalizeLbConfig, type LbConfig, type NormalizedLbConfig } from './config.js';
import { MAGLEV_EMPTY, maglevTable } from './maglev.js';
import { lbAsm, lbMapSpecs, lbProgramSpec, lbRingSpec } from './program.js';
import { LbReference } from './reference.js';
import { LbControl, type LbMaps, type LbStats } from './state.js';

export type { LbBackendConfig, LbConfig, LbForwardingMode, LbVipConfig, NormalizedBackend, NormalizedLbConfig, NormalizedVip } from './config.js';
export { LB_DEFAULT_CONNTRACK_SIZE, LB_DEFAULT_RING_SIZE, LB_MAX_BACKENDS, LB_MAX_VIPS, formatIpv4, formatMac, isPrime, normalizeLbConfig, parseIpv4, parseMac } from './config.js';
export { flowHash, flowKey, maglevOffsetSkip, murmur3Words } from './hash.js';
export { MAGLEV_EMPTY, maglevTable, type MaglevBackend } from './maglev.js';
export { LB_LAYOUT, LB_MAPS, LB_STAT, LB_STATS_ENTRIES, lbAsm, lbMapSpecs, lbProgram, lbProgramSpec, lbRingSpec } from './program.js';
export { LB_XDP, LbReference, ipv4Checksum, type LbDecision } from './reference.js';
export { LB_NO_SLOT, LbControl, sumPerCpu, vipKey, type LbCounter, type LbMaps, type LbSlot, type LbStats, type LbVipState } from './state.js';

/** A compiled load balancer: the validated config, the program and the specs of its maps. */
export interface CompiledLb {
  config: NormalizedLbConfig;
  insns: Insn[];
  program: ProgramSpec;
  maps: MapSpec[];
  /** The program's assembly text. */
  asm: string;
  /** The whole thing as an ObjectSpec. */
  object(): ObjectSpec;
}

/** Validate `config` (throws `UsageError` naming the field) and generate the program and map specs. */
export function compileLb(config: LbConfig): CompiledLb {
  const cfg = normalizeLbConfig(config);
  const program = lbProgramSpec(cfg.ringSize);
  const maps = lbMapSpecs(cfg.ringSize, cfg.conntrackSize);
  return { config: cfg, insns: program.insns, program, maps, asm: lbAsm(cfg.ringSize), object: () => ({ programs: [program], maps, license: 'GPL' }) };
}

/** Per-VIP Maglev table shares (for `--dry-run` and inspection): slots each backend owns. */
export interface LbTableSummary {
  vip: string;
  mode: 'ipip' | 'dsr';
  ringSize: number;
  backends: { address: string; weight: number; slots: number; share: number; weightShare: number }[];
}

/** Build each VIP's Maglev table (of a validated config: `compileLb(c).config`) and report how the slots split. */
export function lbTableSummary(cfg: NormalizedLbConfig): LbTableSummary[] {
  return cfg.vips.map((v) => {
    const t = maglevTable(v.backends, cfg.ringSize);
    const counts = new Array<number>(v.backends.length).fill(0);
    for (const i of t) if (i !== MAGLEV_EMPTY) counts[i]!++;
    const total = v.backends.reduce((s, b) => s + b.weight, 0);
    return {
      vip: v.key,
      mode: v.mode,
      ringSize: cfg.ringSize,
      backends: v.backends.map((b, i) => ({ address: formatIpv4(b.addr), weight: b.weight, slots: counts[i]!, share: counts[i]! / cfg.ringSize, weightShare: total ? b.weight / total : 0 })),
    };
  });
}

/** Common surface of the kernel and userspace balancers. */
interface LoadBalancerBase {
  /** The control plane (live VIPs, slots, Maglev tables). */
  control: LbControl;
  /** Apply a new configuration live (same ringSize and conntrackSize); throws `UsageError` before changing anything when invalid. */
  update(config: LbConfig): void;
  /** Per-VIP and per-backend counters, summed over CPUs. */
  stats(): LbStats;
  /** A reference evaluator following this balancer's tables (its own conntrack and counters). */
  reference(): LbReference;
  close(): void;
}

/** A load balancer in the kernel; attached to an interface when `iface` was given. */
export interface KernelLoadBalancer extends LoadBalancerBase {
  program: KernelProgram;
  collection: KernelCollection;
  link?: XdpLink;
}

/** Options of `loadLbKernel`. */
export interface KernelLbOptions {
  /** Interface to attach to (name or index); omit to only load (e.g. for BPF_PROG_TEST_RUN). */
  iface?: string | number;
  mode?: 'auto' | 'native' | 'generic';
}

function base(control: LbControl, onClose: () => void): LoadBalancerBase {
  return {
    control,
    update: (config) => control.apply(normalizeLbConfig(config)),
    stats: () => control.stats(),
    reference: () => new LbReference(control),
    close() {
      control.close();
      onClose();
    },
  };
}

/** Load the balancer into the kernel, fill its maps and (with `iface`) attach it with XDP. */
export function loadLbKernel(config: LbConfig, opts: KernelLbOptions = {}): KernelLoadBalancer {
  const lb = compileLb(config);
  const collection = KernelCollection.load(lb.object());
  let control: LbControl | undefined;
  try {
    const ringSpec = lbRingSpec(lb.config.ringSize);
    const maps: LbMaps = {
      vips: collection.map('lb_vips'),
      rings: collection.map('lb_rings'),
      backends: collection.map('lb_backends'),
      ct: collection.map('lb_ct'),
      stats: collection.map('lb_stats'),
      newRing() {
        const map = KernelMap.create(ringSpec);
        return { map, ref: map.fd };
      },
    };
    control = new LbControl(lb.config, maps);
    const program = collection.program('xdp_lb');
    const link = opts.iface !== undefined ? attachXdp(program, opts.iface, { mode: opts.mode }) : undefined;
    const b = base(control, () => {
      link?.close();
      collection.close();
    });
    return { ...b, program, collection, link };
  } catch (e) {
    control?.close();
    collection.close();
    throw e;
  }
}

/** A load balancer in bpfkit's userspace runtime. */
export interface UserLoadBalancer extends LoadBalancerBase {
  collection: UserCollection;
  /** Run the program on one Ethernet frame. */
  run(packet: Uint8Array): RunResult;
}

/** Load the balancer into the userspace runtime (`ncpus`/`cpu` as `loadCollection`'s, for per-CPU counters). */
export function loadLbUserspace(config: LbConfig, opts: { ncpus?: number; cpu?: number } = {}): UserLoadBalancer {
  const lb = compileLb(config);
  const collection = loadCollection(lb.object(), { ncpus: opts.ncpus, cpu: opts.cpu });
  const m = collection.maps as unknown as Record<string, BpfMap>;
  const ringSpec = lbRingSpec(lb.config.ringSize);
  const maps: LbMaps = {
    vips: m['lb_vips']!,
    rings: m['lb_rings']!,
    backends: m['lb_backends']!,
    ct: m['lb_ct']!,
    stats: m['lb_stats']!,
    newRing() {
      const map = createMap(ringSpec);
      return { map, ref: objectId(map) };
    },
  };
  const control = new LbControl(lb.config, maps);
  return { ...base(control, () => {}), collection, run: (packet) => collection.run('xdp_lb', { packet }) };
}
