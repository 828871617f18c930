/**
 * struct_ops from an ELF object (libbpf's `SEC(".struct_ops")` / `SEC(".struct_ops.link")` variables): reads
 * each variable's struct type from the object's BTF, which program implements which member (the section's
 * relocations), and the data members' bytes; then loads the object's maps and other programs (a Collection),
 * the struct_ops programs for their members, and registers each variable with `registerStructOps`.
 * Members are matched to the kernel's struct by name, as libbpf does.
 */
import { Btf } from '../../btf/btf.js';
import { KernelError } from '../../errors.js';
import { parseElf, STT, type ElfSymbol } from '../../elf/reader.js';
import { readFileSync } from 'node:fs';
import { Collection, type CollectionOptions } from '../load/collection.js';
import { readKernelObject, type KernelObjectOptions } from '../load/object-file.js';
import type { KernelProgram } from '../load/program.js';
import type { Link } from './link.js';
import { loadStructOpsProgram, registerStructOps, structOpsType, type StructOpsLink } from './struct-ops.js';

/** One struct_ops variable of an object. */
export interface ObjectStructOps {
  /** The variable's name (the map name libbpf would use). */
  name: string;
  /** The struct's name (`tcp_congestion_ops`). */
  typeName: string;
  /** From `.struct_ops.link` (register through a BPF link) rather than `.struct_ops`. */
  link: boolean;
  /** Program (function) name by member name. */
  programs: Record<string, string>;
  /** Bytes of each data member with a non-zero value, by member name. */
  data: Record<string, Uint8Array>;
}

/** The struct_ops variables of an ELF object. Throws `ElfError`/`BtfError` for a malformed one. */
export function readStructOps(bytes: Uint8Array): ObjectStructOps[] {
  const elf = parseElf(bytes);
  const btfSec = elf.section('.BTF');
  const out: ObjectStructOps[] = [];
  for (const sec of elf.sections) {
    if (sec.name !== '.struct_ops' && sec.name !== '.struct_ops.link') continue;
    if (!btfSec) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: sec.name, hint: 'the object has no .BTF section (compile with -g)' });
    const btf = Btf.parse(btfSec.data);
    const relocs = elf.relocationsFor(sec.name);
    for (const sym of elf.symbols) {
      if (sym.shndx !== sec.index || sym.type !== STT.OBJECT) continue;
      const [varId] = btf.findIdsByName(sym.name, 'var');
      const v = varId === undefined ? undefined : btf.typeById(varId);
      const st = v && v.kind === 'var' ? btf.resolveType(v.typeId) : undefined;
      if (!st || st.kind !== 'struct') throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${sec.name} ${sym.name}`, hint: 'no BTF struct type for this variable' });
      const ops: ObjectStructOps = { name: sym.name, typeName: st.name, link: sec.name === '.struct_ops.link', programs: {}, data: {} };
      const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
      for (const m of st.members) {
        const off = sym.value + m.bitOffset / 8;
        const t = btf.resolveType(m.typeId);
        if (t.kind === 'ptr' && btf.resolveType(t.typeId).kind === 'func_proto') {
          const r = relocs.find((x) => x.offset === off);
          if (!r) continue; // member left NULL
          let target: ElfSymbol | undefined = elf.symbols[r.symbol];
          if (target?.type === STT.SECTION) {
            // Relocation against the section symbol: the function's offset is the implicit addend in the slot.
            const at = Number(dv.getBigUint64(off, !elf.bigEndian));
            target = elf.symbols.find((s) => s.shndx === target!.shndx && s.type === STT.FUNC && s.value === at);
          }
          if (!target?.name) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${sym.name}.${m.name}`, hint: 'cannot tell which program this member points to' });
          ops.programs[m.name] = target.name;
        } else {
          const size = btf.sizeOf(m.typeId);
          const bytesOf = sec.data.subarray(off, off + size);
          if (bytesOf.some((b) => b !== 0)) ops.data[m.name] = new Uint8Array(bytesOf);
        }
      }
      out.push(ops);
    }
  }
  return out;
}

/** A loaded struct_ops object: its collection (maps, other programs), struct_ops programs and registrations. */
export class StructOpsObject {
  constructor(
    readonly collection: Collection,
    /** The struct_ops programs, by name. */
    readonly programs: Map<string, KernelProgram>,
    /** One registration per struct_ops variable, by variable name. */
    readonly links: Map<string, StructOpsLink>,
  ) {}

  /** Unregister everything, then close programs and maps. */
  close(): void {
    for (const l of this.links.values()) l.close();
    for (const p of this.programs.values()) p.close();
    this.collection.close();
  }

  /** The registrations as plain links. */
  get allLinks(): Link[] {
    return [...this.links.values()];
  }
}

/**
 * Load an object with struct_ops variables and register each (like libbpf's skeleton load + attach of
 * struct_ops maps). `source` is a path or the object's bytes. Throws `KernelError` (PROG_LOAD with the
 * verifier log, MAP_UPDATE_ELEM when the kernel refuses the struct's value, LINK_CREATE...); everything
 * created is closed again on failure.
 */
export function loadStructOpsObject(source: string | Uint8Array, opts: CollectionOptions & KernelObjectOptions = {}): StructOpsObject {
  const bytes = typeof source === 'string' ? new Uint8Array(readFileSync(source)) : source;
  const vars = readStructOps(bytes);
  const obj = readKernelObject(bytes, opts);
  const used = new Set(vars.flatMap((v) => Object.values(v.programs)));
  const others = obj.spec.programs.filter((p) => !used.has(p.name)).map((p) => p.name);
  const collection = Collection.load(obj.spec, { ...opts, programs: [...others, ...(opts.programs ?? [])].filter((n) => !used.has(n)) });
  const programs = new Map<string, KernelProgram>();
  const links = new Map<string, StructOpsLink>();
  const roles = new Map<string, string>();
  try {
    const mapFd = (n: string) => collection.maps.get(n)?.fd;
    for (const v of vars) {
      structOpsType(v.typeName); // a clear error first when the kernel has no such struct_ops type
      const progs: Record<string, KernelProgram> = {};
      for (const [member, progName] of Object.entries(v.programs)) {
        let p = programs.get(progName);
        const role = `${v.typeName}.${member}`;
        if (p && roles.get(progName) !== role) {
          throw new KernelError('struct_ops', 95, 'EOPNOTSUPP', { detail: `${v.name}.${member}`, hint: `program ${progName} already implements ${roles.get(progName)}; one program per member kind is supported` });
        }
        if (!p) {
          roles.set(progName, role);
          const spec = obj.spec.programs.find((s) => s.name === progName);
          if (!spec) throw new KernelError('struct_ops', 2, 'ENOENT', { detail: `${v.name}.${member}`, hint: `no program ${progName} in the object` });
          p = loadStructOpsProgram(spec, v.typeName, member, { maps: mapFd, btfFd: collection.btf?.fd });
          programs.set(progName, p);
        }
        progs[member] = p;
      }
      links.set(v.name, registerStructOps(v.typeName, { programs: progs, data: v.data, mapName: v.name, link: v.link }));
    }
  } catch (e) {
    for (const l of links.values()) l.close();
    for (const p of programs.values()) p.close();
    collection.close();
    throw e;
  }
  return new StructOpsObject(collection, programs, links);
}
