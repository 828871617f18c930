/**
 * `.kconfig` externs: reading the running kernel's configuration (/proc/config.gz or /boot/config-<release>),
 * the `LINUX_KERNEL_VERSION` value from the release string, and laying the externs out in the `.kconfig` map
 * value with their values encoded as libbpf does (bool/tristate, integers, char arrays, enums).
 */
import { hostArch, hostGunzip, hostOsRelease, hostReadFile, hostReadText } from '../host/io.js';
import { ElfError } from '../errors.js';
import type { Btf } from '../btf/btf.js';

/** A kernel config: `CONFIG_FOO` → raw value text (`y`, `m`, `"str"`, `123`, `0x10`). `n` entries are absent. */
export type KernelConfig = Map<string, string>;

/** Parse `.config` text (`CONFIG_X=y`, `# CONFIG_Y is not set`). */
export function parseKernelConfig(text: string): KernelConfig {
  const out: KernelConfig = new Map();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
    const n = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line.trim());
    if (n) out.set(n[1]!, 'n');
  }
  return out;
}

/** The running kernel's config, from /proc/config.gz or /boot/config-$(uname -r); undefined when neither exists. */
export function readKernelConfig(kernelRelease = hostOsRelease()): KernelConfig | undefined {
  try {
    return parseKernelConfig(new TextDecoder('utf-8', { ignoreBOM: true }).decode(hostGunzip(hostReadFile('/proc/config.gz'))));
  } catch {
    /* fall through */
  }
  try {
    return parseKernelConfig(hostReadText(`/boot/config-${kernelRelease}`));
  } catch {
    return undefined;
  }
}

/** `KERNEL_VERSION(a, b, c)` of a release string like `6.18.44-foo` (patch capped at 255 as the kernel does). */
export function kernelVersionCode(kernelRelease = hostOsRelease()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(kernelRelease);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** One `.kconfig` extern placed in the kconfig map value. */
export interface KconfigExtern {
  name: string;
  offset: number;
  size: number;
  weak: boolean;
  /** Whether a value was found (false: left zero, allowed only for weak externs). */
  resolved: boolean;
}

/** Options for resolving kconfig externs. */
export interface KconfigOptions {
  /** The config to use; default: the running kernel's. */
  config?: KernelConfig;
  /** Kernel release for LINUX_KERNEL_VERSION; default `uname -r`. */
  kernelRelease?: string;
}

/**
 * Lay out and fill the `.kconfig` externs named in the BTF DATASEC `.kconfig`. Returns the map value and each
 * extern's offset. `weakNames` says which externs are weak (from the ELF symbol binding).
 */
export function buildKconfig(btf: Btf, weakNames: Set<string>, opts: KconfigOptions = {}): { value: Uint8Array; externs: KconfigExtern[] } {
  const ds = btf.findByName('.kconfig', 'datasec');
  if (ds?.kind !== 'datasec' || !ds.vars.length) return { value: new Uint8Array(0), externs: [] };
  let config = opts.config;
  const kernelRelease = opts.kernelRelease ?? hostOsRelease();
  const placed: { name: string; typeId: number; offset: number; size: number }[] = [];
  let off = 0;
  for (const v of ds.vars) {
    const vt = btf.typeById(v.typeId);
    if (vt.kind !== 'var') throw new ElfError(`.kconfig entry ${v.typeId} is not a variable`, { section: '.kconfig' });
    const size = btf.sizeOf(vt.typeId);
    if (size <= 0 || size > 4096) throw new ElfError(`kconfig extern ${vt.name} has size ${size}`, { section: '.kconfig' });
    const align = Math.min(8, size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1);
    off = Math.ceil(off / align) * align;
    placed.push({ name: vt.name, typeId: vt.typeId, offset: off, size });
    off += size;
  }
  const value = new Uint8Array(Math.ceil(off / 8) * 8 || 8);
  const view = new DataView(value.buffer);
  const le = !btf.bigEndian;
  const externs: KconfigExtern[] = [];
  for (const p of placed) {
    let raw: string | undefined;
    if (p.name === 'LINUX_KERNEL_VERSION') raw = String(kernelVersionCode(kernelRelease));
    else if (p.name === 'LINUX_HAS_SYSCALL_WRAPPER') raw = hostArch() === 'x64' || hostArch() === 'arm64' ? 'y' : 'n';
    // libbpf answers this one by probing bpf_get_attach_cookie; the helper came in Linux 5.15.
    else if (p.name === 'LINUX_HAS_BPF_COOKIE') raw = kernelVersionCode(kernelRelease) >= (5 << 16) + (15 << 8) ? 'y' : 'n';
    else if (p.name.startsWith('CONFIG_')) {
      config ??= readKernelConfig(kernelRelease) ?? new Map();
      raw = config.get(p.name);
    } else if (!weakNames.has(p.name)) {
      throw new ElfError(`unknown kconfig extern ${p.name}`, { section: '.kconfig' });
    }
    const weak = weakNames.has(p.name);
    if (raw === undefined) {
      if (!weak) throw new ElfError(`kconfig extern ${p.name} is strong but the kernel config has no value for it`, { section: '.kconfig' });
      externs.push({ name: p.name, offset: p.offset, size: p.size, weak, resolved: false });
      continue;
    }
    writeKconfigValue(btf, p.typeId, p.name, raw, view, p.offset, p.size, le);
    externs.push({ name: p.name, offset: p.offset, size: p.size, weak, resolved: true });
  }
  return { value, externs };
}

function writeKconfigValue(btf: Btf, typeId: number, name: string, raw: string, view: DataView, off: number, size: number, le: boolean): void {
  const t = btf.resolveType(typeId);
  const bad = (why: string) => new ElfError(`kconfig extern ${name}: value '${raw}' ${why}`, { section: '.kconfig' });
  if (t.kind === 'array') {
    // char[N]: a quoted string, NUL-terminated and truncated to fit.
    const m = /^"(.*)"$/.exec(raw);
    if (!m) throw bad('is not a string');
    const bytes = new TextEncoder().encode(m[1]!.replace(/\\(.)/g, '$1'));
    const n = Math.min(bytes.length, size - 1);
    for (let i = 0; i < n; i++) view.setUint8(off + i, bytes[i]!);
    return;
  }
  let v: bigint;
  if (raw === 'y') v = 1n;
  else if (raw === 'm') v = 2n;
  else if (raw === 'n') v = 0n;
  else if (/^-?(0x[0-9a-fA-F]+|\d+)$/.test(raw)) v = raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw);
  else throw bad('is not a number or y/m/n');
  const isBool = t.kind === 'int' && t.bool;
  if (isBool && v === 2n) throw bad('(module) does not fit a bool');
  if (raw === 'm' && t.kind !== 'enum' && t.kind !== 'int') throw bad('does not fit');
  switch (size) {
    case 1:
      view.setUint8(off, Number(BigInt.asUintN(8, v)));
      break;
    case 2:
      view.setUint16(off, Number(BigInt.asUintN(16, v)), le);
      break;
    case 4:
      view.setUint32(off, Number(BigInt.asUintN(32, v)), le);
      break;
    case 8:
      view.setBigUint64(off, BigInt.asUintN(64, v), le);
      break;
    default:
      throw bad(`cannot be stored in ${size} bytes`);
  }
}
