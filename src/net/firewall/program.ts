/**
 * The firewall's one fixed XDP program, written in LLVM-syntax assembly and assembled by src/asm, plus the
 * specs of the maps it reads. Two generations of table contents live side by side (a generation word is the
 * first 32 bits of every LPM key and selects a half of every array); `fw_meta[GEN_SLOT]` says which one is live,
 * so a rule update fills the idle half and flips one word.
 *
 * Per packet: parse Ethernet (up to two 802.1Q/802.1ad tags) → IPv4 (version, IHL checked, header in bounds) →
 * TCP/UDP destination port (not for non-first fragments); look up src, dst, proto and port masks, AND them,
 * take the lowest set bit as the rule index (64 = default), read its action and bump its per-CPU counter.
 * Non-IPv4 frames (ARP, IPv6...) → XDP_PASS uncounted. Truncated/malformed VLAN or IPv4 → default action.
 */
import { assembleLlvm } from '../../asm/index.js';
import { PseudoLd, type Insn } from '../../isa/index.js';
import { MapType, ProgType } from '../../isa/uapi.js';
import type { MapSpec } from '../../spec/map.js';
import type { InsnReference, ProgramSpec } from '../../spec/program.js';
import { MAX_RULES } from './rules.js';

/** Map names, in the `map[idx:N]` order the assembly uses. */
export const FW_MAPS = ['fw_src', 'fw_dst', 'fw_proto', 'fw_port', 'fw_meta', 'fw_stats'] as const;
/** Entries per generation in fw_meta / fw_stats: 64 rules, the default (64), the port-less mask (65). */
export const META_PER_GEN = MAX_RULES + 2;
/** fw_meta index holding the live generation. */
export const GEN_SLOT = 2 * META_PER_GEN;
/** Rule index standing for "no rule matched / malformed". */
export const DEFAULT_INDEX = MAX_RULES;

const LPM_NO_PREALLOC = 1;

/** Specs of the maps the program reads. */
export function firewallMapSpecs(): MapSpec[] {
  const lpm = (name: string, max: number): MapSpec => ({ name, type: MapType.LPM_TRIE, keySize: 12, valueSize: 8, maxEntries: max, flags: LPM_NO_PREALLOC });
  return [
    lpm('fw_src', 2 * (MAX_RULES + 1)),
    lpm('fw_dst', 2 * (MAX_RULES + 1)),
    { name: 'fw_proto', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 512, flags: 0 },
    // A range of 16-bit ports splits into at most 30 prefixes.
    lpm('fw_port', 2 * (30 * MAX_RULES + 1)),
    { name: 'fw_meta', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: GEN_SLOT + 1, flags: 0 },
    { name: 'fw_stats', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 2 * META_PER_GEN, flags: 0 },
  ];
}

const [SRC, DST, PROTO, PORT, META, STATS] = [0, 1, 2, 3, 4, 5];

// r6 ctx, r7 L3 pointer then "has port", r8 generation, r9 rule mask then rule index.
// Stack: -16 src key {prefixlen, gen, addr}, -32 dst key, -48 port key {prefixlen, gen, port, pad}, -52 proto index, -56 meta/stats index.
const SOURCE = `
  r6 = r1
  *(u32 *)(r10 - 56) = ${GEN_SLOT}
  r2 = r10
  r2 += -56
  r1 = map[idx:${META}]
  call 1
  r8 = 0
  if r0 == 0 goto have_gen
  r8 = *(u64 *)(r0 + 0)
  r8 &= 1
have_gen:
  r9 = ${DEFAULT_INDEX}
  r2 = *(u32 *)(r6 + 0)
  r3 = *(u32 *)(r6 + 4)
  r7 = r2
  r7 += 14
  if r7 > r3 goto verdict
  r5 = *(u16 *)(r2 + 12)
  if r5 == 0x81 goto tag1
  if r5 == 0xa888 goto tag1
  goto l3
tag1:
  r4 = r7
  r4 += 4
  if r4 > r3 goto verdict
  r5 = *(u16 *)(r7 + 2)
  r7 = r4
  if r5 == 0x81 goto tag2
  if r5 == 0xa888 goto tag2
  goto l3
tag2:
  r4 = r7
  r4 += 4
  if r4 > r3 goto verdict
  r5 = *(u16 *)(r7 + 2)
  r7 = r4
l3:
  if r5 != 8 goto pass
  r4 = r7
  r4 += 20
  if r4 > r3 goto verdict
  r4 = *(u8 *)(r7 + 0)
  r1 = r4
  r1 >>= 4
  if r1 != 4 goto verdict
  r4 &= 15
  if r4 < 5 goto verdict
  r4 <<= 2
  r1 = r7
  r1 += r4
  if r1 > r3 goto verdict
  *(u32 *)(r10 - 16) = 64
  *(u32 *)(r10 - 12) = w8
  r5 = *(u32 *)(r7 + 12)
  *(u32 *)(r10 - 8) = w5
  *(u32 *)(r10 - 32) = 64
  *(u32 *)(r10 - 28) = w8
  r5 = *(u32 *)(r7 + 16)
  *(u32 *)(r10 - 24) = w5
  r5 = *(u8 *)(r7 + 9)
  r0 = r8
  r0 *= 256
  r0 += r5
  *(u32 *)(r10 - 52) = w0
  *(u32 *)(r10 - 48) = 48
  *(u32 *)(r10 - 44) = w8
  *(u32 *)(r10 - 40) = 0
  if r5 == 6 goto l4
  if r5 == 17 goto l4
  goto noport
l4:
  r5 = *(u16 *)(r7 + 6)
  r5 &= 0xff1f
  if r5 != 0 goto noport
  r4 = r1
  r4 += 4
  if r4 > r3 goto verdict
  r5 = *(u16 *)(r1 + 2)
  *(u16 *)(r10 - 40) = w5
  r7 = 1
  goto lookups
noport:
  r7 = 0
lookups:
  r1 = map[idx:${SRC}]
  r2 = r10
  r2 += -16
  call 1
  if r0 == 0 goto nomatch
  r9 = *(u64 *)(r0 + 0)
  r1 = map[idx:${DST}]
  r2 = r10
  r2 += -32
  call 1
  if r0 == 0 goto nomatch
  r1 = *(u64 *)(r0 + 0)
  r9 &= r1
  r1 = map[idx:${PROTO}]
  r2 = r10
  r2 += -52
  call 1
  if r0 == 0 goto nomatch
  r1 = *(u64 *)(r0 + 0)
  r9 &= r1
  if r7 == 0 goto portless
  r1 = map[idx:${PORT}]
  r2 = r10
  r2 += -48
  call 1
  if r0 == 0 goto nomatch
  r1 = *(u64 *)(r0 + 0)
  r9 &= r1
  goto pick
portless:
  r1 = r8
  r1 *= ${META_PER_GEN}
  r1 += ${MAX_RULES + 1}
  *(u32 *)(r10 - 56) = w1
  r1 = map[idx:${META}]
  r2 = r10
  r2 += -56
  call 1
  if r0 == 0 goto nomatch
  r1 = *(u64 *)(r0 + 0)
  r9 &= r1
pick:
  if r9 == 0 goto nomatch
  r0 = 0
${[32, 16, 8, 4, 2, 1]
  .map(
    (k) => `  r1 = r9
  r1 <<= ${64 - k}
  if r1 != 0 goto s${k}
  r9 >>= ${k}
  r0 += ${k}
s${k}:`,
  )
  .join('\n')}
  r9 = r0
  goto verdict
nomatch:
  r9 = ${DEFAULT_INDEX}
verdict:
  r1 = r8
  r1 *= ${META_PER_GEN}
  r1 += r9
  *(u32 *)(r10 - 56) = w1
  r1 = map[idx:${META}]
  r2 = r10
  r2 += -56
  call 1
  r7 = 2
  if r0 == 0 goto count
  r7 = *(u64 *)(r0 + 0)
count:
  r1 = map[idx:${STATS}]
  r2 = r10
  r2 += -56
  call 1
  if r0 == 0 goto out
  r1 = *(u64 *)(r0 + 0)
  r1 += 1
  *(u64 *)(r0 + 0) = r1
  r2 = *(u32 *)(r6 + 4)
  r3 = *(u32 *)(r6 + 0)
  r2 -= r3
  r1 = *(u64 *)(r0 + 8)
  r1 += r2
  *(u64 *)(r0 + 8) = r1
out:
  r0 = r7
  exit
pass:
  r0 = 2
  exit
`;

/** The assembly text of the program (for inspection). */
export const FIREWALL_ASM = SOURCE;

/** Assemble the program: instructions with map references by name (resolved by the kernel or userspace loader). */
export function firewallProgram(): { insns: Insn[]; references: InsnReference[] } {
  const { insns } = assembleLlvm(SOURCE, 'xdp-firewall.s');
  const references: InsnReference[] = [];
  insns.forEach((i, pc) => {
    if (i.code === 0x18 && i.src === PseudoLd.MAP_IDX) references.push({ kind: 'map', pc, map: FW_MAPS[i.imm]!, value: false });
  });
  return { insns, references };
}

/** The ProgramSpec of the firewall (XDP). */
export function firewallProgramSpec(): ProgramSpec {
  const { insns, references } = firewallProgram();
  return { name: 'xdp_firewall', section: 'xdp', type: ProgType.XDP, insns, references, license: 'GPL' };
}
