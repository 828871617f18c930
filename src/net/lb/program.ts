/**
 * The load balancer's one XDP program, written in LLVM-syntax assembly (assembled by src/asm, no clang) and
 * specialised only by the Maglev table size, plus the specs of the maps it uses.
 *
 * Per packet: Ethernet (untagged) → IPv4 with IHL 5, not a fragment → TCP/UDP ports; anything else → XDP_PASS.
 * Look up the VIP (daddr, dport, proto) in `lb_vips`; no VIP → XDP_PASS. Count the VIP. Look up the flow
 * (16-byte key, see hash.ts) in the `lb_ct` LRU: a hit whose backend slot still holds the same backend (same
 * epoch, same VIP) keeps it; otherwise hash the flow (MurmurHash3, 32-bit ALU), take `hash % M` in the VIP's
 * Maglev table (`lb_rings`, an array of maps: one array per VIP, swapped whole on update), read the backend
 * and record the flow in `lb_ct`. Count the backend, then forward:
 *   - ipip: bpf_xdp_adjust_head(-20), new Ethernet header (source = the frame's destination MAC, destination =
 *     the gateway MAC if configured, else the frame's source MAC), outer IPv4 header (TOS copied, length = inner
 *     + 20, TTL 64, protocol 4, source = the VIP's tunnel source, destination = the backend, checksum) → XDP_TX.
 *   - dsr: destination MAC = the backend's, source MAC = the frame's destination MAC → XDP_TX.
 * An empty table (no backend of positive weight) → XDP_DROP, counted; an adjust_head failure → XDP_DROP, counted.
 */
import { assembleLlvm } from '../../asm/index.js';
import { HelperId } from '../../isa/helpers.js';
import { PseudoLd, type Insn } from '../../isa/index.js';
import { MapType, ProgType } from '../../isa/uapi.js';
import type { MapSpec } from '../../spec/map.js';
import type { InsnReference, ProgramSpec } from '../../spec/program.js';
import { LB_MAX_BACKENDS, LB_MAX_VIPS } from './config.js';
import { FLOW_HASH_SEED } from './hash.js';

/** Map names, in the `map[idx:N]` order the assembly uses. */
export const LB_MAPS = ['lb_vips', 'lb_rings', 'lb_backends', 'lb_ct', 'lb_stats'] as const;

/** `lb_stats` layout: per VIP index, then per backend slot, then these global counters. */
export const LB_STAT = {
  /** First backend slot counter. */
  BACKEND_BASE: LB_MAX_VIPS,
  /** Packets passed to the stack (not for a VIP, not IPv4 TCP/UDP, fragments, IP options). */
  PASS: LB_MAX_VIPS + LB_MAX_BACKENDS,
  /** Flows that missed conntrack and were placed with Maglev. */
  NEW_FLOW: LB_MAX_VIPS + LB_MAX_BACKENDS + 1,
  /** VIP packets dropped because the VIP has no backend of positive weight. */
  NO_BACKEND: LB_MAX_VIPS + LB_MAX_BACKENDS + 2,
  /** VIP packets dropped because the encapsulation failed (bpf_xdp_adjust_head refused). */
  ERROR: LB_MAX_VIPS + LB_MAX_BACKENDS + 3,
} as const;
/** Entries of `lb_stats`. */
export const LB_STATS_ENTRIES = LB_MAX_VIPS + LB_MAX_BACKENDS + 4;

/** Byte layout of the map values (all little-endian except addresses and MACs, which are as on the wire). */
export const LB_LAYOUT = {
  /** lb_vips key: daddr(4) dport(2) proto(1) pad(1). */
  vipKey: 8,
  /** lb_vips value: index u32 @0, mode u32 @4, tunnel source @8, gateway MAC @12, has-gateway u8 @18, pad @19. */
  vipValue: 20,
  /** lb_backends value: addr @0, epoch u32 @4 (0 = free slot), vip index u32 @8, MAC @12, pad @18. */
  backendValue: 20,
  /** lb_ct key: the flow key; value: backend slot u32, epoch u32. */
  ctKey: 16,
  ctValue: 8,
  /** lb_stats value: packets u64, bytes u64 (per CPU). */
  statValue: 16,
} as const;

/** Specs of the maps; `ringSize` is the Maglev table size (the inner array's max_entries). */
export function lbMapSpecs(ringSize: number, conntrackSize: number): MapSpec[] {
  return [
    { name: 'lb_vips', type: MapType.HASH, keySize: LB_LAYOUT.vipKey, valueSize: LB_LAYOUT.vipValue, maxEntries: LB_MAX_VIPS, flags: 0 },
    {
      name: 'lb_rings',
      type: MapType.ARRAY_OF_MAPS,
      keySize: 4,
      valueSize: 4,
      maxEntries: LB_MAX_VIPS,
      flags: 0,
      inner: lbRingSpec(ringSize),
    },
    { name: 'lb_backends', type: MapType.ARRAY, keySize: 4, valueSize: LB_LAYOUT.backendValue, maxEntries: LB_MAX_BACKENDS, flags: 0 },
    { name: 'lb_ct', type: MapType.LRU_HASH, keySize: LB_LAYOUT.ctKey, valueSize: LB_LAYOUT.ctValue, maxEntries: conntrackSize, flags: 0 },
    { name: 'lb_stats', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: LB_LAYOUT.statValue, maxEntries: LB_STATS_ENTRIES, flags: 0 },
  ];
}

/** Spec of one VIP's Maglev table (slot → backend slot index; 0xffffffff = none). */
export function lbRingSpec(ringSize: number): MapSpec {
  return { name: 'lb_ring', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: ringSize, flags: 0 };
}

const [VIPS, RINGS, BACKENDS, CT, STATS] = [0, 1, 2, 3, 4];
const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;
const s32 = (n: number) => n | 0;

// Stack: -8 VIP key, -24 flow key (saddr, daddr, ports, proto u32), -32 ct value {slot, epoch},
// -36 scratch u32 key (ring slot, stats index), -40 VIP index (ring key), -48 packet length (u64).
// Registers: r6 ctx, r7 VIP value, r8 backend value.
let label = 0;
function count(index: string): string {
  const skip = `cnt${label++}`;
  return `
  ${index}
  *(u32 *)(r10 - 36) = w1
  r1 = map[idx:${STATS}]
  r2 = r10
  r2 += -36
  call ${HelperId.map_lookup_elem}
  if r0 == 0 goto ${skip}
  r1 = *(u64 *)(r0 + 0)
  r1 += 1
  *(u64 *)(r0 + 0) = r1
  r1 = *(u64 *)(r0 + 8)
  r2 = *(u64 *)(r10 - 48)
  r1 += r2
  *(u64 *)(r0 + 8) = r1
${skip}:`;
}

function murmurWord(off: number): string {
  return `
  r1 = *(u32 *)(r10 - ${off})
  w1 *= ${s32(0xcc9e2d51)}
  w2 = w1
  w1 <<= 15
  w2 >>= 17
  w1 |= w2
  w1 *= ${s32(0x1b873593)}
  w0 ^= w1
  w2 = w0
  w0 <<= 13
  w2 >>= 19
  w0 |= w2
  w0 *= 5
  w0 += ${s32(0xe6546b64)}`;
}

function source(ringSize: number): string {
  label = 0;
  const lookup = HelperId.map_lookup_elem;
  const words = [0, 2, 4, 6, 8].map((o) => `  r4 = *(u16 *)(r2 + ${14 + 2 * o})\n  r5 += r4\n  r4 = *(u16 *)(r2 + ${16 + 2 * o})\n  r5 += r4`).join('\n');
  return `
  r6 = r1
  r2 = *(u32 *)(r6 + 0)
  r3 = *(u32 *)(r6 + 4)
  r4 = r2
  r4 += 38
  if r4 > r3 goto pass
  r5 = *(u16 *)(r2 + 12)
  if r5 != 8 goto pass
  r5 = *(u8 *)(r2 + 14)
  if r5 != 0x45 goto pass
  r5 = *(u16 *)(r2 + 20)
  r5 &= 0xff3f
  if r5 != 0 goto pass
  r5 = *(u8 *)(r2 + 23)
  if r5 == 6 goto l4
  if r5 != 17 goto pass
l4:
  r4 = *(u32 *)(r2 + 26)
  *(u32 *)(r10 - 24) = w4
  r4 = *(u32 *)(r2 + 30)
  *(u32 *)(r10 - 20) = w4
  *(u32 *)(r10 - 8) = w4
  r4 = *(u32 *)(r2 + 34)
  *(u32 *)(r10 - 16) = w4
  *(u32 *)(r10 - 12) = w5
  r4 = *(u16 *)(r2 + 36)
  *(u16 *)(r10 - 4) = w4
  *(u8 *)(r10 - 2) = w5
  *(u8 *)(r10 - 1) = 0
  r3 -= r2
  *(u64 *)(r10 - 48) = r3
  r1 = map[idx:${VIPS}]
  r2 = r10
  r2 += -8
  call ${lookup}
  if r0 == 0 goto pass
  r7 = r0
${count('r1 = *(u32 *)(r7 + 0)')}
  r1 = map[idx:${CT}]
  r2 = r10
  r2 += -24
  call ${lookup}
  if r0 == 0 goto pick
  r1 = *(u32 *)(r0 + 0)
  *(u32 *)(r10 - 32) = w1
  r1 = *(u32 *)(r0 + 4)
  *(u32 *)(r10 - 28) = w1
  r1 = map[idx:${BACKENDS}]
  r2 = r10
  r2 += -32
  call ${lookup}
  if r0 == 0 goto pick
  r1 = *(u32 *)(r0 + 4)
  r2 = *(u32 *)(r10 - 28)
  if r1 != r2 goto pick
  r1 = *(u32 *)(r0 + 8)
  r2 = *(u32 *)(r7 + 0)
  if r1 != r2 goto pick
  r8 = r0
  goto forward
pick:
  w0 = ${FLOW_HASH_SEED}
${[24, 20, 16, 12].map(murmurWord).join('\n')}
  w0 ^= 16
  w1 = w0
  w1 >>= 16
  w0 ^= w1
  w0 *= ${s32(0x85ebca6b)}
  w1 = w0
  w1 >>= 13
  w0 ^= w1
  w0 *= ${s32(0xc2b2ae35)}
  w1 = w0
  w1 >>= 16
  w0 ^= w1
  w0 %= ${ringSize}
  *(u32 *)(r10 - 36) = w0
  r1 = *(u32 *)(r7 + 0)
  *(u32 *)(r10 - 40) = w1
  r1 = map[idx:${RINGS}]
  r2 = r10
  r2 += -40
  call ${lookup}
  if r0 == 0 goto nobackend
  r1 = r0
  r2 = r10
  r2 += -36
  call ${lookup}
  if r0 == 0 goto nobackend
  r1 = *(u32 *)(r0 + 0)
  *(u32 *)(r10 - 32) = w1
  r1 = map[idx:${BACKENDS}]
  r2 = r10
  r2 += -32
  call ${lookup}
  if r0 == 0 goto nobackend
  r1 = *(u32 *)(r0 + 4)
  if r1 == 0 goto nobackend
  r8 = r0
  *(u32 *)(r10 - 28) = w1
  r1 = map[idx:${CT}]
  r2 = r10
  r2 += -24
  r3 = r10
  r3 += -32
  r4 = 0
  call ${HelperId.map_update_elem}
${count(`r1 = ${LB_STAT.NEW_FLOW}`)}
forward:
${count(`r1 = *(u32 *)(r10 - 32)\n  r1 += ${LB_MAX_VIPS}`)}
  r1 = *(u32 *)(r7 + 4)
  if r1 == 1 goto dsr
  r1 = r6
  r2 = -20
  call ${HelperId.xdp_adjust_head}
  if r0 != 0 goto error
  r2 = *(u32 *)(r6 + 0)
  r3 = *(u32 *)(r6 + 4)
  r4 = r2
  r4 += 54
  if r4 > r3 goto error
  r4 = *(u32 *)(r2 + 20)
  *(u32 *)(r2 + 6) = w4
  r4 = *(u16 *)(r2 + 24)
  *(u16 *)(r2 + 10) = w4
  r5 = *(u8 *)(r7 + 18)
  if r5 != 0 goto gateway
  r4 = *(u32 *)(r2 + 26)
  *(u32 *)(r2 + 0) = w4
  r4 = *(u16 *)(r2 + 30)
  *(u16 *)(r2 + 4) = w4
  goto iphdr
gateway:
  r4 = *(u32 *)(r7 + 12)
  *(u32 *)(r2 + 0) = w4
  r4 = *(u16 *)(r7 + 16)
  *(u16 *)(r2 + 4) = w4
iphdr:
  *(u16 *)(r2 + 12) = 8
  *(u8 *)(r2 + 14) = 0x45
  r4 = *(u8 *)(r2 + 35)
  *(u8 *)(r2 + 15) = w4
  r4 = *(u16 *)(r2 + 36)
  r4 = be16 r4
  r4 += 20
  r4 = be16 r4
  *(u16 *)(r2 + 16) = w4
  *(u32 *)(r2 + 18) = 0
  *(u16 *)(r2 + 22) = 0x0440
  *(u16 *)(r2 + 24) = 0
  r4 = *(u32 *)(r7 + 8)
  *(u32 *)(r2 + 26) = w4
  r4 = *(u32 *)(r8 + 0)
  *(u32 *)(r2 + 30) = w4
  r5 = 0
${words}
  r4 = r5
  r4 >>= 16
  r5 &= 0xffff
  r5 += r4
  r4 = r5
  r4 >>= 16
  r5 &= 0xffff
  r5 += r4
  r5 ^= 0xffff
  *(u16 *)(r2 + 24) = w5
  r0 = ${XDP_TX}
  exit
dsr:
  r2 = *(u32 *)(r6 + 0)
  r3 = *(u32 *)(r6 + 4)
  r4 = r2
  r4 += 14
  if r4 > r3 goto error
  r4 = *(u32 *)(r2 + 0)
  *(u32 *)(r2 + 6) = w4
  r4 = *(u16 *)(r2 + 4)
  *(u16 *)(r2 + 10) = w4
  r4 = *(u32 *)(r8 + 12)
  *(u32 *)(r2 + 0) = w4
  r4 = *(u16 *)(r8 + 16)
  *(u16 *)(r2 + 4) = w4
  r0 = ${XDP_TX}
  exit
nobackend:
${count(`r1 = ${LB_STAT.NO_BACKEND}`)}
  r0 = ${XDP_DROP}
  exit
error:
${count(`r1 = ${LB_STAT.ERROR}`)}
  r0 = ${XDP_DROP}
  exit
pass:
  r2 = *(u32 *)(r6 + 0)
  r3 = *(u32 *)(r6 + 4)
  r3 -= r2
  *(u64 *)(r10 - 48) = r3
${count(`r1 = ${LB_STAT.PASS}`)}
  r0 = ${XDP_PASS}
  exit
`;
}

/** The assembly text of the program for a table of `ringSize` slots (for inspection). */
export function lbAsm(ringSize: number): string {
  return source(ringSize);
}

/** Assemble the program: instructions with map references by name (resolved by the kernel or userspace loader). */
export function lbProgram(ringSize: number): { insns: Insn[]; references: InsnReference[] } {
  const { insns } = assembleLlvm(source(ringSize), 'xdp-lb.s');
  const references: InsnReference[] = [];
  insns.forEach((i, pc) => {
    if (i.code === 0x18 && i.src === PseudoLd.MAP_IDX) references.push({ kind: 'map', pc, map: LB_MAPS[i.imm]!, value: false });
  });
  return { insns, references };
}

/** The ProgramSpec of the load balancer (XDP), named `xdp_lb`. */
export function lbProgramSpec(ringSize: number): ProgramSpec {
  const { insns, references } = lbProgram(ringSize);
  return { name: 'xdp_lb', section: 'xdp', type: ProgType.XDP, insns, references, license: 'GPL' };
}
