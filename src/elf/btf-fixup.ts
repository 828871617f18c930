/**
 * Fix an object's BTF up for BPF_BTF_LOAD, as libbpf does before loading: clang leaves DATASEC sizes and
 * variable offsets at 0 (they are only known from the ELF), and extern variables/functions use an "extern"
 * linkage the kernel refuses. Patches a copy of the raw bytes in place (record sizes never change):
 * - DATASEC `.data`/`.rodata`/`.bss`/`.maps`/...: size = ELF section size, var offsets = symbol values;
 * - DATASEC `.kconfig`: size and offsets of the kconfig map layout, vars made "global allocated";
 * - DATASEC `.ksyms`: rewritten as an anonymous struct of ints (the kernel requires DATASEC entries to be
 *   allocated VARs, which ksym externs are not; libbpf instead appends a dummy VAR), extern VARs made global,
 *   extern FUNCs made global.
 */
import { BtfKind, type BtfShim } from './btf-shim.js';
import type { KconfigExtern } from './kconfig.js';
import type { ElfFile } from './reader.js';

const VAR_GLOBAL_ALLOCATED = 1;
const FUNC_GLOBAL = 1;

/** A patched copy of `btf.raw`. */
export function fixupBtf(btf: BtfShim, elf: ElfFile, kconfig: readonly KconfigExtern[]): Uint8Array {
  const raw = btf.raw.slice();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = !btf.bigEndian;
  const rec = (id: number) => btf.types[id]!.recordOffset;
  const intId = btf.types.find((t) => t.kind === BtfKind.INT && t.size === 4)?.id ?? 0;
  const kcfg = new Map(kconfig.map((k) => [k.name, k]));

  for (const t of btf.types) {
    if (t.kind === BtfKind.FUNC && t.vlen === 2) {
      // extern func → global (the info word's vlen holds the linkage).
      const at = rec(t.id);
      view.setUint32(at + 4, (view.getUint32(at + 4, le) & ~0xffff) | FUNC_GLOBAL, le);
    }
    if (t.kind !== BtfKind.DATASEC) continue;
    const at = rec(t.id);
    if (t.name === '.ksyms') {
      if (!intId) continue;
      // DATASEC → anonymous STRUCT with one int member per entry (same record size).
      view.setUint32(at, 0, le);
      view.setUint32(at + 4, (BtfKind.STRUCT << 24) | t.vlen, le);
      view.setUint32(at + 8, 4 * t.vlen, le);
      for (let i = 0; i < t.vlen; i++) {
        const e = at + 12 + 12 * i;
        const target = btf.types[view.getUint32(e, le)];
        if (target?.kind === BtfKind.VAR) {
          const vr = rec(target.id);
          view.setUint32(vr + 12, VAR_GLOBAL_ALLOCATED, le);
          view.setUint32(vr + 8, intId, le);
        }
        view.setUint32(e, 0, le);
        view.setUint32(e + 4, intId, le);
        view.setUint32(e + 8, 32 * i, le);
      }
      continue;
    }
    if (t.name === '.kconfig') {
      let size = 0;
      for (let i = 0; i < t.vlen; i++) {
        const e = at + 12 + 12 * i;
        const v = btf.types[view.getUint32(e, le)];
        const k = v && kcfg.get(v.name);
        if (v?.kind === BtfKind.VAR) view.setUint32(rec(v.id) + 12, VAR_GLOBAL_ALLOCATED, le);
        if (k) {
          view.setUint32(e + 4, k.offset, le);
          size = Math.max(size, k.offset + k.size);
        }
      }
      view.setUint32(at + 8, Math.ceil(size / 8) * 8 || 8, le);
      continue;
    }
    const sec = elf.section(t.name);
    if (!sec) continue;
    if (view.getUint32(at + 8, le) === 0) view.setUint32(at + 8, sec.size, le);
    for (let i = 0; i < t.vlen; i++) {
      const e = at + 12 + 12 * i;
      const v = btf.types[view.getUint32(e, le)];
      if (!v || v.kind !== BtfKind.VAR) continue;
      const sym = elf.symbols.find((s) => s.shndx === sec.index && s.name === v.name);
      if (sym) view.setUint32(e + 4, sym.value, le);
    }
  }
  return raw;
}
