/**
 * The firewall's one fixed XDP program, written in LLVM-syntax assembly and assembled by src/asm, plus the
 * specs of the maps it reads. Two generations of table contents live side by side (the low bit of a generation
 * word in every LPM key, and a half of every array); `fw_meta[GEN_SLOT]` says which one is live, so a rule update
 * fills the idle half and flips one word.
 *
 * Per packet: parse Ethernet (up to two 802.1Q/802.1ad tags) → IPv4 (version, IHL checked, header in bounds) or
 * IPv6 (version checked, 40-byte header in bounds, then at most {@link MAX_EXT_HEADERS} hop-by-hop / routing /
 * destination-options / fragment extension headers, unrolled) → for first fragments: TCP/UDP source and
 * destination ports, the TCP flags byte, the ICMP/ICMPv6 type. Look up the src, dst, proto, L4-detail and port
 * masks, AND them, take the lowest set bit as the rule index (64 = default), read its action and bump its per-CPU
 * counter. Non-IP frames (ARP...) → XDP_PASS uncounted. Truncated/malformed VLAN, IPv4 or IPv6 headers, truncated
 * extension headers, more than MAX_EXT_HEADERS of them, or TCP/UDP cut before the ports → default action.
 * A TCP header cut before the flags byte or an ICMP one without its type byte → rules on those fields don't match.
 */
import { assembleLlvm } from '../../asm/index.js';
import { PseudoLd, type Insn } from '../../isa/index.js';
import { MapType, ProgType } from '../../isa/uapi.js';
import type { MapSpec } from '../../spec/map.js';
import type { InsnReference, ProgramSpec } from '../../spec/program.js';
import { L4_NONE, L4_SLOTS, L4_TCP, MAX_RULES } from './rules.js';

/** Map names, in the `map[idx:N]` order the assembly uses. */
export const FW_MAPS = ['fw_src', 'fw_dst', 'fw_proto', 'fw_port', 'fw_meta', 'fw_stats', 'fw_l4'] as const;
/** Entries per generation in fw_meta / fw_stats: 64 rules, the default (64), the port-less mask (65). */
export const META_PER_GEN = MAX_RULES + 2;
/** fw_meta index holding the live generation. */
export const GEN_SLOT = 2 * META_PER_GEN;
/** Rule index standing for "no rule matched / malformed". */
export const DEFAULT_INDEX = MAX_RULES;
/** Address LPM key size: u32 prefixlen, u32 generation word, 16 address bytes. */
export const ADDR_KEY_SIZE = 24;
/** Most IPv6 extension headers skipped before the upper-layer header (more → default action). */
export const MAX_EXT_HEADERS = 4;

const LPM_NO_PREALLOC = 1;

/** Specs of the maps the program reads. */
export function firewallMapSpecs(): MapSpec[] {
  const lpm = (name: string, keySize: number, max: number): MapSpec => ({ name, type: MapType.LPM_TRIE, keySize, valueSize: 8, maxEntries: max, flags: LPM_NO_PREALLOC });
  return [
    // Per generation and family: at most one prefix per rule.
    lpm('fw_src', ADDR_KEY_SIZE, 2 * 2 * MAX_RULES),
    lpm('fw_dst', ADDR_KEY_SIZE, 2 * 2 * MAX_RULES),
    { name: 'fw_proto', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 512, flags: 0 },
    // Destination and source ports; a range of 16-bit ports splits into at most 30 prefixes.
    lpm('fw_port', 12, 2 * 2 * (30 * MAX_RULES + 1)),
    { name: 'fw_meta', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: GEN_SLOT + 1, flags: 0 },
    { name: 'fw_stats', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 2 * META_PER_GEN, flags: 0 },
    { name: 'fw_l4', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 * L4_SLOTS, flags: 0 },
  ];
}

const [SRC, DST, PROTO, PORT, META, STATS, L4] = [0, 1, 2, 3, 4, 5, 6];

/** A lookup of `map` with the key at r10+`key`; no entry → nomatch; else r9 = value (`first`) or r9 &= value. */
const lookup = (map: number, key: number, first = false) => `  r1 = map[idx:${map}]
  r2 = r10
  r2 += ${key}
  call 1
  if r0 == 0 goto nomatch
${first ? '  r9 = *(u64 *)(r0 + 0)' : `  r1 = *(u64 *)(r0 + 0)
  r9 &= r1`}`;

/** One unrolled step of the IPv6 extension header walk (r1 header pointer, r5 its type). */
const extStep = (i: number) => `ext${i}:
  if r5 == 0 goto opt${i}
  if r5 == 43 goto opt${i}
  if r5 == 60 goto opt${i}
  if r5 == 44 goto frag${i}
  goto l4
opt${i}:
  r4 = r1
  r4 += 8
  if r4 > r3 goto verdict
  r5 = *(u8 *)(r1 + 0)
  r4 = *(u8 *)(r1 + 1)
  r4 += 1
  r4 <<= 3
  r1 += r4
  goto ext${i + 1}
frag${i}:
  r4 = r1
  r4 += 8
  if r4 > r3 goto verdict
  r5 = *(u8 *)(r1 + 0)
  r4 = *(u16 *)(r1 + 2)
  r1 += 8
  r4 &= 0xf8ff
  if r4 == 0 goto ext${i + 1}
  r7 |= 4
  goto l4`;

// r6 ctx, r7 L3 pointer then flags (2 = IPv6, 4 = non-first fragment, 1 = has ports), r8 generation, r9 rule
// mask then rule index. Stack (8-aligned keys): -32 src key {prefixlen, gen word, addr[16]}, -56 dst key,
// -72 dport key {prefixlen, gen word, port, pad}, -88 sport key, -92 proto index, -96 L4 index, -100 meta/stats index.
const SOURCE = `
  r6 = r1
  *(u32 *)(r10 - 100) = ${GEN_SLOT}
  r2 = r10
  r2 += -100
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
  if r5 == 8 goto ip4
  if r5 == 0xdd86 goto ip6
  goto pass
ip4:
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
  *(u32 *)(r10 - 32) = 64
  r0 = *(u32 *)(r7 + 12)
  *(u32 *)(r10 - 24) = w0
  *(u32 *)(r10 - 20) = 0
  *(u64 *)(r10 - 16) = 0
  *(u32 *)(r10 - 56) = 64
  r0 = *(u32 *)(r7 + 16)
  *(u32 *)(r10 - 48) = w0
  *(u32 *)(r10 - 44) = 0
  *(u64 *)(r10 - 40) = 0
  r5 = *(u8 *)(r7 + 9)
  r4 = *(u16 *)(r7 + 6)
  r4 &= 0xff1f
  r7 = 0
  if r4 == 0 goto l4
  r7 = 4
  goto l4
ip6:
  r4 = r7
  r4 += 40
  if r4 > r3 goto verdict
  r4 = *(u8 *)(r7 + 0)
  r4 >>= 4
  if r4 != 6 goto verdict
  *(u32 *)(r10 - 32) = 160
  r0 = *(u64 *)(r7 + 8)
  *(u64 *)(r10 - 24) = r0
  r0 = *(u64 *)(r7 + 16)
  *(u64 *)(r10 - 16) = r0
  *(u32 *)(r10 - 56) = 160
  r0 = *(u64 *)(r7 + 24)
  *(u64 *)(r10 - 48) = r0
  r0 = *(u64 *)(r7 + 32)
  *(u64 *)(r10 - 40) = r0
  r5 = *(u8 *)(r7 + 6)
  r1 = r7
  r1 += 40
  r7 = 2
${Array.from({ length: MAX_EXT_HEADERS }, (_, i) => extStep(i)).join('\n')}
ext${MAX_EXT_HEADERS}:
  if r5 == 0 goto verdict
  if r5 == 43 goto verdict
  if r5 == 60 goto verdict
  if r5 == 44 goto verdict
l4:
  r0 = r8
  r0 *= 256
  r0 += r5
  *(u32 *)(r10 - 92) = w0
  r0 = r8
  r0 *= ${L4_SLOTS}
  r0 += ${L4_NONE}
  *(u32 *)(r10 - 96) = w0
  *(u32 *)(r10 - 72) = 48
  *(u32 *)(r10 - 68) = w8
  *(u32 *)(r10 - 64) = 0
  *(u32 *)(r10 - 88) = 48
  r0 = r8
  r0 |= 2
  *(u32 *)(r10 - 84) = w0
  *(u32 *)(r10 - 80) = 0
  r0 = r7
  r0 &= 2
  r0 |= r8
  *(u32 *)(r10 - 28) = w0
  *(u32 *)(r10 - 52) = w0
  r4 = r7
  r7 &= 2
  r4 &= 4
  if r4 != 0 goto lookups
  if r5 == 6 goto tcp
  if r5 == 17 goto ports
  if r5 == 1 goto icmp4
  if r5 == 58 goto icmp6
  goto lookups
icmp4:
  if r7 != 0 goto lookups
  goto icmp
icmp6:
  if r7 == 0 goto lookups
icmp:
  r4 = r1
  r4 += 1
  if r4 > r3 goto lookups
  r4 = *(u8 *)(r1 + 0)
  r0 = r8
  r0 *= ${L4_SLOTS}
  r0 += r4
  *(u32 *)(r10 - 96) = w0
  goto lookups
tcp:
  r4 = r1
  r4 += 14
  if r4 > r3 goto ports
  r4 = *(u8 *)(r1 + 13)
  r0 = r8
  r0 *= ${L4_SLOTS}
  r0 += ${L4_TCP}
  r0 += r4
  *(u32 *)(r10 - 96) = w0
ports:
  r4 = r1
  r4 += 4
  if r4 > r3 goto verdict
  r4 = *(u16 *)(r1 + 0)
  *(u16 *)(r10 - 80) = w4
  r4 = *(u16 *)(r1 + 2)
  *(u16 *)(r10 - 64) = w4
  r7 |= 1
lookups:
${lookup(SRC, -32, true)}
${lookup(DST, -56)}
${lookup(PROTO, -92)}
${lookup(L4, -96)}
  r1 = r7
  r1 &= 1
  if r1 == 0 goto portless
${lookup(PORT, -72)}
${lookup(PORT, -88)}
  goto pick
portless:
  r1 = r8
  r1 *= ${META_PER_GEN}
  r1 += ${MAX_RULES + 1}
  *(u32 *)(r10 - 100) = w1
${lookup(META, -100)}
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
  *(u32 *)(r10 - 100) = w1
  r1 = map[idx:${META}]
  r2 = r10
  r2 += -100
  call 1
  r7 = 2
  if r0 == 0 goto count
  r7 = *(u64 *)(r0 + 0)
count:
  r1 = map[idx:${STATS}]
  r2 = r10
  r2 += -100
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
