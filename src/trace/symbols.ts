/** Stack trace rendering: kernel frames symbolised from /proc/kallsyms (when readable), user frames through usyms.ts. */
import { readFileSync } from 'node:fs';
import { userFrame } from './usyms.js';

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

/** How to print a stack: bpftrace's default or perf's mode, in a map key or not, and whose user stack it is. */
export interface StackTextOptions {
  perf?: boolean;
  /** Map keys indent bpftrace-mode frames by 4 spaces (8 elsewhere). */
  inKey?: boolean;
  /** The process a user stack was taken in (its frames are resolved through /proc/PID/maps). */
  pid?: number;
}

/**
 * bpftrace's stack text: a newline, then one frame per line: `name+offset` indented by 8 spaces (4 in map keys),
 * or in perf mode a tab, the address in hex and `name+offset` (user frames: then ` (module)`). Unresolved
 * frames show the address.
 */
export function stackText(frames: bigint[], user: boolean, o: StackTextOptions = {}): string {
  let out = '\n';
  const indent = o.inKey ? '    ' : '        ';
  for (const f of frames) {
    const hex = '0x' + f.toString(16);
    let sym: string;
    if (!user) sym = kernelSymbol(f);
    else {
      const u = o.pid ? userFrame(f, o.pid) : undefined;
      sym = u?.name !== undefined ? `${u.name}+${u.offset}` : hex;
      if (o.perf) sym += u?.name !== undefined ? ` (${u.module})` : ' ([unknown])';
    }
    out += o.perf ? `\t${f.toString(16)} ${sym}\n` : `${indent}${sym}\n`;
  }
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
