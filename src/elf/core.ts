/**
 * CO-RE in the object loader: applies one section's `.BTF.ext` core_relo records to its instructions (before
 * the section is split into programs, so record offsets stay section-relative) with src/btf's
 * `applyCoreRelocations`, against a target BTF such as the running kernel's vmlinux.
 */
import { Btf } from '../btf/btf.js';
import { parseBtfExt } from '../btf/ext.js';
import { applyCoreRelocations, type CoreResult } from '../btf/core.js';
import type { Insn } from '../isa/insn.js';

/** A target BTF for CO-RE: vmlinux, or vmlinux followed by module BTFs. */
export type CoreTarget = Btf | readonly Btf[];

/** The object's BTF in src/btf's form and its CO-RE records per section. */
export interface CoreContext {
  local: Btf;
  relos: Map<string, ReturnType<typeof parseBtfExt>['coreRelos'] extends Map<string, infer V> ? V : never>;
}

/** Parse the object's BTF and .BTF.ext with src/btf (throws BtfError on malformed input). */
export function coreContext(btfBytes: Uint8Array, extBytes: Uint8Array | undefined): CoreContext {
  const local = Btf.parse(btfBytes, { name: 'object' });
  const relos = extBytes ? parseBtfExt(extBytes, local).coreRelos : new Map();
  return { local, relos };
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
