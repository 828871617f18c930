/**
 * CO-RE in the object loader: applies one section's `.BTF.ext` core_relo records to its instructions (before
 * the section is split into programs, so record offsets stay section-relative) with src/btf's
 * `applyCoreRelocations`, against a target BTF such as the running kernel's vmlinux.
 */
import type { Btf } from '../btf/btf.js';
import type { BtfExt, CoreRelo } from '../btf/ext.js';
import { applyCoreRelocations, type CoreResult } from '../btf/core.js';
import type { Insn } from '../isa/insn.js';

/** A target BTF for CO-RE: vmlinux, or vmlinux followed by module BTFs. */
export type CoreTarget = Btf | readonly Btf[];

/** The object's BTF and its CO-RE records per section. */
export interface CoreContext {
  local: Btf;
  relos: Map<string, CoreRelo[]>;
}

/** The CO-RE context of an object from its parsed `.BTF` and `.BTF.ext` (no records without `.BTF.ext`). */
export function coreContext(local: Btf, ext: BtfExt | undefined): CoreContext {
  return { local, relos: ext?.coreRelos ?? new Map() };
}

/**
 * Apply the CO-RE relocations of section `section` to a copy of its instructions. Unsatisfiable relocations are
 * poisoned (the verifier rejects them if reached, as with libbpf); malformed ones throw BtfError.
 */
export function applyCore(insns: readonly Insn[], section: string, ctx: CoreContext, target: CoreTarget): { insns: Insn[]; results: CoreResult[] } {
  const relos = ctx.relos.get(section) ?? [];
  const out = insns.map((i) => ({ ...i }));
  if (!relos.length) return { insns: out, results: [] };
  const results = applyCoreRelocations(out, relos, ctx.local, target, { strict: true });
  return { insns: out, results };
}
