/**
 * The load balancer's hashes: MurmurHash3 (x86, 32-bit) over a 16-byte flow key — the same computation the XDP
 * program does with 32-bit ALU instructions — and the two per-backend hashes Maglev derives its permutations from.
 *
 * The flow key is the one the program builds on its stack (and uses as the conntrack key): source address,
 * destination address (both as on the wire), the 4 bytes of source and destination port as on the wire, and
 * the protocol number as a little-endian u32. MurmurHash3 reads it as four little-endian words.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/** MurmurHash3_x86_32 of little-endian 32-bit `words` (a key of `4 × words.length` bytes). */
export function murmur3Words(words: ArrayLike<number>, seed = 0): number {
  let h = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    let k = Math.imul(words[i]! >>> 0, C1);
    k = rotl(k, 15);
    k = Math.imul(k, C2);
    h ^= k;
    h = rotl(h >>> 0, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= words.length * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seed of the flow hash (the program embeds the same constant). */
export const FLOW_HASH_SEED = 0;

/** The 16-byte flow key (conntrack key and hash input) of an IPv4 packet whose header starts at `l3`. */
export function flowKey(pkt: Uint8Array, l3: number): Uint8Array {
  const k = new Uint8Array(16);
  k.set(pkt.subarray(l3 + 12, l3 + 20), 0); // saddr, daddr
  k.set(pkt.subarray(l3 + 20, l3 + 24), 8); // sport, dport (IHL is 5 for handled packets)
  k[12] = pkt[l3 + 9]!;
  return k;
}

/** The flow hash of a 16-byte flow key. */
export function flowHash(key: Uint8Array): number {
  const dv = new DataView(key.buffer, key.byteOffset, 16);
  return murmur3Words([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)], FLOW_HASH_SEED);
}

/** Maglev's (offset, skip) of a backend address (host-order u32) for a table of prime size `m`. */
export function maglevOffsetSkip(addr: number, m: number): { offset: number; skip: number } {
  return { offset: murmur3Words([addr], 0x4d41474c) % m, skip: (murmur3Words([addr], 0x45563121) % (m - 1)) + 1 };
}
