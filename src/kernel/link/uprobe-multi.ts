/**
 * uprobe_multi links (Linux 6.6+): one BPF_LINK_CREATE with attach type BPF_TRACE_UPROBE_MULTI puts a KPROBE
 * program (loaded with expected attach type TRACE_UPROBE_MULTI) on many file offsets of one binary at once,
 * each with its own BPF cookie and optional reference counter (USDT semaphore), optionally only for one process.
 * Function symbols are resolved through elf-symbols.ts (exact names, or a libbpf-style glob with `*` and `?`),
 * library names like the dynamic loader (libpath.ts). Closing is a single close(2), not one ~70 ms perf-event
 * teardown per site. Link info (path, offsets, cookies, ref counters, flags, pid) is decoded for 6.8+ kernels.
 */
import { KernelError } from '../../errors.js';
import { AttachType } from '../../isa/uapi.js';
import { linkInfo, type LinkInfo } from '../info/info.js';
import type { KernelProgram } from '../load/program.js';
import { Attr, bpfTry, textBeforeNul } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { functionSymbols, symbolOffset } from './elf-symbols.js';
import { resolveLibrary } from './libpath.js';
import { BpfLink, linkCreate } from './link.js';

/** `BPF_F_UPROBE_MULTI_RETURN` (enum in <linux/bpf.h> ≥ 6.6; not in src/isa/uapi.ts's Uapi yet). */
export const BPF_F_UPROBE_MULTI_RETURN = 1;

/** Where a uprobe_multi link goes. */
export interface UprobeMultiOptions {
  /** Binary or library: a path, or a name found through ld.so.cache (`libc.so.6`). */
  binary: string;
  /**
   * Function symbols: a list of exact names (`name@VERSION` accepted), or one glob pattern string (`*` any
   * run of characters, `?` one character) matched against every function symbol of .symtab and .dynsym
   * (offsets deduplicated: aliases of one function attach once). Give `symbols` or `offsets`, not both.
   */
  symbols?: string[] | string;
  /** File offsets to attach at (instead of `symbols`). */
  offsets?: number[];
  /** One BPF cookie per site (`bpf_get_attach_cookie`), in the order of `symbols` / `offsets`. */
  cookies?: bigint[];
  /** One reference-counter (semaphore) file offset per site, 0 for none. */
  refCtrOffsets?: number[];
  /** Only this process (0: the calling process; default or negative: every process). */
  pid?: number;
  /** Attach at function return (BPF_F_UPROBE_MULTI_RETURN). */
  retprobe?: boolean;
}

/** The kernel's view of a uprobe_multi link (link info, Linux 6.8+). */
export interface UprobeMultiDetails {
  path: string;
  offsets: number[];
  refCtrOffsets: number[];
  cookies: bigint[];
  count: number;
  flags: number;
  /** The filtered process (0: none). */
  pid: number;
  retprobe: boolean;
}

/** Link info with the decoded uprobe_multi part (undefined on kernels < 6.8, which do not report it). */
export interface UprobeMultiLinkInfo extends LinkInfo {
  uprobeMulti?: UprobeMultiDetails;
}

/** libbpf's `glob_match`: `*` matches any run (also empty), `?` one character, everything else itself. */
export function globMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starT = t;
    } else if (p < pattern.length && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** One resolved site. */
export interface UprobeMultiSite {
  /** The symbol (undefined for raw offsets). */
  symbol?: string;
  offset: number;
}

/**
 * The sites `o` names in `path`: symbol list → file offsets (ENOENT for a missing one), glob → every matching
 * function (ENOENT when none), or the raw offsets. Throws `KernelError(EINVAL)` for contradictory options.
 */
export function resolveUprobeMultiSites(path: string, o: Pick<UprobeMultiOptions, 'symbols' | 'offsets' | 'cookies' | 'refCtrOffsets'>): UprobeMultiSite[] {
  const bad = (hint: string) => new KernelError('uprobe_multi', 22, 'EINVAL', { detail: path, hint });
  if (o.symbols !== undefined && o.offsets !== undefined) throw bad('give symbols or offsets, not both');
  if (typeof o.symbols === 'string') {
    if (o.cookies || o.refCtrOffsets) throw bad('cookies and reference counters need an explicit symbol list, not a pattern');
    const seen = new Set<number>();
    const out: UprobeMultiSite[] = [];
    for (const s of functionSymbols(path)) {
      if (!globMatch(s.name, o.symbols) || seen.has(s.fileOffset)) continue;
      seen.add(s.fileOffset);
      out.push({ symbol: s.name, offset: s.fileOffset });
    }
    if (!out.length) throw new KernelError('uprobe_multi', 2, 'ENOENT', { detail: `${path}:${o.symbols}`, hint: `no function symbol of ${path} matches ${o.symbols}` });
    return out;
  }
  let sites: UprobeMultiSite[];
  if (o.symbols) {
    const first = new Map<string, number>();
    for (const s of functionSymbols(path)) if (!first.has(s.name)) first.set(s.name, s.fileOffset);
    sites = o.symbols.map((symbol) => {
      const offset = first.get(symbol.split('@')[0]!);
      return { symbol, offset: offset ?? symbolOffset(path, symbol) }; // symbolOffset throws the typed ENOENT
    });
  } else if (o.offsets) {
    sites = o.offsets.map((offset) => {
      if (!Number.isSafeInteger(offset) || offset < 0) throw bad(`offset ${offset} is not a file offset`);
      return { offset };
    });
  } else throw bad('give symbols (names or a glob pattern) or offsets');
  if (!sites.length) throw bad('no sites (empty symbols/offsets)');
  for (const [name, arr] of [['cookies', o.cookies], ['refCtrOffsets', o.refCtrOffsets]] as const) {
    if (arr && arr.length !== sites.length) throw bad(`${arr.length} ${name} for ${sites.length} sites`);
  }
  return sites;
}

function u64Array(values: readonly (number | bigint)[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), i * 8));
  return b;
}

/**
 * Decode a uprobe_multi link's info (path, offsets, ref counters, cookies, flags, pid): undefined when the
 * kernel does not report it (< 6.8: the link info has no uprobe_multi part and count stays 0).
 */
export function uprobeMultiDetails(linkFd: number, expectCount?: number): UprobeMultiDetails | undefined {
  const path = Buffer.alloc(4096);
  const query = (count: number) => {
    const info = new Attr('LINK_INFO');
    const arrays = count > 0 ? [Buffer.alloc(8 * count), Buffer.alloc(8 * count), Buffer.alloc(8 * count)] : undefined;
    info.setAll({ 'uprobe_multi.path': path, 'uprobe_multi.path_size': path.length });
    if (arrays) info.setAll({ 'uprobe_multi.offsets': arrays[0], 'uprobe_multi.ref_ctr_offsets': arrays[1], 'uprobe_multi.cookies': arrays[2], 'uprobe_multi.count': count });
    const { ret } = bpfTry('OBJ_GET_INFO_BY_FD', { bpf_fd: linkFd, info_len: info.size, info: info.buf });
    if (ret < 0 && ret !== -28 /* ENOSPC: more sites than asked for */) throw kernelError('OBJ_GET_INFO_BY_FD', -ret, { detail: `uprobe_multi link fd ${linkFd}` });
    return { info, arrays };
  };
  let { info, arrays } = query(expectCount ?? 0);
  const count = info.get('uprobe_multi.count');
  if (count === 0) return undefined;
  if (!arrays || count > arrays[0]!.length / 8) ({ info, arrays } = query(count));
  const read = (b: Buffer) => Array.from({ length: count }, (_, i) => b.readBigUInt64LE(i * 8));
  const flags = info.get('uprobe_multi.flags');
  return {
    path: textBeforeNul(path),
    offsets: read(arrays![0]!).map(Number),
    refCtrOffsets: read(arrays![1]!).map(Number),
    cookies: read(arrays![2]!),
    count,
    flags,
    pid: info.get('uprobe_multi.pid'),
    retprobe: (flags & BPF_F_UPROBE_MULTI_RETURN) !== 0,
  };
}

/** A uprobe_multi link: every site of one binary, detached by one close. */
export class UprobeMultiLink extends BpfLink {
  /** The resolved binary path. */
  readonly path: string;
  readonly sites: readonly UprobeMultiSite[];
  readonly retprobe: boolean;
  /** The filtered process, or undefined for all. */
  readonly pid?: number;

  constructor(fd: ConstructorParameters<typeof BpfLink>[0], path: string, sites: UprobeMultiSite[], opts: { retprobe: boolean; pid?: number; kind?: string }) {
    const names = sites.map((s) => s.symbol ?? `0x${s.offset.toString(16)}`);
    super(fd, opts.kind ?? (opts.retprobe ? 'uretprobe.multi' : 'uprobe.multi'), `${path}:${names.slice(0, 4).join(',')}${names.length > 4 ? `,... (${names.length})` : ''}`);
    this.path = path;
    this.sites = sites;
    this.retprobe = opts.retprobe;
    this.pid = opts.pid;
  }

  /** The file offsets attached to, in order. */
  get offsets(): number[] {
    return this.sites.map((s) => s.offset);
  }

  /** Link info, with the uprobe_multi part decoded (`uprobeMulti`, Linux 6.8+). */
  override info(): UprobeMultiLinkInfo {
    const base = linkInfo(this.fd);
    return { ...base, uprobeMulti: uprobeMultiDetails(this.fd, this.sites.length) };
  }
}

/**
 * Create a uprobe_multi link from already-resolved sites (used by `attachUprobeMulti` and USDT attachment).
 * `pid` is the kernel's value (0: every process). Throws `KernelError` from LINK_CREATE, with a hint for the
 * usual causes (EINVAL: program not loaded with expected attach type TRACE_UPROBE_MULTI or kernel < 6.6).
 */
export function createUprobeMultiLink(
  prog: KernelProgram,
  path: string,
  sites: UprobeMultiSite[],
  o: { cookies?: readonly bigint[]; refCtrOffsets?: readonly number[]; pid: number; retprobe?: boolean; kind?: string },
): UprobeMultiLink {
  const offsets = u64Array(sites.map((s) => s.offset));
  const cookies = o.cookies ? u64Array(o.cookies) : undefined;
  const refs = o.refCtrOffsets && o.refCtrOffsets.some((r) => r !== 0) ? u64Array(o.refCtrOffsets) : undefined;
  const what = `uprobe.multi ${path} (${sites.length} sites)`;
  let fd;
  try {
    fd = linkCreate(
      {
        prog_fd: prog.fd,
        attach_type: AttachType.TRACE_UPROBE_MULTI,
        'uprobe_multi.path': path,
        'uprobe_multi.offsets': offsets,
        'uprobe_multi.ref_ctr_offsets': refs,
        'uprobe_multi.cookies': cookies,
        'uprobe_multi.cnt': sites.length,
        'uprobe_multi.flags': o.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0,
        'uprobe_multi.pid': o.pid,
      },
      what,
    );
  } catch (e) {
    if (e instanceof KernelError && e.errnoName === 'EINVAL' && prog.expectedAttachType !== AttachType.TRACE_UPROBE_MULTI) {
      throw new KernelError('LINK_CREATE', 22, 'EINVAL', { detail: `${what}, program ${prog.name}`, hint: 'the program must be loaded with expected attach type TRACE_UPROBE_MULTI (SEC("uprobe.multi/...") or loadInsns(..., { expectedAttachType }))' });
    }
    throw e;
  }
  return new UprobeMultiLink(fd, path, sites, { retprobe: !!o.retprobe, pid: o.pid > 0 ? o.pid : undefined, kind: o.kind });
}

/**
 * Attach a KPROBE program (loaded with expected attach type TRACE_UPROBE_MULTI) to many functions or offsets
 * of one binary with a single uprobe_multi link. Throws `KernelError`: ENOENT (no such binary, symbol, or no
 * symbol matching the pattern), EINVAL (bad options, program of the wrong attach type), or what LINK_CREATE
 * says (EOPNOTSUPP/EINVAL on kernels < 6.6: ask `features.uprobeMulti()` first; ESRCH: no such process).
 */
export function attachUprobeMulti(prog: KernelProgram, o: UprobeMultiOptions): UprobeMultiLink {
  const path = resolveLibrary(o.binary);
  const sites = resolveUprobeMultiSites(path, o);
  const pid = o.pid === 0 ? process.pid : o.pid !== undefined && o.pid > 0 ? o.pid : 0;
  return createUprobeMultiLink(prog, path, sites, { cookies: o.cookies, refCtrOffsets: o.refCtrOffsets, pid, retprobe: o.retprobe });
}
