/**
 * Fix an object's BTF up for BPF_BTF_LOAD, as libbpf does before loading: clang leaves DATASEC sizes and
 * variable offsets at 0 (they are only known from the ELF), and extern variables/functions use an "extern"
 * linkage the kernel refuses. Rewrites the types through src/btf's `BtfBuilder.from` (same ids; the string
 * section is kept verbatim, so `.BTF.ext` string offsets stay valid):
 * - DATASEC `.data`/`.rodata`/`.bss`/`.maps`/...: size = ELF section size, var offsets = symbol values;
 * - DATASEC `.kconfig`: size and offsets of the kconfig map layout, vars made global;
 * - DATASEC `.ksyms`: rewritten as an anonymous struct of ints (the kernel requires DATASEC entries to be
 *   allocated VARs, which ksym externs are not; libbpf instead appends a dummy VAR), its VARs made global ints,
 *   extern FUNCs made global;
 * - global FUNCs of hidden/internal-visibility subprograms made static (libbpf's mark_btf_static).
 */
import { BtfError, ElfError } from '../errors.js';
import type { Btf } from '../btf/btf.js';
import { BtfBuilder } from '../btf/builder.js';
import type { BtfDatasec } from '../btf/types.js';
import type { KconfigExtern } from './kconfig.js';
import { STB, STT, STV, type ElfFile } from './reader.js';

/**
 * The object's BTF encoded with the fixups applied (a new blob; `btf` is not changed). Throws `ElfError` for a
 * section size or symbol value that does not fit BTF's 32 bits, `BtfError` (section `.BTF`) for a type that
 * cannot be re-encoded.
 */
export function fixupBtf(btf: Btf, elf: ElfFile, kconfig: readonly KconfigExtern[]): Uint8Array {
  const b = BtfBuilder.from(btf);
  const kcfg = new Map(kconfig.map((k) => [k.name, k]));
  let intId = 0;
  for (const t of btf.types()) {
    if (t.kind === 'int' && t.size === 4) {
      intId = t.id;
      break;
    }
  }
  /** Make the VAR `id` global (optionally retyped); other kinds are left alone. */
  const globalVar = (id: number, typeId?: number) => {
    if (btf.kindNameOf(id) !== 'var') return;
    const v = b.get(id);
    if (v.kind === 'var') b.set(id, { ...v, linkage: 'global', typeId: typeId ?? v.typeId });
  };

  // Global/weak subprograms (.text) with hidden or internal visibility are verified as static (libbpf's rule;
  // <bpf/usdt.bpf.h>'s `__weak __hidden` bpf_usdt_arg() relies on it).
  const text = elf.section('.text')?.index;
  const hiddenSubprogs = new Set(
    elf.symbols.filter((s) => s.type === STT.FUNC && s.bind !== STB.LOCAL && (s.visibility === STV.HIDDEN || s.visibility === STV.INTERNAL) && s.shndx === text).map((s) => s.name),
  );
  for (const t of btf.types()) {
    if (t.kind === 'func' && t.linkage === 'extern') b.set(t.id, { ...t, linkage: 'global' });
    if (t.kind === 'func' && t.linkage === 'global' && hiddenSubprogs.has(t.name)) b.set(t.id, { ...t, linkage: 'static' });
    if (t.kind !== 'datasec') continue;
    if (t.name === '.ksyms') {
      if (!intId) continue;
      // DATASEC → anonymous STRUCT with one int member per entry (same record size).
      for (const v of t.vars) globalVar(v.typeId, intId);
      b.set(t.id, {
        kind: 'struct',
        name: '',
        size: 4 * t.vars.length,
        members: t.vars.map((_, i) => ({ name: '', typeId: intId, bitOffset: 32 * i, bitfieldSize: 0 })),
      });
      continue;
    }
    const ds: BtfDatasec = { ...t, vars: t.vars.map((v) => ({ ...v })) };
    if (t.name === '.kconfig') {
      let size = 0;
      for (const v of ds.vars) {
        globalVar(v.typeId);
        const k = kcfg.get(btf.nameOf(v.typeId));
        if (k) {
          v.offset = k.offset;
          size = Math.max(size, k.offset + k.size);
        }
      }
      ds.size = Math.ceil(size / 8) * 8 || 8;
      b.set(t.id, ds);
      continue;
    }
    const sec = elf.section(t.name);
    if (!sec) continue;
    const u32 = (x: number, what: string) => {
      if (x > 0xffffffff) throw new ElfError(`${what} ${x} does not fit a 32-bit BTF field`, { section: sec.name, offset: sec.offset });
      return x;
    };
    if (ds.size === 0) ds.size = u32(sec.size, 'section size');
    for (const v of ds.vars) {
      if (btf.kindNameOf(v.typeId) !== 'var') continue;
      const name = btf.nameOf(v.typeId);
      const sym = elf.symbols.find((s) => s.shndx === sec.index && s.name === name);
      if (sym) v.offset = u32(sym.value, `symbol ${name} value`);
    }
    b.set(t.id, ds);
  }
  try {
    return b.encode();
  } catch (e) {
    if (e instanceof BtfError && e.section === undefined) throw new BtfError(`cannot encode for BPF_BTF_LOAD: ${e.message}`, { section: '.BTF' });
    throw e;
  }
}
