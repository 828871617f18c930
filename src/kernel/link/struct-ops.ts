/**
 * struct_ops: implementing a kernel "ops" struct (tcp_congestion_ops, ...) with BPF programs, as libbpf does.
 * The struct's layout comes from the kernel's BTF (`struct <name>` and its wrapper `struct bpf_struct_ops_<name>`
 * whose `data` member holds it). Each function member is a BPF_PROG_TYPE_STRUCT_OPS program loaded with
 * attach_btf_id = the struct's vmlinux type id and expected_attach_type = the member's index. Registration:
 * a BPF_MAP_TYPE_STRUCT_OPS map (btf_vmlinux_value_type_id = the wrapper's id, one u32 key) whose value holds
 * the program fds at the function members' offsets and the other members' data, then BPF_LINK_CREATE with
 * BPF_STRUCT_OPS on the map (BPF_F_LINK map) — closing the link unregisters. Without a link (`link: false`)
 * the map update registers and deleting key 0 unregisters.
 *
 * Objects with `SEC(".struct_ops[.link]")` variables: struct-ops-object.ts. PARTIAL: struct_ops types from
 * vmlinux only (module BTF — value_type_btf_obj_fd / attach_btf_obj_fd — is not handled); no BPF_LINK_UPDATE
 * map swap; tested with tcp_congestion_ops only (other types follow the same layout rules).
 */
import { KernelError } from '../../errors.js';
import { encodeBtf } from '../../btf/builder.js';
import type { Insn } from '../../isa/insn.js';
import { AttachType, MapType, ProgType } from '../../isa/uapi.js';
import { loadBtf } from '../load/btf-load.js';
import { kernelBtf } from '../load/kernel-btf.js';
import { KernelProgram, type ProgramLoadOptions } from '../load/program.js';
import { KernelMap } from '../maps/map.js';
import type { ProgramSpec } from '../../spec/program.js';
import { FdRef } from '../sys/fd.js';
import { BpfLink, DetachOnceLink, linkCreate } from './link.js';

/** BPF_F_LINK (map flag, 1 << 13): newer than the installed <linux/bpf.h>, value from the kernel's BTF enum. */
export const BPF_F_LINK = 1 << 13;

/** One member of a kernel struct_ops type. */
export interface StructOpsMember {
  name: string;
  /** Index in the struct (what a member's program passes as expected_attach_type). */
  index: number;
  /** Byte offset inside the struct. */
  offset: number;
  size: number;
  /** True for function pointers (implemented by programs); false for data (name, flags...). */
  func: boolean;
}

/** A kernel struct_ops type's shape, from vmlinux BTF. */
export interface StructOpsType {
  name: string;
  /** `struct <name>` in vmlinux BTF (the programs' attach_btf_id). */
  typeId: number;
  /** `struct bpf_struct_ops_<name>` (the map's btf_vmlinux_value_type_id). */
  valueTypeId: number;
  /** Size of the map value (the wrapper struct). */
  valueSize: number;
  /** Offset of the ops struct (`data`) inside the map value. */
  dataOffset: number;
  members: StructOpsMember[];
}

/**
 * The layout of kernel struct_ops type `name` (e.g. `tcp_congestion_ops`). Throws `KernelError('BTF', ENOENT)`
 * when the kernel's BTF has no such struct or no `bpf_struct_ops_<name>` wrapper (not a struct_ops type here).
 */
export function structOpsType(name: string): StructOpsType {
  const btf = kernelBtf();
  const [typeId] = btf.findIdsByName(name, 'struct');
  if (typeId === undefined) throw new KernelError('BTF', 2, 'ENOENT', { detail: `struct ${name}`, hint: `the kernel's BTF has no struct ${name}` });
  const [valueTypeId] = btf.findIdsByName(`bpf_struct_ops_${name}`, 'struct');
  if (valueTypeId === undefined) {
    throw new KernelError('BTF', 2, 'ENOENT', { detail: `struct bpf_struct_ops_${name}`, hint: `${name} is not a struct_ops type of this kernel (no bpf_struct_ops_${name} in its BTF)` });
  }
  const wrapper = btf.typeById(valueTypeId);
  const data = wrapper.kind === 'struct' ? wrapper.members.find((m) => m.name === 'data') : undefined;
  if (!data) throw new KernelError('BTF', 22, 'EINVAL', { detail: `struct bpf_struct_ops_${name}`, hint: 'the wrapper has no data member' });
  const st = btf.typeById(typeId);
  if (st.kind !== 'struct') throw new KernelError('BTF', 22, 'EINVAL', { detail: name, hint: 'not a struct' });
  const members = st.members.map((m, index): StructOpsMember => {
    if (m.bitfieldSize || m.bitOffset % 8) throw new KernelError('BTF', 22, 'EINVAL', { detail: `${name}.${m.name}`, hint: 'bitfield members are not supported' });
    const t = btf.resolveType(m.typeId);
    const func = t.kind === 'ptr' && btf.resolveType(t.typeId).kind === 'func_proto';
    return { name: m.name, index, offset: m.bitOffset / 8, size: btf.sizeOf(m.typeId), func };
  });
  return { name, typeId, valueTypeId, valueSize: btf.sizeOf(valueTypeId), dataOffset: data.bitOffset / 8, members };
}

function member(t: StructOpsType, name: string): StructOpsMember {
  const m = t.members.find((x) => x.name === name);
  if (!m) throw new KernelError('struct_ops', 2, 'ENOENT', { detail: `${t.name}.${name}`, hint: `struct ${t.name} has no member ${name} (members: ${t.members.map((x) => x.name).join(', ')})` });
  return m;
}

/**
 * Load the program implementing member `memberName` of struct_ops type `typeName`: a STRUCT_OPS program with
 * attach_btf_id = the struct's vmlinux id and expected_attach_type = the member index. `source` is a spec (from
 * an ELF object: `SEC("struct_ops/...")`) or raw instructions. Throws `KernelError('PROG_LOAD')` with the
 * verifier log (e.g. a kfunc this struct_ops type may not call).
 */
export function loadStructOpsProgram(
  source: ProgramSpec | Insn[],
  typeName: string,
  memberName: string,
  opts: ProgramLoadOptions & { license?: string; name?: string } = {},
): KernelProgram {
  const t = structOpsType(typeName);
  const m = member(t, memberName);
  if (!m.func) throw new KernelError('PROG_LOAD', 22, 'EINVAL', { detail: `${typeName}.${memberName}`, hint: 'not a function pointer member' });
  const base: ProgramSpec = Array.isArray(source)
    ? { name: opts.name ?? memberName, section: `struct_ops/${memberName}`, type: ProgType.STRUCT_OPS, insns: source, references: [], license: opts.license ?? 'GPL' }
    : source;
  const spec: ProgramSpec = { ...base, type: ProgType.STRUCT_OPS, expectedAttachType: m.index };
  return KernelProgram.load(spec, { ...opts, attachBtfId: t.typeId });
}

/** A value for a data member: an integer (member size), a string (char array, NUL-terminated) or raw bytes. */
export type StructOpsData = number | bigint | string | Uint8Array;

/** What to register. */
export interface StructOpsOptions {
  /** Programs by function member name (loaded with `loadStructOpsProgram` for the same type and member). */
  programs: Record<string, KernelProgram>;
  /** Data members by name (e.g. tcp_congestion_ops `name`, `flags`); everything else stays zero. */
  data?: Record<string, StructOpsData>;
  /** Map name (default: the type name, cut to 15 characters). */
  mapName?: string;
  /** Register through a BPF link (default true; BPF_F_LINK map + LINK_CREATE) or by the map update alone. */
  link?: boolean;
}

/** The map value for a registration: program fds at function members, data at theirs, inside `data`. */
export function structOpsValue(t: StructOpsType, opts: Pick<StructOpsOptions, 'programs' | 'data'>): Buffer {
  const v = Buffer.alloc(t.valueSize);
  const base = t.dataOffset;
  for (const [name, prog] of Object.entries(opts.programs)) {
    const m = member(t, name);
    if (!m.func) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${t.name}.${name}`, hint: 'a program was given for a data member' });
    // The kernel reads a function member's slot as an unsigned long holding the program fd.
    v.writeBigUInt64LE(BigInt(prog.fd), base + m.offset);
  }
  for (const [name, value] of Object.entries(opts.data ?? {})) {
    const m = member(t, name);
    if (m.func) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${t.name}.${name}`, hint: 'a function member takes a program, not data' });
    const at = base + m.offset;
    if (typeof value === 'string') {
      if (Buffer.byteLength(value) >= m.size) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${t.name}.${name}`, hint: `"${value}" does not fit in ${m.size} bytes with its NUL` });
      v.write(value, at);
    } else if (value instanceof Uint8Array) {
      if (value.length > m.size) throw new KernelError('struct_ops', 22, 'EINVAL', { detail: `${t.name}.${name}`, hint: `${value.length} bytes for a ${m.size}-byte member` });
      v.set(value, at);
    } else {
      const n = BigInt.asUintN(m.size * 8, BigInt(value));
      for (let i = 0; i < m.size; i++) v[at + i] = Number((n >> BigInt(8 * i)) & 0xffn);
    }
  }
  return v;
}

/** A minimal BTF object (one int): the kernel wants a BTF fd on struct_ops map creation, any will do. */
function placeholderBtf(): FdRef {
  return loadBtf(encodeBtf([{ kind: 'int', name: 'int', size: 4, bits: 32, bitOffset: 0, signed: true, char: false, bool: false }]));
}

/** A registered struct_ops implementation; `close()` unregisters it. */
export class StructOpsLink extends DetachOnceLink {
  readonly kind = 'struct_ops';
  readonly target: string;
  /** The BPF link (link mode) or undefined (registered by map update). */
  readonly bpfLink?: BpfLink;

  constructor(
    readonly type: StructOpsType,
    readonly map: KernelMap,
    link: BpfLink | undefined,
  ) {
    super();
    this.bpfLink = link;
    this.target = `${type.name} ${map.name}`;
  }

  /** Unregister (close the link, or delete key 0 of the map), then close the map. */
  protected detach(): void {
    try {
      if (this.bpfLink) this.bpfLink.close();
      else this.map.delete(Buffer.alloc(4));
    } finally {
      this.map.close();
    }
  }
}

/**
 * Register an implementation of kernel struct_ops type `typeName` (vmlinux BTF): create the STRUCT_OPS map,
 * fill its value, and attach it (BPF_LINK_CREATE, BPF_STRUCT_OPS) unless `link: false`. The programs stay the
 * caller's (the kernel holds its own references while registered). Throws `KernelError` — e.g.
 * `MAP_UPDATE_ELEM` EINVAL when a required member is missing or a data value is refused, EEXIST when the
 * name is taken (tcp_congestion_ops names are global).
 */
export function registerStructOps(typeName: string, opts: StructOpsOptions): StructOpsLink {
  const t = structOpsType(typeName);
  const value = structOpsValue(t, opts);
  const useLink = opts.link ?? true;
  const btf = placeholderBtf();
  let map: KernelMap;
  try {
    map = KernelMap.create(
      { name: (opts.mapName ?? typeName).slice(0, 15), type: MapType.STRUCT_OPS, keySize: 4, valueSize: t.valueSize, maxEntries: 1, flags: useLink ? BPF_F_LINK : 0 },
      { btfFd: btf.fd, btfVmlinuxValueTypeId: t.valueTypeId },
    );
  } finally {
    btf.close();
  }
  try {
    map.update(Buffer.alloc(4), value);
    if (!useLink) return new StructOpsLink(t, map, undefined);
    const fd = linkCreate({ map_fd: map.fd, attach_type: AttachType.STRUCT_OPS }, `struct_ops ${typeName} ${map.name}`);
    return new StructOpsLink(t, map, new BpfLink(fd, 'struct_ops', `${typeName} ${map.name}`));
  } catch (e) {
    map.close();
    throw e;
  }
}
