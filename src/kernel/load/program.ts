/**
 * Kernel programs: BPF_PROG_LOAD from a `ProgramSpec` (license, kernel version, expected attach type, the
 * vmlinux BTF id of tp_btf / fentry / LSM / iter targets, BTF func_info / line_info, verifier log with
 * retry-on-ENOSPC), BPF_PROG_TEST_RUN, info, pinning. A rejected program throws `KernelError` carrying the
 * verifier log, the failing instruction and its source line, and the log's last lines in the message.
 */
import { release } from 'node:os';
import { encodeProgram, type Insn } from '../../isa/insn.js';
import { AttachType, ProgType } from '../../isa/uapi.js';
import type { ProgramSpec } from '../../spec/program.js';
import { Attr, bpfAttr, bpfRaw, textBeforeNul } from '../sys/bpf.js';
import { BpfCmd } from '../../isa/uapi.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { progInfo, type ProgInfo } from '../info/info.js';
import { openById } from '../info/ids.js';
import { getPinned } from '../pin.js';
import { KernelObject } from '../object.js';
import { progTypeName } from '../../isa/names.js';
import { attachBtfId } from './kernel-btf.js';
import { resolveReferences, type MapFds } from './relocate.js';
import { formatSource, lastLogLines, parseVerifierLog } from './verifier-log.js';
import { sanitizeName } from '../maps/map.js';

/** func_info / line_info as the ELF loader produces them (ProgramSpec.btfExt), in instruction units. */
export interface ProgramBtfExtLike {
  funcInfo: { insnOff: number; typeId: number }[];
  lineInfo: { insnOff: number; fileNameOff: number; lineOff: number; lineCol: number }[];
}

/** Options for `KernelProgram.load`. */
export interface ProgramLoadOptions {
  /** Map fds by name for the spec's references (a Collection passes its maps). */
  maps?: MapFds | Record<string, { fd: number }>;
  /** Verifier log level for a successful load (0: no log; failures are always retried with a log). */
  logLevel?: number;
  /** Initial log buffer size in bytes (default 1 MiB; grown on ENOSPC up to 256 MiB). */
  logSize?: number;
  /** The object's BTF fd, enabling func_info / line_info. */
  btfFd?: number;
  /** Override the BTF attach target id (otherwise resolved from `spec.attachTo` for BTF program types). */
  attachBtfId?: number;
  attachBtfObjFd?: number;
  /** freplace / fentry on another BPF program: its fd. */
  attachProgFd?: number;
  /** Offload / XDP device-bound programs. */
  ifindex?: number;
  /** Replace the program name. */
  name?: string;
}

/** BPF_PROG_TEST_RUN input. */
export interface TestRunOptions {
  /** Packet data (XDP, skb programs...). */
  data?: Uint8Array;
  /** Output buffer size (default data length + 256). */
  dataSizeOut?: number;
  /** Context in (e.g. `struct __sk_buff`, `struct xdp_md`, raw tp args). */
  ctx?: Uint8Array;
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** BPF_PROG_TEST_RUN output. */
export interface TestRunResult {
  retval: number;
  /** Average duration per run in ns (the kernel's figure). */
  duration: number;
  data?: Uint8Array;
  ctx?: Uint8Array;
}

/** Program types whose BPF_PROG_TEST_RUN reads a context but writes none back (no ctx_out). */
const NO_CTX_OUT_TYPES: ReadonlySet<number> = new Set([ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE, ProgType.TRACING, ProgType.SYSCALL]);

/** Program types whose attach target is a vmlinux BTF id. */
const BTF_TARGET_TYPES: ReadonlySet<number> = new Set([ProgType.TRACING, ProgType.LSM]);

/** KERNEL_VERSION(a, b, c) of the running kernel (what old kprobe programs must pass). */
export function runningKernelVersion(): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release());
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

function encodeFuncInfo(ext: ProgramBtfExtLike): { func: Buffer; line: Buffer } {
  const func = Buffer.alloc(ext.funcInfo.length * 8);
  ext.funcInfo.forEach((f, i) => {
    func.writeUInt32LE(f.insnOff, i * 8);
    func.writeUInt32LE(f.typeId, i * 8 + 4);
  });
  const line = Buffer.alloc(ext.lineInfo.length * 16);
  ext.lineInfo.forEach((l, i) => {
    line.writeUInt32LE(l.insnOff, i * 16);
    line.writeUInt32LE(l.fileNameOff, i * 16 + 4);
    line.writeUInt32LE(l.lineOff, i * 16 + 8);
    line.writeUInt32LE(l.lineCol >>> 0, i * 16 + 12);
  });
  return { func, line };
}

function isBtfExt(x: unknown): x is ProgramBtfExtLike {
  return !!x && typeof x === 'object' && Array.isArray((x as ProgramBtfExtLike).funcInfo) && Array.isArray((x as ProgramBtfExtLike).lineInfo);
}

/** A loaded kernel program. */
export class KernelProgram extends KernelObject {
  readonly name: string;
  readonly type: number;
  readonly expectedAttachType?: number;
  /** The spec it was loaded from (section, attach target, source lines). */
  readonly spec?: ProgramSpec;
  /** The verifier log of a successful load when `logLevel` > 0. */
  readonly verifierLog?: string;

  constructor(fd: FdRef, shape: { name: string; type: number; expectedAttachType?: number; spec?: ProgramSpec; verifierLog?: string; id?: number }) {
    super(fd, shape.id);
    this.name = shape.name;
    this.type = shape.type;
    this.expectedAttachType = shape.expectedAttachType;
    this.spec = shape.spec;
    this.verifierLog = shape.verifierLog;
  }

  /**
   * Load a program (BPF_PROG_LOAD). References (maps, ksyms) are resolved through `opts.maps`.
   * Throws `KernelError('PROG_LOAD', errno)`: EACCES/EINVAL with the verifier log, failing insn and source line.
   */
  static load(spec: ProgramSpec, opts: ProgramLoadOptions = {}): KernelProgram {
    const maps = opts.maps;
    const mapFd: MapFds = typeof maps === 'function' ? maps : (n) => (maps as Record<string, { fd: number }> | undefined)?.[n]?.fd;
    const insns: Insn[] = spec.references.length ? resolveReferences(spec, mapFd) : spec.insns;
    const code = Buffer.from(encodeProgram(insns));
    const license = spec.license || 'GPL';
    const name = opts.name ?? spec.name;

    let btfId = opts.attachBtfId;
    if (btfId === undefined && BTF_TARGET_TYPES.has(spec.type) && spec.attachTo && opts.attachProgFd === undefined) {
      btfId = attachBtfId(spec.expectedAttachType ?? AttachType.TRACE_FENTRY, spec.attachTo);
    }
    const ext = opts.btfFd !== undefined && isBtfExt(spec.btfExt) ? encodeFuncInfo(spec.btfExt) : undefined;

    const attr = new Attr('PROG_LOAD');
    const fill = (logLevel: number, log: Buffer | undefined) => {
      attr.zero().setAll({
        prog_type: spec.type,
        insn_cnt: insns.length,
        insns: code,
        license,
        kern_version: spec.kernelVersion ?? (spec.type === ProgType.KPROBE ? runningKernelVersion() : 0),
        prog_flags: spec.flags ?? 0,
        prog_name: sanitizeName(name),
        prog_ifindex: opts.ifindex,
        expected_attach_type: spec.expectedAttachType,
        attach_btf_id: btfId,
        attach_btf_obj_fd: opts.attachBtfObjFd,
        attach_prog_fd: opts.attachProgFd,
      });
      if (ext && opts.btfFd !== undefined) {
        attr.set('prog_btf_fd', opts.btfFd);
        if (ext.func.length) attr.setAll({ func_info_rec_size: 8, func_info: ext.func, func_info_cnt: ext.func.length / 8 });
        if (ext.line.length) attr.setAll({ line_info_rec_size: 16, line_info: ext.line, line_info_cnt: ext.line.length / 16 });
      }
      if (log && logLevel > 0) attr.setAll({ log_level: logLevel, log_size: log.length, log_buf: log });
    };

    const wanted = opts.logLevel ?? 0;
    let logSize = opts.logSize ?? 1 << 20;
    let log: Buffer | undefined = wanted > 0 ? Buffer.alloc(logSize) : undefined;
    fill(wanted, log);
    let r = bpfRaw(BpfCmd.PROG_LOAD, attr.addr, attr.size);
    const logText = () => (log ? textBeforeNul(log) : '');
    if (r >= 0) {
      return new KernelProgram(new FdRef(r, `program ${name}`), {
        name,
        type: spec.type,
        expectedAttachType: spec.expectedAttachType,
        spec,
        verifierLog: wanted > 0 ? logText() : undefined,
      });
    }
    // Failed: reload with a log (growing it while the kernel says ENOSPC) to explain why.
    let errno = -r;
    if (!(log && errno !== 28)) {
      log ??= Buffer.alloc(logSize);
      for (let attempt = 0; attempt < 8; attempt++) {
        if (attempt > 0 || errno === 28) {
          if (log.length >= 1 << 28) break;
          logSize = Math.min(Math.max(attr.get('log_true_size') + 1, log.length * 4), 1 << 28);
          log = Buffer.alloc(logSize);
        }
        fill(Math.max(wanted, 1), log);
        r = bpfRaw(BpfCmd.PROG_LOAD, attr.addr, attr.size);
        if (r >= 0) {
          // Loads with a log but not without (log-level-dependent limits): accept it.
          return new KernelProgram(new FdRef(r, `program ${name}`), { name, type: spec.type, expectedAttachType: spec.expectedAttachType, spec, verifierLog: logText() });
        }
        errno = -r;
        if (errno !== 28) break;
      }
    }
    const text = logText();
    const failure = text ? parseVerifierLog(text, spec.lines) : undefined;
    const parts = [`program ${name} (${progTypeName(spec.type)})`];
    if (failure?.pc !== undefined) parts.push(`insn ${failure.pc}`);
    if (failure?.source) parts.push(`source ${formatSource(failure.source)}`);
    const tail = text ? lastLogLines(text, 3).join(' | ') : '';
    if (tail) parts.push(tail);
    throw kernelError('PROG_LOAD', errno, { log: text || undefined, detail: parts.join(': ') });
  }

  /** Take ownership of a program fd (shape read from the kernel). */
  static fromFd(fd: number | FdRef): KernelProgram {
    const ref = typeof fd === 'number' ? new FdRef(fd, 'program') : fd;
    const i = progInfo(ref.fd);
    return new KernelProgram(ref, { name: i.name, type: i.type, id: i.id });
  }

  /** Open a program by kernel id. */
  static fromId(id: number): KernelProgram {
    return KernelProgram.fromFd(openById('prog', id));
  }

  /** Open a pinned program. */
  static fromPin(path: string): KernelProgram {
    const p = KernelProgram.fromFd(getPinned(path));
    p.pinnedAt = path;
    return p;
  }

  /** What the kernel says about this program (`xlated: true` for the translated instructions). */
  info(opts: { xlated?: boolean } = {}): ProgInfo {
    return progInfo(this.fd, opts);
  }

  /**
   * Run the program in the kernel on test input (BPF_PROG_TEST_RUN). Throws `KernelError('PROG_TEST_RUN')`
   * (ENOTSUPP for program types without test runs, EINVAL for bad input sizes).
   */
  testRun(o: TestRunOptions = {}): TestRunResult {
    const dataOut = o.data ? Buffer.alloc(o.dataSizeOut ?? o.data.length + 256) : undefined;
    // raw_tp, tracing and syscall test runs take a ctx in but no ctx_out (EINVAL): none unless a size is given.
    const wantCtxOut = o.ctxSizeOut !== undefined ? Boolean(o.ctx || o.ctxSizeOut) : Boolean(o.ctx) && !NO_CTX_OUT_TYPES.has(this.type);
    const ctxOut = wantCtxOut ? Buffer.alloc(o.ctxSizeOut ?? o.ctx!.length) : undefined;
    const a = new Attr('TEST_RUN').setAll({
      prog_fd: this.fd,
      data_size_in: o.data?.length,
      data_in: o.data && o.data.length ? o.data : undefined,
      data_size_out: dataOut?.length,
      data_out: dataOut,
      ctx_size_in: o.ctx?.length,
      ctx_in: o.ctx && o.ctx.length ? o.ctx : undefined,
      ctx_size_out: ctxOut?.length,
      ctx_out: ctxOut,
      repeat: o.repeat,
      flags: o.flags,
      cpu: o.cpu,
      batch_size: o.batchSize,
    });
    bpfAttr('PROG_TEST_RUN', a, { detail: `program ${this.name}` });
    const res: TestRunResult = { retval: a.buf.readInt32LE(4), duration: a.get('duration') };
    if (dataOut) res.data = new Uint8Array(dataOut.subarray(0, Math.min(a.get('data_size_out'), dataOut.length)));
    if (ctxOut) res.ctx = new Uint8Array(ctxOut.subarray(0, Math.min(a.get('ctx_size_out'), ctxOut.length)));
    return res;
  }

  /** Bind a map to the program's lifetime (BPF_PROG_BIND_MAP), e.g. a metadata map no insn references. */
  bindMap(mapFd: number): void {
    const a = new Attr('PROG_BIND_MAP').setAll({ prog_fd: this.fd, map_fd: mapFd });
    bpfAttr('PROG_BIND_MAP', a);
  }

  override toString(): string {
    return `KernelProgram(${progTypeName(this.type)} ${this.name})`;
  }
}

/** Load raw instructions without a spec (tests, probes): type, insns, license and optional attach type. */
export function loadInsns(
  type: number,
  insns: Insn[],
  opts: ProgramLoadOptions & { license?: string; expectedAttachType?: number; name?: string; attachTo?: string; flags?: number } = {},
): KernelProgram {
  const spec: ProgramSpec = {
    name: opts.name ?? 'bpfkit_prog',
    section: '',
    type,
    insns,
    references: [],
    license: opts.license ?? 'GPL',
  };
  if (opts.expectedAttachType !== undefined) spec.expectedAttachType = opts.expectedAttachType;
  if (opts.attachTo !== undefined) spec.attachTo = opts.attachTo;
  if (opts.flags !== undefined) spec.flags = opts.flags;
  return KernelProgram.load(spec, opts);
}

