/**
 * An XDP firewall: first-match IPv4/IPv6 rules (src/dst prefix, protocol, source/destination port or range,
 * ICMP/ICMPv6 type, TCP flags) compiled into maps read by one fixed eBPF program bpfkit generates itself. Runs in
 * the kernel (attached with XDP) or in bpfkit's userspace runtime. Non-IP frames (ARP...) are passed uncounted.
 */
import type { Insn } from '../../isa/index.js';
import { Collection as KernelCollection } from '../../kernel/load/collection.js';
import type { KernelProgram } from '../../kernel/load/program.js';
import { attachXdp, type XdpLink } from '../../kernel/link/xdp.js';
import type { BpfMap, MapSpec } from '../../spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../../spec/program.js';
import { loadCollection, type Collection as UserCollection, type RunResult } from '../../vm/collection.js';
import { firewallMapSpecs, firewallProgramSpec } from './program.js';
import { compileTables, normalizeRules, type FirewallOptions, type FirewallRule } from './rules.js';
import { liveGeneration, readCounters, setGeneration, writeGeneration, type FirewallCounters, type FirewallMaps } from './tables.js';

export type { AddrPrefix, FirewallAction, FirewallFamily, FirewallOptions, FirewallRule, NormalizedRule, PortSpec } from './rules.js';
export { MAX_RULES, normalizeRules } from './rules.js';
export type { FirewallCounter, FirewallCounters, FirewallMaps } from './tables.js';
export { FIREWALL_ASM, MAX_EXT_HEADERS } from './program.js';

/** A compiled firewall: the program, its maps, and a function filling the maps with the rules. */
export interface CompiledFirewall {
  insns: Insn[];
  program: ProgramSpec;
  maps: MapSpec[];
  /** Write the rules into the maps (generation 0) and make them live. */
  populate(maps: FirewallMaps): void;
  /** The whole thing as an ObjectSpec (for loaders taking one). */
  object(): ObjectSpec;
}

/** Compile `rules` (validated: throws `UsageError`) into the fixed program plus its map contents. */
export function compileFirewall(rules: readonly FirewallRule[], opts: FirewallOptions = {}): CompiledFirewall {
  const tables = compileTables(normalizeRules(rules), opts.defaultAction ?? 'pass');
  const program = firewallProgramSpec();
  const maps = firewallMapSpecs();
  return {
    insns: program.insns,
    program,
    maps,
    populate(m) {
      writeGeneration(m, tables, 0);
      setGeneration(m, 0);
    },
    object: () => ({ programs: [program], maps, license: 'GPL' }),
  };
}

/** Replace the live rules atomically: fill the idle generation, then flip. */
function swapRules(maps: FirewallMaps, rules: readonly FirewallRule[], opts: FirewallOptions): number {
  const tables = compileTables(normalizeRules(rules), opts.defaultAction ?? 'pass');
  const next = liveGeneration(maps) ^ 1;
  writeGeneration(maps, tables, next);
  setGeneration(maps, next);
  return rules.length;
}

/** Common surface of the kernel and userspace firewalls. */
interface FirewallBase {
  /** Swap in a new rule set (and default action, if given) atomically; counters restart at zero. */
  update(rules: readonly FirewallRule[], opts?: FirewallOptions): void;
  /** Counters of the live rule set. */
  counters(): FirewallCounters;
  close(): void;
}

/** A firewall in the kernel; attached to an interface when `iface` was given. */
export interface KernelFirewall extends FirewallBase {
  program: KernelProgram;
  collection: KernelCollection;
  link?: XdpLink;
}

/** Options of `loadFirewallKernel`. */
export interface KernelFirewallOptions extends FirewallOptions {
  /** Interface to attach to (name or index); omit to only load (e.g. for BPF_PROG_TEST_RUN). */
  iface?: string | number;
  mode?: 'auto' | 'native' | 'generic';
}

/** Load the firewall into the kernel, fill its maps and (with `iface`) attach it with XDP. */
export function loadFirewallKernel(rules: readonly FirewallRule[], opts: KernelFirewallOptions = {}): KernelFirewall {
  const fw = compileFirewall(rules, opts);
  const collection = KernelCollection.load(fw.object());
  try {
    const maps = (n: string): BpfMap => collection.map(n);
    fw.populate(maps);
    const program = collection.program('xdp_firewall');
    const link = opts.iface !== undefined ? attachXdp(program, opts.iface, { mode: opts.mode }) : undefined;
    let nrules = rules.length;
    let current: FirewallOptions = { defaultAction: opts.defaultAction };
    return {
      program,
      collection,
      link,
      update(r, o) {
        current = { ...current, ...o };
        nrules = swapRules(maps, r, current);
      },
      counters: () => readCounters(maps, nrules),
      close() {
        link?.close();
        collection.close();
      },
    };
  } catch (e) {
    collection.close();
    throw e;
  }
}

/** A firewall in bpfkit's userspace runtime. */
export interface UserFirewall extends FirewallBase {
  collection: UserCollection;
  /** Run the program on one Ethernet frame. */
  run(packet: Uint8Array): RunResult;
}

/** Load the firewall into the userspace runtime (`ncpus`/`cpu` as `loadCollection`'s, for per-CPU counters). */
export function loadFirewallUserspace(rules: readonly FirewallRule[], opts: FirewallOptions & { ncpus?: number; cpu?: number } = {}): UserFirewall {
  const fw = compileFirewall(rules, opts);
  const collection = loadCollection(fw.object(), { ncpus: opts.ncpus, cpu: opts.cpu });
  const maps = collection.maps as unknown as Record<string, BpfMap>;
  fw.populate(maps);
  let nrules = rules.length;
  let current: FirewallOptions = { defaultAction: opts.defaultAction };
  return {
    collection,
    run: (packet) => collection.run('xdp_firewall', { packet }),
    update(r, o) {
      current = { ...current, ...o };
      nrules = swapRules(maps, r, current);
    },
    counters: () => readCounters(maps, nrules),
    close() {},
  };
}
