/**
 * USDT (SystemTap SDT) probes, the libbpf way: a USDT is a uprobe (KPROBE program) at each of its call sites,
 * found in the binary's `.note.stapsdt` notes (src/elf/usdt-notes.ts). Each distinct argument spec gets a spec
 * id; the spec (src/kernel/link/usdt-spec.ts) is written into the object's `__bpf_usdt_specs` map and the id
 * given as the uprobe's BPF cookie, so C programs using <bpf/usdt.bpf.h> (`bpf_usdt_arg`, `bpf_usdt_arg_cnt`,
 * `bpf_usdt_cookie`, `BPF_USDT`) work unchanged. Probes with a semaphore get it counted by the kernel through
 * the uprobe PMU's `ref_ctr_offset` (perf_event_attr.config bits given by
 * /sys/bus/event_source/devices/uprobe/format/ref_ctr_offset, `config:32-63`).
 *
 * Like libbpf, all call sites share one uprobe_multi link (cookies = spec ids, ref_ctr_offsets = semaphores)
 * when the kernel has uprobe_multi (features.uprobeMulti()) and the program was loaded with expected attach
 * type TRACE_UPROBE_MULTI; otherwise one perf-event uprobe per call site.
 *
 * Partial, compared to libbpf: the loader does not switch `usdt` sections to TRACE_UPROBE_MULTI by itself
 * (libbpf does when the kernel supports it), so objects loaded from ELF use per-site perf uprobes unless their
 * programs are loaded with that attach type; kernels without BPF cookies (< 5.15, where libbpf fills `__bpf_usdt_ip_to_spec_id`) are refused; the
 * x86 `nop; nop5` site optimisation of newer libbpf is not done.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KernelError } from '../../errors.js';
import { parseUsdtArgs, type UsdtArch, type UsdtArg } from '../../elf/usdt-args.js';
import { readUsdtNotes, type UsdtNote } from '../../elf/usdt-notes.js';
import { AttachType, MapType } from '../../isa/uapi.js';
import { uprobeMulti } from '../features/probe.js';
import { progInfo } from '../info/info.js';
import type { KernelProgram } from '../load/program.js';
import { KernelMap } from '../maps/map.js';
import { resolveLibrary } from './libpath.js';
import type { Link } from './link.js';
import type { PerfEventLink } from './perf-event.js';
import { attachUprobeAt } from './uprobe.js';
import { createUprobeMultiLink, type UprobeMultiLink } from './uprobe-multi.js';
import { encodeUsdtSpec, usdtSpecLayout, type UsdtSpecLayout } from './usdt-spec.js';

/** The name libbpf's <bpf/usdt.bpf.h> gives the spec map (15 characters of it reach the kernel). */
export const USDT_SPECS_MAP = '__bpf_usdt_specs';

/** Where and how to attach a USDT program. */
export interface UsdtOptions {
  /** Executable or shared library: a path; or a name looked up in $PATH (executables) or like ld.so (`.so`). */
  binary: string;
  /** Probe provider and name (`DTRACE_PROBE(provider, name)`). */
  provider: string;
  name: string;
  /** Only this process (0: the calling process; default: every process). */
  pid?: number;
  /** The USDT cookie returned by `bpf_usdt_cookie()` (the BPF cookie itself carries the spec id). */
  cookie?: bigint;
  /** The `__bpf_usdt_specs` map (default: found among the maps the program uses). */
  specsMap?: KernelMap;
}

/** One attached call site. */
export interface UsdtSite {
  note: UsdtNote;
  args: UsdtArg[];
  /** Index in the spec map (also the site's BPF cookie). */
  specId: number;
  /** The site's perf-event uprobe, or the uprobe_multi link shared by every site. */
  link: PerfEventLink | UprobeMultiLink;
}

/** Spec ids in use per spec map (by kernel map id), handed out like libbpf's usdt_manager: free list first. */
const specIds = new Map<number, { next: number; free: number[] }>();

function allocId(mapId: number, max: number): number {
  let s = specIds.get(mapId);
  if (!s) specIds.set(mapId, (s = { next: 0, free: [] }));
  const id = s.free.pop();
  if (id !== undefined) return id;
  if (s.next >= max) throw new KernelError('usdt', 7, 'E2BIG', { hint: `all ${max} USDT spec slots of ${USDT_SPECS_MAP} are in use (raise BPF_USDT_MAX_SPEC_CNT)` });
  return s.next++;
}

function freeIds(mapId: number, ids: number[]): void {
  specIds.get(mapId)?.free.push(...ids);
}

/** All call sites of one USDT, closed together (spec ids returned for reuse on close). */
export class UsdtLink implements Link {
  readonly kind = 'usdt';
  readonly target: string;
  readonly sites: UsdtSite[];
  readonly #mapId: number;
  readonly #ids: number[];
  #closed = false;

  constructor(target: string, sites: UsdtSite[], mapId: number, ids: number[]) {
    this.target = target;
    this.sites = sites;
    this.#mapId = mapId;
    this.#ids = ids;
  }

  /** The perf-event links, one per call site; or the one uprobe_multi link. */
  get links(): (PerfEventLink | UprobeMultiLink)[] {
    return [...new Set(this.sites.map((s) => s.link))];
  }

  /** Whether the sites share one uprobe_multi link. */
  get multi(): boolean {
    return this.sites.length > 0 && this.sites.every((s) => s.link === this.sites[0]!.link) && this.sites[0]!.link.kind === 'usdt.multi';
  }

  get closed(): boolean {
    return this.#closed;
  }

  #release(): void {
    this.#closed = true;
    freeIds(this.#mapId, this.#ids.splice(0));
  }

  close(): void {
    if (this.#closed) return;
    for (const l of this.links) l.close();
    this.#release();
  }

  async closeAsync(): Promise<void> {
    if (this.#closed) return;
    await Promise.all(this.links.map((l) => l.closeAsync()));
    this.#release();
  }
}

/**
 * The path of a USDT target as libbpf resolves it: names with '/' as they are, `.so` names like the dynamic
 * loader, other bare names through $PATH (then the library directories). Throws `KernelError(ENOENT)`.
 */
export function resolveUsdtBinary(name: string): string {
  if (name.includes('/') || /\.so(\.|$)/.test(name)) return resolveLibrary(name);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return resolveLibrary(name);
}

function hostArch(): UsdtArch | undefined {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
}

/** The program's `__bpf_usdt_specs` map (opened by id), or undefined when the program uses none. */
function findSpecsMap(prog: KernelProgram): KernelMap | undefined {
  const want = USDT_SPECS_MAP.slice(0, 15);
  for (const id of progInfo(prog.fd).mapIds) {
    let m: KernelMap;
    try {
      m = KernelMap.fromId(id);
    } catch {
      continue;
    }
    if (m.name === want && m.type === MapType.ARRAY && m.keySize === 4) return m;
    m.close();
  }
  return undefined;
}

/**
 * Attach a KPROBE-type program to every call site of USDT `provider:name` in `o.binary`: one uprobe_multi link
 * for all sites when the program was loaded with expected attach type TRACE_UPROBE_MULTI and the kernel has
 * uprobe_multi, else one perf-event uprobe per site. Writes the argument
 * specs into the program's `__bpf_usdt_specs` map when it uses one (a program that never calls the
 * <bpf/usdt.bpf.h> helpers has none; it is attached all the same). Throws `KernelError` (ENOENT: no such
 * probe; EOPNOTSUPP: semaphores without kernel support, a binary of another architecture) or `ElfError`
 * (malformed notes or argument specs); nothing stays attached on failure.
 */
export function attachUsdt(prog: KernelProgram, o: UsdtOptions): UsdtLink {
  const multi = prog.expectedAttachType === AttachType.TRACE_UPROBE_MULTI && uprobeMulti().ok;
  const path = resolveUsdtBinary(o.binary);
  const what = `${path}:${o.provider}:${o.name}`;
  const found = readUsdtNotes(readFileSync(path), { provider: o.provider, name: o.name });
  if (!found.notes.length) throw new KernelError('usdt', 2, 'ENOENT', { detail: what, hint: `no USDT probe ${o.provider}:${o.name} in ${path} (see readelf -n)` });
  const host = hostArch();
  if (!found.arch || found.arch !== host) {
    throw new KernelError('usdt', 95, 'EOPNOTSUPP', { detail: what, hint: `${path} is for ELF machine ${found.machine}, not this ${process.arch} host` });
  }
  const pid = o.pid === 0 ? process.pid : o.pid !== undefined && o.pid > 0 ? o.pid : -1;

  const ownMap = o.specsMap ? undefined : findSpecsMap(prog);
  const specs = o.specsMap ?? ownMap;
  let layout: UsdtSpecLayout | undefined;
  if (specs) {
    layout = usdtSpecLayout(specs.valueSize);
    if (!layout) {
      ownMap?.close();
      throw new KernelError('usdt', 22, 'EINVAL', { detail: `map ${specs.name}`, hint: `value size ${specs.valueSize} is no known struct __bpf_usdt_spec layout (208 or 304 bytes)` });
    }
  }
  const mapId = specs ? specs.id : -prog.id; // programs without a spec map still get distinct cookies
  const ids: number[] = [];
  const byArgs = new Map<string, number>();
  const sites: UsdtSite[] = [];
  const pending: { note: UsdtNote; args: UsdtArg[]; specId: number }[] = [];
  try {
    for (const note of found.notes) {
      const where = `${o.provider}:${o.name} at 0x${note.address.toString(16)}`;
      const args = parseUsdtArgs(note.args, found.arch, where);
      let specId = byArgs.get(note.args);
      if (specId === undefined) {
        specId = allocId(mapId, specs ? specs.maxEntries : 0x7fffffff);
        ids.push(specId);
        byArgs.set(note.args, specId);
        if (specs && layout) {
          const key = new Uint8Array(4);
          new DataView(key.buffer).setUint32(0, specId, true);
          specs.update(key, encodeUsdtSpec(args, o.cookie ?? 0n, layout, where));
        }
      }
      if (multi) {
        pending.push({ note, args, specId });
        continue;
      }
      const link = attachUprobeAt(prog, {
        path,
        offset: note.fileOffset,
        refCtrOffset: note.semaphoreOffset,
        pid,
        cookie: BigInt(specId),
        kind: 'usdt',
        target: `${what}+0x${note.fileOffset.toString(16)}`,
      });
      sites.push({ note, args, specId, link });
    }
    if (multi) {
      const link = createUprobeMultiLink(
        prog,
        path,
        pending.map((p) => ({ symbol: `${o.provider}:${o.name}`, offset: p.note.fileOffset })),
        { cookies: pending.map((p) => BigInt(p.specId)), refCtrOffsets: pending.map((p) => p.note.semaphoreOffset), pid: pid > 0 ? pid : 0, kind: 'usdt.multi' },
      );
      for (const p of pending) sites.push({ ...p, link });
    }
  } catch (e) {
    for (const s of sites) void s.link.closeAsync();
    freeIds(mapId, ids);
    throw e;
  } finally {
    ownMap?.close();
  }
  return new UsdtLink(what, sites, mapId, ids);
}
