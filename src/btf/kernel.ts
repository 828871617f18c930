/**
 * The running kernel's BTF: vmlinux from /sys/kernel/btf/vmlinux (parsed once and cached) and the split BTF of
 * loaded modules (/sys/kernel/btf/<module>, based on vmlinux). A module whose BTF cannot be read or parsed is
 * skipped and reported in `warnings`, never thrown, so lookups that do not need it keep working.
 */
import { hostJoinPath, hostReadDir, hostReadFile } from '../host/io.js';
import { Btf } from './btf.js';

/** Where the kernel exposes BTF. */
export const KERNEL_BTF_DIR = '/sys/kernel/btf';

/** The kernel's vmlinux BTF, parsed once and cached (same as `Btf.loadKernel`). */
export function loadKernelBtf(path = hostJoinPath(KERNEL_BTF_DIR, 'vmlinux')): Btf {
  return Btf.loadKernel(path);
}

/** Result of `loadKernelModules`. */
export interface KernelModulesBtf {
  /** Parsed module BTFs (split on top of vmlinux), by name order. */
  modules: Btf[];
  /** One line per module that was skipped, saying why. */
  warnings: string[];
}

/**
 * Every loaded module's BTF, parsed as split BTF over `base` (default: the kernel's vmlinux). Broken or unusual
 * files are skipped with a warning.
 */
export function loadKernelModules(opts: { dir?: string; base?: Btf } = {}): KernelModulesBtf {
  const dir = opts.dir ?? KERNEL_BTF_DIR;
  const base = opts.base ?? loadKernelBtf();
  const modules: Btf[] = [];
  const warnings: string[] = [];
  let names: string[];
  try {
    names = hostReadDir(dir).sort();
  } catch (e) {
    return { modules, warnings: [`cannot list ${dir}: ${(e as Error).message}`] };
  }
  for (const name of names) {
    if (name === 'vmlinux') continue;
    const path = hostJoinPath(dir, name);
    try {
      const bytes = hostReadFile(path);
      modules.push(Btf.parse(bytes, { base, name, section: path }));
    } catch (e) {
      warnings.push(`skipping module BTF ${name}: ${(e as Error).message}`);
    }
  }
  return { modules, warnings };
}
