/** The {packets, bytes} counters the XDP firewall and load balancer keep in per-CPU arrays, summed over CPUs. */

/** Packets and bytes, summed over CPUs. */
export interface PacketCounter {
  packets: bigint;
  bytes: bigint;
}

/**
 * Sum a per-CPU value of two u64 (packets, bytes) as a per-CPU map lookup returns it: one 16-byte value per
 * possible CPU, back to back. Missing (`undefined`) is zero.
 */
export function sumPacketCounters(raw: Uint8Array | undefined): PacketCounter {
  const c = { packets: 0n, bytes: 0n };
  if (!raw) return c;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let o = 0; o + 16 <= raw.byteLength; o += 16) {
    c.packets += dv.getBigUint64(o, true);
    c.bytes += dv.getBigUint64(o + 8, true);
  }
  return c;
}
