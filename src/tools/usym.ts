/**
 * User-space symbolisation for profile stacks: /proc/PID/maps (read while the process lives) maps an address
 * to a file and file offset; the file's .symtab/.dynsym (src/kernel/link/elf-symbols) names the function.
 * Unknown frames keep their address (`[unknown]` name in flame graphs, the module when known).
 */
import { readFileSync } from 'node:fs';
import { functionSymbols, type UserSymbol } from '../kernel/link/elf-symbols.js';

/** One executable mapping of a process. */
export interface UserMapping {
  start: bigint;
  end: bigint;
  fileOffset: bigint;
  path: string;
}

/** A resolved user frame. */
export interface UserFrame {
  address: bigint;
  /** Function name, or undefined when no symbol covers the address. */
  name?: string;
  /** Path of the mapped file, when the address is in a file mapping. */
  module?: string;
  mapping?: UserMapping;
}

/** Executable file mappings of `pid` (empty when the process is gone or unreadable). */
export function readMappings(pid: number): UserMapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: UserMapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x') continue;
    out.push({ start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), fileOffset: BigInt('0x' + m[4]), path: m[5]!.replace(/ \(deleted\)$/, '') });
  }
  return out;
}

const symCache = new Map<string, UserSymbol[] | null>();
function symbolsOf(path: string): UserSymbol[] | null {
  if (!symCache.has(path)) {
    let syms: UserSymbol[] | null;
    try {
      syms = functionSymbols(path).sort((a, b) => a.fileOffset - b.fileOffset);
    } catch {
      syms = null;
    }
    symCache.set(path, syms);
    if (symCache.size > 64) symCache.delete(symCache.keys().next().value!);
  }
  return symCache.get(path)!;
}

/** Resolve user addresses of one process with its mappings. */
export function resolveUser(addrs: readonly bigint[], maps: readonly UserMapping[]): UserFrame[] {
  return addrs.map((address) => {
    const mapping = maps.find((m) => address >= m.start && address < m.end);
    if (!mapping) return { address };
    const off = Number(address - mapping.start + mapping.fileOffset);
    const syms = symbolsOf(mapping.path);
    let name: string | undefined;
    if (syms) {
      let lo = 0;
      let hi = syms.length - 1;
      let best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (syms[mid]!.fileOffset <= off) {
          best = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      // Several symbols can share a start; any one covering the offset will do.
      for (let i = best; i >= 0 && syms[i]!.fileOffset === syms[best]!.fileOffset; i--) {
        const s = syms[i]!;
        if (off < s.fileOffset + Math.max(s.size, 1)) {
          name = s.name;
          break;
        }
      }
    }
    return { address, name, module: mapping.path, mapping };
  });
}
