/**
 * The running kernel's BTF (/sys/kernel/btf/vmlinux) via src/btf, cached, and the lookups the loader needs:
 * the type id a tp_btf / fentry / fexit / LSM / iterator program attaches to.
 */
import { existsSync } from 'node:fs';
import { Btf } from '../../btf/btf.js';
import { KernelError } from '../../errors.js';
import { AttachType } from '../../isa/uapi.js';

let vmlinux: Btf | undefined;

/**
 * The running kernel's BTF, parsed once (the same cached instance as `Btf.loadKernel()`, which CO-RE uses).
 * Throws `KernelError(ENOENT)` when the kernel has none.
 */
export function kernelBtf(): Btf {
  if (vmlinux) return vmlinux;
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new KernelError('BTF', 2, 'ENOENT', { hint: 'this kernel has no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF is off' });
  }
  try {
    vmlinux = Btf.loadKernel();
  } catch (e) {
    throw new KernelError('BTF', 2, 'ENOENT', { hint: `cannot read the kernel's BTF: ${(e as Error).message}` });
  }
  return vmlinux;
}

/** How the attach target name maps to a vmlinux BTF type (libbpf's rules). */
function targetFor(attachType: number, name: string): { typeName: string; kind: 'func' | 'typedef' } {
  switch (attachType) {
    case AttachType.TRACE_RAW_TP:
      return { typeName: `btf_trace_${name}`, kind: 'typedef' };
    case AttachType.LSM_MAC:
    case AttachType.LSM_CGROUP:
      return { typeName: `bpf_lsm_${name}`, kind: 'func' };
    case AttachType.TRACE_ITER:
      return { typeName: `bpf_iter_${name}`, kind: 'func' };
    default:
      return { typeName: name, kind: 'func' };
  }
}

/**
 * The vmlinux BTF type id a BTF-attached program (tp_btf, fentry/fexit/fmod_ret, lsm, iter) targets.
 * Throws `KernelError('BTF', ENOENT)` naming the missing type.
 */
export function attachBtfId(attachType: number, target: string): number {
  const { typeName, kind } = targetFor(attachType, target);
  const ids = kernelBtf().findIdsByName(typeName, kind);
  if (!ids.length) {
    throw new KernelError('BTF', 2, 'ENOENT', { detail: `${kind} ${typeName}`, hint: `the kernel's BTF has no ${kind} ${typeName}: wrong attach target?` });
  }
  return ids[0]!;
}
