/**
 * Names of the lddw pseudo sources (src field of a 64-bit immediate load) as the uBPF-syntax extension
 * `lddw %r1, map_fd(5)` / `lddw %r1, map_value(5, 16)` spells them. Derived from `PseudoLd`.
 */
import { PseudoLd } from '../isa/index.js';

/** Pseudo-source name → src value, e.g. `map_fd` → 1. `imm64` (0) has no function form. */
export const PSEUDO_LD_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(PseudoLd)
    .filter(([, v]) => v !== PseudoLd.IMM64)
    .map(([k, v]) => [k.toLowerCase(), v]),
);

/** src value → name (`map_fd`, `map_value`, `btf_id`, `func`, `map_idx`, `map_idx_value`). */
export const PSEUDO_LD_NAME: ReadonlyMap<number, string> = new Map([...PSEUDO_LD_BY_NAME].map(([k, v]) => [v, k]));

/** Pseudo sources whose second slot carries a value offset (written as a second argument). */
export const pseudoHasOffset = (src: number) => src === PseudoLd.MAP_VALUE || src === PseudoLd.MAP_IDX_VALUE;
