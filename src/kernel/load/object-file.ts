/**
 * eBPF ELF objects for the running kernel: parse an object with its CO-RE relocations applied against the
 * kernel's own BTF (vmlinux plus the split BTF of loaded modules) — by default, as libbpf does — and set global
 * variables (`const volatile` knobs in `.rodata`, `.data`, `.bss`) before the Collection loads it. Every path
 * that loads an object file into the kernel (Collection.loadFile/loadBytes, `bpfkit prog load`, `bpfkit attach`)
 * goes through `readKernelObject`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Btf } from '../../btf/btf.js';
import { loadKernelModules } from '../../btf/kernel.js';
import type { CoreResult } from '../../btf/core.js';
import { KernelError } from '../../errors.js';
import { loadObject } from '../../elf/object.js';
import type { KconfigOptions } from '../../elf/kconfig.js';
import type { CoreTarget } from '../../elf/core.js';
import type { ObjectSpec } from '../../spec/program.js';
import { setGlobal } from './globals.js';

/** How to read an object for the kernel. */
export interface KernelObjectOptions extends KconfigOptions {
  /**
   * CO-RE target BTF. Default `'kernel'`: the running kernel's vmlinux BTF plus loaded modules' BTF. `false`:
   * no CO-RE (instructions keep the compiler's local offsets — only right for objects without CO-RE relocations).
   */
  targetBtf?: CoreTarget | 'kernel' | false;
  /** Global variables to set before load, by name (bytes of the variable's size, or a number written LE). */
  globals?: Record<string, Uint8Array | number | bigint>;
}

/** An object ready for `Collection.load`, with what CO-RE did to it. */
export interface KernelObject {
  spec: ObjectSpec;
  /** CO-RE relocation results by section (empty when the object has none or CO-RE was off). */
  core: Map<string, CoreResult[]>;
  /** Notes worth showing the user (poisoned CO-RE relocations, module BTFs skipped). */
  warnings: string[];
}

let cachedTarget: { target: CoreTarget; warnings: string[] } | undefined;

/**
 * The running kernel's BTF as a CO-RE target: vmlinux alone, or `[vmlinux, ...modules]` when modules expose BTF
 * (parsed once per process). Throws `KernelError('BTF', ENOENT)` when the kernel has no BTF.
 */
export function kernelCoreTarget(): { target: CoreTarget; warnings: string[] } {
  if (cachedTarget) return cachedTarget;
  let vmlinux: Btf;
  try {
    vmlinux = Btf.loadKernel();
  } catch (e) {
    throw new KernelError('BTF', 2, 'ENOENT', { hint: `CO-RE needs the kernel's BTF: ${(e as Error).message}` });
  }
  let hasModules = false;
  try {
    hasModules = existsSync('/sys/kernel/btf') && readdirSync('/sys/kernel/btf').some((n) => n !== 'vmlinux');
  } catch {
    hasModules = false;
  }
  if (!hasModules) cachedTarget = { target: vmlinux, warnings: [] };
  else {
    const { modules, warnings } = loadKernelModules({ base: vmlinux });
    cachedTarget = { target: modules.length ? [vmlinux, ...modules] : vmlinux, warnings };
  }
  return cachedTarget;
}

function hasCoreRelos(bytes: Uint8Array): boolean {
  const o = loadObject(bytes);
  for (const rs of o.btfExt?.coreRelos?.values() ?? []) if (rs.length) return true;
  return false;
}

/**
 * Parse an eBPF object (a path or its bytes) for loading into this kernel: CO-RE applied against the kernel's BTF
 * unless `targetBtf` says otherwise, globals set. Throws `ElfError`/`BtfError` for a bad object,
 * `KernelError('BTF', ENOENT)` when the object needs CO-RE and the kernel has no BTF, `KernelError('globals')`
 * for an unknown global.
 */
export function readKernelObject(source: string | Uint8Array, opts: KernelObjectOptions = {}): KernelObject {
  const bytes = typeof source === 'string' ? new Uint8Array(readFileSync(source)) : source;
  const warnings: string[] = [];
  let target: CoreTarget | undefined;
  const wanted = opts.targetBtf ?? 'kernel';
  if (wanted === 'kernel') {
    try {
      const t = kernelCoreTarget();
      target = t.target;
      warnings.push(...t.warnings);
    } catch (e) {
      // Objects without CO-RE relocations load fine on a kernel without BTF; the others would read garbage.
      if (hasCoreRelos(bytes)) throw e;
    }
  } else if (wanted !== false) target = wanted;
  const kconfig: KconfigOptions = {};
  if (opts.config) kconfig.config = opts.config;
  if (opts.kernelRelease) kconfig.kernelRelease = opts.kernelRelease;
  const o = loadObject(bytes, { ...kconfig, targetBtf: target });
  for (const [section, results] of o.core) {
    for (const r of results) {
      if (r.status === 'relocated') continue;
      warnings.push(`CO-RE ${section} insn ${r.insnIndex}: ${r.kindName} ${r.access} ${r.status}${r.reason ? `: ${r.reason}` : ''}`);
    }
  }
  for (const [name, value] of Object.entries(opts.globals ?? {})) setGlobal(o.spec, name, value);
  return { spec: o.spec, core: o.core, warnings };
}
