/** Stack trace rendering: kernel frames symbolised from /proc/kallsyms (when readable), user frames as addresses. */
import { readFileSync } from 'node:fs';

let kallsyms: { addrs: bigint[]; names: string[] } | null | undefined;

function loadKallsyms(): { addrs: bigint[]; names: string[] } | null {
  if (kallsyms !== undefined) return kallsyms;
  try {
    const rows: [bigint, string][] = [];
    for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
      const [a, type, name] = line.split(/\s+/);
      if (!a || !name || !/^[tTwW]$/.test(type ?? '')) continue;
      const addr = BigInt('0x' + a);
      if (addr !== 0n) rows.push([addr, name]);
    }
    rows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    kallsyms = rows.length ? { addrs: rows.map((r) => r[0]), names: rows.map((r) => r[1]) } : null;
  } catch {
    kallsyms = null;
  }
  return kallsyms;
}

/** `name+off` of a kernel address, or its hex form when kallsyms is not readable. */
export function kernelSymbol(addr: bigint): string {
  const ks = loadKallsyms();
  if (!ks) return '0x' + addr.toString(16);
  let lo = 0;
  let hi = ks.addrs.length - 1;
  if (addr < ks.addrs[0]!) return '0x' + addr.toString(16);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ks.addrs[mid]! <= addr) lo = mid;
    else hi = mid - 1;
  }
  return `${ks.names[lo]}+${addr - ks.addrs[lo]!}`;
}

/** ksym(): the name of the kernel function containing `addr`; hex (libstdc++ style: `0` for null) when unknown. */
export function kernelSymbolName(addr: bigint): string {
  const s = kernelSymbol(addr);
  if (s.startsWith('0x')) return addr === 0n ? '0' : s;
  return s.slice(0, s.lastIndexOf('+'));
}

/** bpftrace's stack text: a newline, then one 8-space-indented frame per line. */
export function stackText(frames: bigint[], user: boolean): string {
  let out = '\n';
  for (const f of frames) out += `        ${user ? '0x' + f.toString(16) : kernelSymbol(f)}\n`;
  return out;
}

/** kaddr(): the address of kernel symbol `name` from /proc/kallsyms (any symbol type), or undefined. */
export function kernelAddress(name: string): bigint | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return undefined;
  }
  const at = text.indexOf(` ${name}\n`);
  for (let i = at; i >= 0; i = text.indexOf(` ${name}\n`, i + 1)) {
    const start = text.lastIndexOf('\n', i) + 1;
    const [a] = text.slice(start, i).split(' ');
    if (a && a.length >= 8) return BigInt('0x' + a);
  }
  return undefined;
}
