/**
 * USDT probes of the tracing language: `usdt:BINARY:[PROVIDER:]NAME` (globs in provider and name) expanded to
 * attach points from the binary's `.note.stapsdt` notes, and attached as one uprobe per call site (the
 * semaphore, if any, counted by the kernel through the uprobe PMU's `ref_ctr_offset`). Call sites of a probe
 * with the same argument spec share one program, whose code reads each argument where the spec says
 * (constant, register, register + offset, base + index × scale + offset).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseUsdtArgs, type UsdtArch, type UsdtArg } from '../elf/usdt-args.js';
import { readUsdtNotes } from '../elf/usdt-notes.js';
import type { KernelProgram } from '../kernel/load/program.js';
import type { PerfEventLink } from '../kernel/link/perf-event.js';
import { attachUprobeAt } from '../kernel/link/uprobe.js';
import { resolveUsdtBinary } from '../kernel/link/usdt.js';

/** One call site: where the uprobe goes and the semaphore's file offset (0: none). */
export interface UsdtSiteRef {
  fileOffset: number;
  semaphoreOffset: number;
}

/** A USDT attach point: the sites of one provider:name sharing one argument spec. */
export interface UsdtPoint {
  kind: 'usdt';
  /** `usdt:BINARY:PROVIDER:NAME` with BINARY as written (what `probe` prints). */
  name: string;
  /** The binary's resolved path. */
  path: string;
  provider: string;
  probe: string;
  /** The argument spec text and its parsed arguments. */
  spec: string;
  args: UsdtArg[];
  sites: UsdtSiteRef[];
}

function hostArch(): UsdtArch | undefined {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
}

/**
 * The path of a USDT binary: with `pid`, a file of that name (or `NAME.so...`) mapped in the process wins;
 * otherwise like libbpf (paths as they are, `.so` names like ld.so, other names through $PATH).
 */
export function usdtBinaryPath(bin: string, pid?: number): string {
  if (pid !== undefined && !bin.includes('/')) {
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const path = line.split(/\s+/)[5];
        if (!path?.startsWith('/')) continue;
        const b = basename(path);
        if (b === bin || b.startsWith(bin + '.') || b.startsWith(bin + '-')) return `/proc/${pid}/root${path}`;
      }
    } catch {
      /* not there: the ordinary lookup */
    }
  }
  return resolveUsdtBinary(bin);
}

/**
 * The attach points of a usdt spec's parts (binary, provider glob or undefined, name glob). Throws a plain
 * Error with bpftrace's reason (the caller adds the location).
 */
export function expandUsdt(bin: string, provider: string | undefined, name: string, written: string, match: (glob: string, s: string) => boolean, pid?: number): UsdtPoint[] {
  const path = usdtBinaryPath(bin, pid);
  const found = readUsdtNotes(readFileSync(path));
  if (found.notes.length && found.arch !== hostArch()) throw new Error(`${path} is for ELF machine ${found.machine}, not this ${process.arch} host`);
  const groups = new Map<string, UsdtPoint>();
  for (const n of found.notes) {
    if (provider !== undefined && !match(provider, n.provider)) continue;
    if (!match(name, n.name)) continue;
    const key = `${n.provider}\0${n.name}\0${n.args}`;
    let g = groups.get(key);
    if (!g) {
      const args = parseUsdtArgs(n.args, found.arch, `${path}:${n.provider}:${n.name}`);
      groups.set(key, (g = { kind: 'usdt', name: `usdt:${written}:${n.provider}:${n.name}`, path, provider: n.provider, probe: n.name, spec: n.args, args, sites: [] }));
    }
    g.sites.push({ fileOffset: n.fileOffset, semaphoreOffset: n.semaphoreOffset });
  }
  return [...groups.values()];
}

/** Attach `prog` to every site of `p` (only in `pid` when given). Throws KernelError; nothing stays attached then. */
export function attachUsdtPoint(prog: KernelProgram, p: UsdtPoint, pid?: number): PerfEventLink[] {
  const links: PerfEventLink[] = [];
  try {
    for (const s of p.sites) {
      const target = `${p.path}:${p.provider}:${p.probe}+0x${s.fileOffset.toString(16)}`;
      links.push(attachUprobeAt(prog, { path: p.path, offset: s.fileOffset, refCtrOffset: s.semaphoreOffset, pid, kind: 'usdt', target }));
    }
  } catch (e) {
    for (const l of links) void l.closeAsync();
    throw e;
  }
  return links;
}
