/**
 * The state helpers see during a run (`Vm.env`): the simulated CPU and task, clocks, the map handle table,
 * the packet and context being processed, the address spaces probe_read reads from, and the logs and records
 * helpers write (trace_printk output, redirects, signals, overridden returns). A test configures the parts it
 * cares about through `RuntimeConfig`; everything has a deterministic default.
 */
import { VmError } from '../../errors.js';
import { mapHandleAddress, mapHandleIndex, type Memory } from '../api.js';
import type { UserMap } from '../maps/base.js';
import type { PacketBuffer } from '../contexts/packet.js';

/** The task a program believes is current. */
export interface SimTask {
  pid: number;
  /** Thread group id (the process id). */
  tgid: number;
  uid: number;
  gid: number;
  /** Up to 15 characters. */
  comm: string;
  cgroupId: bigint;
  /** Cgroup ids from the root down (for get_current_ancestor_cgroup_id); defaults to [1, cgroupId]. */
  cgroupAncestors?: bigint[];
  /** Kernel stack (instruction pointers, innermost first) for get_stackid / get_stack. */
  kernelStack?: bigint[];
  /** User stack for BPF_F_USER_STACK. */
  userStack?: bigint[];
}

/** Bytes at an address of a simulated address space (probe_read and friends read these). */
export interface MemoryChunk {
  addr: bigint;
  bytes: Uint8Array;
}

/** One route of the simulated FIB (bpf_fib_lookup). */
export interface Route {
  /** Destination prefix: `10.0.0.0/8`, `2001:db8::/32`, `0.0.0.0/0`. */
  dst: string;
  /** Egress interface. */
  ifindex: number;
  /** Next hop (absent: directly connected, the destination itself). */
  gateway?: string;
  /** MAC of the egress interface (`aa:bb:cc:dd:ee:ff`). */
  smac?: string;
  /** MAC of the next hop; without it the lookup answers BPF_FIB_LKUP_RET_NO_NEIGH. */
  dmac?: string;
  /** Route MTU (default 1500). */
  mtu?: number;
  /** Kind: unicast (default), blackhole, unreachable, prohibit. */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  metric?: number;
}

/** Clocks in nanoseconds. Functions so a test can make time advance. */
export interface SimClock {
  monotonicNs: () => bigint;
  bootNs: () => bigint;
  coarseNs: () => bigint;
  taiNs: () => bigint;
  jiffies: () => bigint;
}

/** Something a helper did that has no other visible effect, recorded for the test to read. */
export type RecordedEvent =
  | { kind: 'signal'; sig: number; thread: boolean }
  | { kind: 'override_return'; rc: bigint }
  | { kind: 'probe_write_user'; addr: bigint; bytes: Uint8Array }
  | { kind: 'clone_redirect'; ifindex: number; flags: bigint; packet: Uint8Array };

/** Where a program asked the packet to go (bpf_redirect / bpf_redirect_map). */
export interface RedirectTarget {
  ifindex: number;
  flags: bigint;
  /** Set for bpf_redirect_map: the map and key. */
  map?: string;
  key?: number;
}

/** One helper call, for call logs. */
export interface HelperCall {
  name: string;
  id: number;
  args: bigint[];
  ret: bigint;
  /** Program that made the call. */
  program?: string;
  pc: number;
}

/** Table of map handles: `lddw rX, map` yields `mapHandleAddress(index)`. */
export class MapHandles {
  private readonly maps: UserMap[] = [];
  private readonly index = new Map<UserMap, number>();

  /** The handle address of `m` (registered on first use, so inner maps of map-in-maps get one too). */
  addressOf(m: UserMap): bigint {
    let i = this.index.get(m);
    if (i === undefined) {
      i = this.maps.length;
      this.maps.push(m);
      this.index.set(m, i);
    }
    return mapHandleAddress(i);
  }

  /** The map a handle address names, or undefined. */
  get(addr: bigint): UserMap | undefined {
    const i = mapHandleIndex(addr);
    return i === undefined ? undefined : this.maps[i];
  }
}

/** Per-run state of the runtime, attached as `Vm.env`. */
export interface RuntimeEnv {
  mem: Memory;
  /** CPU the program runs on. */
  cpu: number;
  ncpus: number;
  numaNode: number;
  handles: MapHandles;
  task: SimTask;
  /** Address get_current_task / get_current_task_btf return (a small read-only region). */
  taskAddr: bigint;
  clock: SimClock;
  /** u32 random numbers (get_prandom_u32). */
  random: () => number;
  /** trace_printk / bpf_printk output lines, in order. */
  printk: string[];
  kernelMemory: MemoryChunk[];
  userMemory: MemoryChunk[];
  /** Program type of the running program (helpers whose behaviour depends on it). */
  progType: number;
  /** The context address (r1 at entry). */
  ctxAddr: bigint;
  /** The packet, for XDP and skb programs. */
  packet?: PacketBuffer;
  /** skb state helpers update (mark, hash, vlan...), for skb programs. */
  skb?: SkbState;
  redirect?: RedirectTarget;
  events: RecordedEvent[];
  routes: Route[];
  /** Neighbour table for fib_lookup: IP → MAC. */
  neighbours: Record<string, string>;
  /** bpf_get_func_ip / get_attach_cookie / get_func_arg / get_func_ret. */
  funcIp: bigint;
  attachCookie: bigint;
  funcArgs: bigint[];
  funcRet: bigint;
  /** Socket cookie (get_socket_cookie) and netns cookie. */
  socketCookie: bigint;
  /** Address of the context's socket (`__sk_buff.sk`), 0 when none. */
  sockAddr: bigint;
  netnsCookie: bigint;
  /** Pending bpf_ringbuf_reserve_dynptr / other per-run scratch regions to release at the end. */
  scratch: bigint[];
  /** Call log, when enabled. */
  calls?: HelperCall[];
  /** Held spin locks (addresses). */
  locks: Set<bigint>;
}

/** skb fields helpers read and write (mirrored into the __sk_buff context). */
export interface SkbState {
  protocol: number;
  mark: number;
  hash: number;
  /** 0 = no hash, 1 = L4 hash. */
  l4hash: boolean;
  vlanPresent: boolean;
  vlanTci: number;
  vlanProto: number;
  pktType: number;
  ifindex: number;
  priority: number;
  /** Offset of the network header from data (ETH_HLEN for tc, 0 for socket filters). */
  networkOffset: number;
  /** Bytes before `data` that are the MAC header (socket filters: 14, the header was pulled). */
  macBefore: number;
  csumLevel: number;
  /** Refresh the context from this state (after a helper changed it). */
  sync: () => void;
}

/** The runtime env of a helper call. */
export function envOf(ctx: { env: unknown; pc: number }): RuntimeEnv {
  const env = ctx.env as RuntimeEnv | undefined;
  if (!env || !env.handles) throw new VmError(ctx.pc, 'helper', 'helper called outside a runtime environment (use loadCollection)');
  return env;
}
