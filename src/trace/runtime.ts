/**
 * Running a compiled script against the kernel: create maps, load programs, attach every probe, run BEGIN,
 * stream events (printf text, print/clear/zero of maps) until exit() / the abort signal / the child command's
 * end / the traced pid's end, then detach, run END and render every map in bpftrace's format.
 * Output goes to the caller's `write` callback; nothing is printed here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { KernelError } from '../errors.js';
import { features } from '../kernel/features/index.js';
import { KernelMap } from '../kernel/maps/map.js';
import { KernelProgram } from '../kernel/load/program.js';
import { attachKprobe } from '../kernel/link/kprobe.js';
import { attachPerfEvent } from '../kernel/link/perf-event.js';
import { attachRawTracepoint } from '../kernel/link/raw-tracepoint.js';
import { attachTracepoint } from '../kernel/link/tracepoint.js';
import { attachUprobe } from '../kernel/link/uprobe.js';
import { closeLinks, type Link } from '../kernel/link/link.js';
import { RingBuffer } from '../kernel/ringbuf/reader.js';
import { waitBlockedInRead } from '../kernel/sys/fs.js';
import { EVENTS_MAP, EventKind, GLOBALS_MAP, GLOBAL_CPID, GLOBAL_START, USTACK_PID_MAP, stackMapRef } from './codegen.js';
import type { CompiledProbe, CompiledScript } from './compile.js';
import { formatMap, mapJson, valueStr, type PrintOptions, type RawEntry, type StackResolver } from './output.js';
import { formatPrintf } from './printf-format.js';
import { stackText } from './symbols.js';
import { attachUsdtPoint } from './usdt.js';
import { loadCompiledProbe } from './load.js';
import { JOIN_HEADER, JoinFlag, STACK_MAX, STRLEN, isStringLike, tySize, type MapInfo } from './types.js';
import { strftime } from './strftime.js';

/** How to run a script. */
export interface RunOptions {
  /** Receives all output text (stdout of bpftrace), in order. */
  write: (text: string) => void;
  /** Output format: bpftrace's text (default) or JSON lines (`-f json`-like). */
  format?: 'text' | 'json';
  /** Stop (like Ctrl-C): maps are printed and everything is cleaned up. */
  signal?: AbortSignal;
  /** `-p PID`: uprobes only in this process; stop when it exits. */
  pid?: number;
  /** `-c CMD`: run this command (through /bin/sh) once probes are attached; stop when it exits. */
  command?: string;
  /** stdio of the child command (default 'inherit'). */
  childStdio?: 'inherit' | 'ignore' | 'pipe';
  /** Receives error text bpftrace prints on stderr (cat() of a missing file, system() commands' stderr). */
  stderr?: (text: string) => void;
  /** Called once every probe is attached and BEGIN has run (tests use it to trigger events). */
  onAttached?: () => void;
  /** Called with the child process right after it starts (tests use it). */
  onChild?: (child: ChildProcess) => void;
  /**
   * Receives maps instead of their text/JSON rendering (for print() and at exit): the script's map info, the raw
   * per-CPU entries, and a reader of stack-id frames valid only during the call (tools in src/tools use it).
   */
  mapSink?: (info: MapInfo, entries: RawEntry[], frames: StackFrames, when: 'print' | 'exit') => void;
  /** Receives join() results instead of their text line (tools in src/tools use it: elements may hold spaces). */
  joinSink?: (j: JoinResult) => void;
}

/** One join() as it happened in the kernel. */
export interface JoinResult {
  /** Every element read (bpftrace's text stops at the first empty one; these do not). */
  args: string[];
  /** The delimiter the script gave (default " "). */
  delim: string;
  /** Process and thread that ran the probe. */
  pid: number;
  tid: number;
  /** More than 16 elements, an element cut to 1023 bytes, or a read fault (`args` is then partial). */
  more: boolean;
  truncated: boolean;
  fault: boolean;
}

/** Decode a join record (see JOIN_HEADER). */
export function decodeJoin(b: Buffer, delims: string[]): JoinResult {
  const pidTgid = b.readBigUInt64LE(8);
  const count = b.readUInt32LE(16);
  const flags = b.readUInt32LE(20);
  const args: string[] = [];
  let off = JOIN_HEADER;
  for (let i = 0; i < count && off < b.length; i++) {
    let z = b.indexOf(0, off);
    if (z < 0) z = b.length;
    args.push(b.subarray(off, z).toString('latin1'));
    off = z + 1;
  }
  return {
    args,
    delim: delims[b.readUInt32LE(4)] ?? ' ',
    pid: Number(pidTgid >> 32n),
    tid: Number(pidTgid & 0xffffffffn),
    more: (flags & JoinFlag.MORE) !== 0,
    truncated: (flags & JoinFlag.TRUNCATED) !== 0,
    fault: (flags & JoinFlag.FAULT) !== 0,
  };
}

/** bpftrace's text of a join: the elements up to the first empty one, joined by the delimiter. */
export function joinText(j: JoinResult): string {
  const end = j.args.indexOf('');
  return (end < 0 ? j.args : j.args.slice(0, end)).join(j.delim);
}

/** Frame addresses of a kstack/ustack id (innermost first; empty when the id is unknown); `limit`: of `kstack(N)`. */
export type StackFrames = (id: bigint, user: boolean, limit?: number) => bigint[];

/** How the run ended. */
export interface RunResult {
  reason: 'exit' | 'signal' | 'child-exited' | 'pid-exited';
  /** Child exit code (with `command`). */
  childExitCode?: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Attach one compiled probe (not BEGIN/END). */
function attach(p: CompiledProbe, prog: KernelProgram, pid: number | undefined): Link | Link[] {
  const ap = p.ap;
  switch (ap.kind) {
    case 'usdt':
      return attachUsdtPoint(prog, ap, pid);
    case 'tracepoint':
      return attachTracepoint(prog, ap.category, ap.event);
    case 'rawtracepoint':
      return attachRawTracepoint(prog, ap.event);
    case 'uprobe':
    case 'uretprobe':
      return attachUprobe(prog, { binary: ap.binary, symbol: ap.func, retprobe: ap.kind === 'uretprobe', pid });
    case 'kprobe':
    case 'kretprobe': {
      const f = features.kprobes();
      if (!f.ok) throw new KernelError('attach', 95, 'EOPNOTSUPP', { detail: ap.name, hint: f.reason });
      return attachKprobe(prog, ap.func, { retprobe: ap.kind === 'kretprobe' });
    }
    case 'interval':
      return attachPerfEvent(prog, { period: ap.periodNs, cpus: [0] });
    case 'profile':
      return attachPerfEvent(prog, { frequency: ap.hz });
    case 'software':
      return attachPerfEvent(prog, { type: ap.type, config: ap.config, period: ap.count });
    case 'hardware': {
      const f = features.hardwarePerfEvents();
      if (!f.ok) throw new KernelError('attach', 2, 'ENOENT', { detail: ap.name, hint: f.reason });
      return attachPerfEvent(prog, { type: ap.type, config: ap.config, period: ap.count });
    }
  }
  throw new KernelError('attach', 22, 'EINVAL', { detail: ap.name });
}

/** Run a compiled script to completion. Throws KernelError when loading or attaching fails (after cleanup). */
export async function runScript(c: CompiledScript, o: RunOptions): Promise<RunResult> {
  const json = o.format === 'json';
  const maps = new Map<string, KernelMap>();
  const progs: { p: CompiledProbe; prog: KernelProgram }[] = [];
  const links: Link[] = [];
  let rb: RingBuffer | undefined;
  let child: ChildProcess | undefined;
  try {
    for (const [ref, spec] of c.mapSpecs) maps.set(ref, KernelMap.create(spec));
    const globals = maps.get(GLOBALS_MAP)!;
    const gval = Buffer.alloc(16);
    gval.writeBigUInt64LE(process.hrtime.bigint(), GLOBAL_START);
    globals.update(Buffer.alloc(4), gval);
    const mapFds = Object.fromEntries([...maps].map(([k, m]) => [k, m]));
    for (const p of c.probes) {
      const prog = loadCompiledProbe(p, mapFds);
      progs.push({ p, prog });
    }

    // Events.
    let exited = false;
    let finish: ((r: RunResult['reason']) => void) | undefined;
    const done = new Promise<RunResult['reason']>((r) => (finish = r));
    const stackFrames: StackFrames = (id, user, limit) => {
      const m = maps.get(stackMapRef(user, limit));
      if (!m || id < 0n) return [];
      const k = Buffer.alloc(4);
      k.writeUInt32LE(Number(id));
      const v = m.lookup(k);
      if (!v) return [];
      const b = Buffer.from(v);
      const frames: bigint[] = [];
      for (let i = 0; i + 8 <= b.length; i += 8) {
        const a = b.readBigUInt64LE(i);
        if (a === 0n) break;
        frames.push(a);
      }
      return frames;
    };
    /** The pid that took user stack `id` (0 when unknown). */
    const ustackPid = (id: bigint, limit: number): number => {
      const m = maps.get(USTACK_PID_MAP);
      if (!m || id < 0n) return 0;
      const k = Buffer.alloc(8);
      k.writeBigUInt64LE((BigInt(limit) << 32n) | id);
      const v = m.lookup(k);
      return v ? Number(Buffer.from(v).readBigUInt64LE(0)) : 0;
    };
    // A failed stack walk (negative id) prints as nothing, like bpftrace.
    const stacks: StackResolver = (id, t, inKey) =>
      id < 0n ? '' : stackText(stackFrames(id, t.user, t.limit), t.user, { perf: t.perf, inKey, pid: t.user ? ustackPid(id, t.limit ?? STACK_MAX) : undefined });
    const readEntries = (ref: string): RawEntry[] => {
      const m = maps.get(ref)!;
      const out: RawEntry[] = [];
      for (const key of [...m.keys()]) {
        const k = new Uint8Array(key);
        const one = c.maps[Number(ref.slice(1))]!.kind === 'value' ? m.lookup(k) : undefined;
        const values = one ? [one] : m.lookupPerCpu(k);
        if (values) out.push({ key: k, values: values.map((v) => new Uint8Array(v)) });
      }
      return out;
    };
    const printMap = (i: number, when: 'print' | 'exit' = 'print', top?: PrintOptions) => {
      const info = c.maps[i]!;
      const entries = readEntries(`m${i}`);
      if (o.mapSink) return o.mapSink(info, entries, stackFrames, when);
      if (json) o.write(JSON.stringify({ type: 'map', data: mapJson(info, entries, stacks) }, (_, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n');
      else o.write(formatMap(info, entries, stacks, top));
    };
    const clearMap = (i: number, zero: boolean) => {
      const m = maps.get(`m${i}`)!;
      for (const key of [...m.keys()]) {
        if (zero) m.update(key, new Uint8Array(m.valueBufferSize));
        else m.delete(key);
      }
    };
    const onRecord = (rec: Uint8Array) => {
      if (exited) return;
      const b = Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength);
      const kind = b.readUInt32LE(0);
      const id = b.readUInt32LE(4);
      switch (kind) {
        case EventKind.PRINTF:
        case EventKind.SYSTEM:
        case EventKind.CAT: {
          const info = c.printfs[id]!;
          let off = 8;
          const args = info.args.map((t) => {
            const v = t.k === 'str' ? cstr(b, off) : isStringLike(t) || t.k === 'stack' || t.k === 'buf' ? valueStr(t, b, off, stacks) : b.readBigUInt64LE(off);
            off += tySize(t);
            return v;
          });
          const text = formatPrintf(info.parts, args);
          if (kind === EventKind.PRINTF) return o.write(json ? JSON.stringify({ type: 'printf', data: text }) + '\n' : text);
          if (kind === EventKind.SYSTEM) {
            // Like bpftrace (popen): the command's stdout is printed, its stderr passed on; the probes wait.
            const r = spawnSync('/bin/sh', ['-c', text], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'latin1', maxBuffer: 64 << 20 });
            if (r.stderr) o.stderr?.(r.stderr);
            return o.write(json ? JSON.stringify({ type: 'syscall', data: r.stdout ?? '' }) + '\n' : r.stdout ?? '');
          }
          const got = readCat(text);
          if (typeof got !== 'string') return o.stderr?.(`ERROR: failed to open file '${text}': ${got.error}\n`);
          return o.write(json ? JSON.stringify({ type: 'cat', data: got }) + '\n' : got);
        }
        case EventKind.JOIN: {
          const j = decodeJoin(b, c.joins);
          if (o.joinSink) return o.joinSink(j);
          const text = joinText(j) + '\n';
          o.write(json ? JSON.stringify({ type: 'join', data: text.slice(0, -1) }) + '\n' : text);
          return;
        }
        case EventKind.TIME: {
          // Like bpftrace: the local time when user space handles the event.
          const text = strftime(c.timeFormats[id] ?? '%H:%M:%S\n', new Date());
          return o.write(json ? JSON.stringify({ type: 'time', data: text }) + '\n' : text);
        }
        case EventKind.EXIT:
          exited = true;
          finish?.('exit');
          return;
        case EventKind.PRINT:
          return printMap(id);
        case EventKind.PRINT_TOP:
          return printMap(id, 'print', { top: Number(b.readBigUInt64LE(8)), div: Number(b.readBigUInt64LE(16)) });
        case EventKind.CLEAR:
        case EventKind.ZERO:
          return clearMap(id, kind === EventKind.ZERO);
      }
    };
    rb = new RingBuffer(maps.get(EVENTS_MAP)!);

    const n = c.attachCount;
    o.write(json ? JSON.stringify({ type: 'attached_probes', data: { probes: n } }) + '\n' : `Attaching ${n} probe${n === 1 ? '' : 's'}...\n`);

    if (o.command) {
      // The child waits for a line on fd 3 so that it starts only once every probe is attached.
      child = spawn('/bin/sh', ['-c', `read _ <&3; exec 3<&-; exec ${o.command}`], { stdio: [o.childStdio ?? 'inherit', o.childStdio ?? 'inherit', o.childStdio ?? 'inherit', 'pipe'] });
      // The shell may be killed before it reads "go" (exit() in BEGIN): ignore the reset of its control pipe.
      (child.stdio[3] as NodeJS.ReadWriteStream | null)?.on('error', () => {});
      o.onChild?.(child);
      // Attach only once the shell sits in read(): its own start-up syscalls (dash calls getpid) are not traced.
      if (child.pid) await waitBlockedInRead(child.pid, 3, 2000);
      gval.writeBigUInt64LE(BigInt(child.pid ?? 0), GLOBAL_CPID);
      globals.update(Buffer.alloc(4), gval);
    }
    const tracePid = o.pid ?? (o.command ? child?.pid : undefined);
    for (const { p, prog } of progs) {
      if (p.ap.kind === 'BEGIN' || p.ap.kind === 'END') continue;
      links.push(...[attach(p, prog, tracePid)].flat());
    }
    rb.start(onRecord);
    for (const { p, prog } of progs) if (p.ap.kind === 'BEGIN') prog.testRun({});
    rb.drain(onRecord);
    o.onAttached?.();

    let childExit: number | null | undefined;
    if (child) {
      const ch = child;
      ch.on('exit', (code) => {
        childExit = code;
        finish?.('child-exited');
      });
      (ch.stdio[3] as NodeJS.WritableStream).end('go\n');
    }
    const onAbort = () => finish?.('signal');
    if (o.signal) {
      if (o.signal.aborted) onAbort();
      else o.signal.addEventListener('abort', onAbort, { once: true });
    }
    let poll: NodeJS.Timeout | undefined;
    if (o.pid !== undefined) {
      const pid = o.pid;
      poll = setInterval(() => {
        if (!existsSync(`/proc/${pid}`)) finish?.('pid-exited');
      }, 100);
    }
    const reason = exited ? 'exit' : await done;
    if (poll) clearInterval(poll);
    o.signal?.removeEventListener('abort', onAbort);
    if (reason === 'child-exited') await sleep(5);

    // Detach, drain what the probes sent, run END, drain again, print the maps.
    await closeLinks(links.splice(0));
    rb.drain(onRecord);
    exited = false;
    for (const { p, prog } of progs) if (p.ap.kind === 'END') prog.testRun({});
    rb.drain(onRecord);
    if (!json) o.write('\n\n');
    c.maps.forEach((_, i) => printMap(i, 'exit'));
    return { reason, childExitCode: childExit };
  } finally {
    rb?.close();
    if (links.length) await closeLinks(links);
    for (const { prog } of progs) prog.close();
    for (const m of maps.values()) m.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

/** cat(): at most this many bytes of a file are printed. */
const CAT_MAX = 1 << 20;

/** The contents of a file for cat() (latin1, up to CAT_MAX bytes; device files do not hang it), or why not. */
function readCat(path: string): string | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { error: err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EACCES' ? 'Permission denied' : err.message };
  }
  try {
    const buf = Buffer.alloc(CAT_MAX);
    let n = 0;
    while (n < CAT_MAX) {
      const got = readSync(fd, buf, n, CAT_MAX - n, null);
      if (got <= 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString('latin1');
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}

function cstr(b: Buffer, off: number): string {
  const s = b.subarray(off, off + STRLEN);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('latin1');
}
