/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights: every backend walks its own permutation
 * of the table's M slots (offset + j·skip mod M, M prime) and claims the next free slot when it is its turn.
 * Plain Maglev gives turns round-robin; here turns follow smooth weighted round-robin (each backend gains its
 * weight per step, the richest takes the turn and pays the total), so a backend's share of slots is its share
 * of the total weight (±1 slot) and, with equal weights, the order is exactly Maglev's round-robin (backends
 * take turns in address order, so listing them differently gives the same table). Backends of weight 0 take no
 * slots. Removing one backend of N moves about 1/N of the slots (its own) plus a little churn.
 */
import { maglevOffsetSkip } from './hash.js';

/** A backend as Maglev sees it: identity (address) and weight. */
export interface MaglevBackend {
  /** Host-order IPv4 address: the permutation depends on it only, so it is stable across updates. */
  addr: number;
  weight: number;
}

/** Slot value of a table with no backend of positive weight. */
export const MAGLEV_EMPTY = -1;

/**
 * The lookup table: `M` entries, each the index (into `backends`) of the backend owning that slot, or
 * `MAGLEV_EMPTY` everywhere when no backend has a positive weight. `m` must be a prime above `backends.length`.
 */
export function maglevTable(backends: readonly MaglevBackend[], m: number): Int32Array {
  const table = new Int32Array(m).fill(MAGLEV_EMPTY);
  // Turn order by address, so the table does not depend on the order backends are listed in.
  const live = backends
    .map((b, i) => ({ i, addr: b.addr, weight: b.weight, ...maglevOffsetSkip(b.addr, m), next: 0, current: 0 }))
    .filter((b) => b.weight > 0)
    .sort((a, b) => a.addr - b.addr);
  if (live.length === 0) return table;
  const total = live.reduce((s, b) => s + b.weight, 0);
  for (let filled = 0; filled < m; filled++) {
    // Smooth weighted round-robin: ties go to the lower address.
    let best = live[0]!;
    for (const b of live) {
      b.current += b.weight;
      if (b.current > best.current) best = b;
    }
    best.current -= total;
    // Its next preferred free slot (a full permutation of 0..m-1: one always exists while filled < m).
    let slot: number;
    do {
      slot = (best.offset + ((best.next * best.skip) % m)) % m;
      best.next++;
    } while (table[slot] !== MAGLEV_EMPTY);
    table[slot] = best.i;
  }
  return table;
}
