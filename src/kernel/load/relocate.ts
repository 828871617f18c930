/**
 * Resolving a program's load-time references into the instructions the kernel accepts: map lddw's get the
 * map fd (src BPF_PSEUDO_MAP_FD) or, for map values, the fd plus the value offset in the second slot's imm
 * (BPF_PSEUDO_MAP_VALUE); kconfig externs become map-value loads of the `.kconfig` map; ksym variables
 * resolve to vmlinux BTF ids (BPF_PSEUDO_BTF_ID) and kfunc calls to their BTF func id.
 */
import { KernelError } from '../../errors.js';
import type { Insn } from '../../isa/insn.js';
import { PseudoLd } from '../../isa/opcodes.js';
import type { ProgramSpec } from '../../spec/program.js';
import { kernelBtf } from './kernel-btf.js';

/** Something with an fd, by map name. */
export type MapFds = (name: string) => number | undefined;

/** A copy of the program's instructions with every reference resolved. */
export function resolveReferences(spec: ProgramSpec, mapFd: MapFds): Insn[] {
  const insns = spec.insns.map((i) => ({ ...i }));
  for (const ref of spec.references) {
    const at = insns[ref.pc];
    if (!at) throw new KernelError('PROG_LOAD', 22, 'EINVAL', { detail: `program ${spec.name}`, hint: `reference at insn ${ref.pc} is past the end` });
    switch (ref.kind) {
      case 'map': {
        const fd = mapFd(ref.map);
        if (fd === undefined) {
          throw new KernelError('PROG_LOAD', 2, 'ENOENT', { detail: `program ${spec.name}`, hint: `insn ${ref.pc} references map ${ref.map}, which was not created` });
        }
        at.imm = fd;
        if (ref.value) {
          at.src = PseudoLd.MAP_VALUE;
          insns[ref.pc + 1]!.imm = ref.offset ?? 0;
        } else {
          at.src = PseudoLd.MAP_FD;
          insns[ref.pc + 1]!.imm = 0;
        }
        break;
      }
      case 'kconfig': {
        const fd = mapFd('.kconfig');
        if (fd === undefined) throw new KernelError('PROG_LOAD', 2, 'ENOENT', { detail: `program ${spec.name}`, hint: `kconfig extern ${ref.symbol} without a .kconfig map` });
        // The ELF loader left the extern's offset in the kconfig value in imm (lddw) — keep it as the value offset.
        const off = at.src === PseudoLd.MAP_VALUE ? insns[ref.pc + 1]!.imm : at.imm;
        at.src = PseudoLd.MAP_VALUE;
        at.imm = fd;
        insns[ref.pc + 1]!.imm = off;
        break;
      }
      case 'ksym': {
        const btf = kernelBtf();
        if (ref.func) {
          const ids = btf.findIdsByName(ref.symbol, 'func');
          if (!ids.length) throw new KernelError('PROG_LOAD', 2, 'ENOENT', { detail: `program ${spec.name}`, hint: `kfunc ${ref.symbol} is not in the kernel's BTF` });
          at.imm = ids[0]!;
          at.off = 0;
        } else {
          const ids = btf.findIdsByName(ref.symbol, 'var');
          if (!ids.length) throw new KernelError('PROG_LOAD', 2, 'ENOENT', { detail: `program ${spec.name}`, hint: `ksym ${ref.symbol} is not a variable in the kernel's BTF` });
          at.src = PseudoLd.BTF_ID;
          at.imm = ids[0]!;
          insns[ref.pc + 1]!.imm = 0;
        }
        break;
      }
      case 'call':
        // Subprogram calls are linked by the ELF loader already (pc-relative imm); nothing to resolve here.
        break;
    }
  }
  return insns;
}
