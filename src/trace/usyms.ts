/**
 * User-space symbols for the tracing language: uaddr()'s data symbols of a binary (with what a PIE needs to
 * relocate them at run time), and usym()'s address → function name through the process's /proc/PID/maps and
 * the mapped files' symbol tables.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseElf, STT } from '../elf/reader.js';
import { definedSymbols } from '../elf/symbol-tables.js';
import { ET, PF, PT, programHeaders } from '../elf/segments.js';
import { functionSymbols, type UserSymbol } from '../kernel/link/elf-symbols.js';

/** A data symbol found by uaddr(). */
export interface DataSymbol {
  address: number;
  size: number;
  /**
   * Position-independent executable: the run-time address is `mm->start_code + pieDelta` (start_code being the
   * load bias plus the lowest executable segment's address, as the kernel's ELF loader sets it).
   */
  pieDelta?: number;
}

/** Why a symbol cannot be used, or the symbol. */
export function dataSymbol(path: string, name: string): DataSymbol | string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return `cannot read ${path} (${(e as Error).message})`;
  }
  const e = parseElf(bytes);
  const sym = definedSymbols(e, [STT.OBJECT]).find((x) => x.name === name);
  const hit = sym && { address: sym.value, size: sym.size };
  if (!hit) return 'not found';
  if (e.type === ET.EXEC) return hit;
  const segs = programHeaders(bytes);
  if (!segs.some((s) => s.type === PT.INTERP)) return 'shared libraries are not supported by bpfkit yet (their load address is per process)';
  const exec = segs.filter((s) => s.type === PT.LOAD && s.flags & PF.X).map((s) => s.vaddr);
  if (!exec.length) return 'no executable segment';
  return { ...hit, pieDelta: hit.address - Math.min(...exec) };
}

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

const mapsCache = new Map<number, Mapping[] | null>();

function mappings(pid: number, fresh = false): Mapping[] | null {
  if (!fresh && mapsCache.has(pid)) return mapsCache.get(pid)!;
  let out: Mapping[] | null = null;
  try {
    out = [];
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const f = line.split(/\s+/);
      if (!f[5]?.startsWith('/')) continue;
      const [s, e] = f[0]!.split('-');
      out.push({ start: BigInt('0x' + s), end: BigInt('0x' + e), offset: BigInt('0x' + f[2]), path: f[5] });
    }
  } catch {
    out = null;
  }
  // Kept for the run: the process may be gone when maps are printed at exit (a failed re-read keeps the old).
  if (out || !mapsCache.get(pid)) mapsCache.set(pid, out);
  return mapsCache.get(pid)!;
}

const symCache = new Map<string, UserSymbol[]>();

/** `[name, offset]` of the function containing `addr` in process `pid`, or undefined. */
export function userSymbol(addr: bigint, pid: number): [string, bigint] | undefined {
  const f = userFrame(addr, pid);
  return f?.name !== undefined ? [f.name, f.offset!] : undefined;
}

/** The mapped file holding `addr` in process `pid` and, when its symbol tables say, the function and offset in it. */
export function userFrame(addr: bigint, pid: number): { module: string; name?: string; offset?: bigint } | undefined {
  const inside = (x: Mapping) => addr >= x.start && addr < x.end;
  // Re-read once when the address is in no known mapping (the process exec'd or loaded a library since).
  const m = mappings(pid)?.find(inside) ?? mappings(pid, true)?.find(inside);
  if (!m) return undefined;
  const off = Number(addr - m.start + m.offset);
  let syms = symCache.get(m.path);
  if (!syms) {
    syms = moduleSymbols(`/proc/${pid}/root${m.path}`);
    symCache.set(m.path, syms);
  }
  const s = syms.find((x) => off >= x.fileOffset && off < x.fileOffset + Math.max(x.size, 1));
  return s ? { module: m.path, name: s.name, offset: BigInt(off - s.fileOffset) } : { module: m.path };
}

/** The GNU build id of an ELF file (hex), from its .note.gnu.build-id section. */
function buildId(e: ReturnType<typeof parseElf>): string | undefined {
  const sec = e.section('.note.gnu.build-id');
  if (!sec || sec.data.length < 16) return undefined;
  const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  const le = !e.bigEndian;
  const namesz = dv.getUint32(0, le);
  const descsz = dv.getUint32(4, le);
  const start = 12 + ((namesz + 3) & ~3);
  if (dv.getUint32(8, le) !== 3 /* NT_GNU_BUILD_ID */ || start + descsz > sec.data.length) return undefined;
  return Buffer.from(sec.data.subarray(start, start + descsz)).toString('hex');
}

/**
 * Function symbols of a mapped file with their file offsets: its own .symtab/.dynsym, plus the .symtab of its
 * separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug, e.g. from libc6-dbg) when there is one. Debug-file
 * symbols are placed through the original file's PT_LOAD segments (the debug file's sections have no contents).
 */
function moduleSymbols(path: string): UserSymbol[] {
  let syms: UserSymbol[];
  try {
    syms = functionSymbols(path);
  } catch {
    return [];
  }
  try {
    const bytes = readFileSync(path);
    const id = buildId(parseElf(bytes));
    const dbg = id && id.length > 2 ? `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug` : undefined;
    if (!dbg || !existsSync(dbg)) return syms;
    const loads = programHeaders(bytes).filter((p) => p.type === PT.LOAD);
    const have = new Set(syms.map((x) => x.address));
    for (const d of functionSymbols(dbg)) {
      if (have.has(d.address)) continue;
      const seg = loads.find((p) => d.address >= p.vaddr && d.address < p.vaddr + p.fileSize);
      if (!seg) continue;
      have.add(d.address);
      syms.push({ ...d, fileOffset: d.address - seg.vaddr + seg.offset });
    }
  } catch {
    /* no usable debug file: the file's own symbols */
  }
  return syms;
}

/** usym(): the function name, or the address in hex. */
export function userSymbolName(addr: bigint, pid: number): string {
  return userSymbol(addr, pid)?.[0] ?? '0x' + addr.toString(16);
}

/** Forget cached process maps (a new run). */
export function resetUserSymbols(): void {
  mapsCache.clear();
}
