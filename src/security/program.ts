/**
 * The security programs bpfkit generates (LLVM-syntax assembly assembled by src/asm, no clang): one TRACEPOINT
 * program per syscall variant (syscalls:sys_enter_<name>), holding every rule of that variant's event unrolled
 * into comparisons. Per call: zero a 352-byte record on the stack; fill pid/tid, uid/gid, comm, ppid
 * (current->real_parent->tgid, offsets from kernel BTF), time and the syscall's arguments (paths read with
 * bpf_probe_read_user_str); then run each rule in turn. On a match (its bit in the record's mask): a kill rule
 * sends SIGKILL (bpf_send_signal), then the record is copied into a ring buffer reservation (exec records get
 * argv strings too) and submitted, or the drop counter is bumped when the ring is full. No match → nothing leaves
 * the kernel.
 *
 * Honest limits: strings are read from user memory at syscall entry (another thread can rewrite them before the
 * kernel copies them: a TOCTOU window), and are the paths as passed, not canonicalised. SIGKILL at entry does not
 * stop the syscall itself: it runs (or is interrupted) and the process dies on its way back to user space — an
 * exec'd binary never runs, but an open has happened (O_TRUNC applied) and a connect may have sent its SYN. Failing
 * the call with an errno would need bpf_override_return (kprobes) or BPF LSM, both unavailable here.
 */
import { endianness } from 'node:os';
import { assembleLlvm } from '../asm/index.js';
import { Btf } from '../btf/btf.js';
import { KernelError } from '../errors.js';
import { PseudoLd, type Insn } from '../isa/index.js';
import { HelperId } from '../isa/helpers.js';
import { MapType, ProgType } from '../isa/uapi.js';
import type { MapSpec } from '../spec/map.js';
import type { InsnReference, ObjectSpec, ProgramSpec } from '../spec/program.js';
import { ARG_LEN, ARGV_MAX, BASE_SIZE, EXEC_SIZE, FLAG_KILLED, OFF, STAT, STAT_RULES, VARIANTS, WRITE_FLAGS, type ArgSource, type Variant } from './layout.js';
import { MAX_SECURITY_RULES, PATH_MAX_CAPTURE, SECURITY_EVENTS, type NormalizedRule, type NormIds, type NormStrings } from './rules.js';

/** Map names in `map[idx:N]` order. */
export const SECURITY_MAPS = ['sec_events', 'sec_stats'] as const;
const EVENTS = 0;
const STATS = 1;

/** Byte offsets in task_struct the programs walk for the parent pid. */
export interface TaskLayout {
  realParent: number;
  tgid: number;
}

let taskCache: TaskLayout | undefined;
/** task_struct offsets of the running kernel from /sys/kernel/btf/vmlinux (cached). Throws `KernelError` without BTF. */
export function kernelTaskLayout(): TaskLayout {
  if (taskCache) return taskCache;
  let t;
  try {
    t = Btf.loadKernel().findByName('task_struct', 'struct');
  } catch (e) {
    throw new KernelError('btf', 2, 'ENOENT', { detail: '/sys/kernel/btf/vmlinux', hint: `security rules need kernel BTF for the parent pid: ${(e as Error).message}` });
  }
  if (!t || t.kind !== 'struct') throw new KernelError('btf', 2, 'ENOENT', { detail: 'task_struct', hint: 'kernel BTF has no struct task_struct' });
  const off = (name: string): number => {
    const m = t.members.find((x) => x.name === name);
    if (!m || m.bitOffset % 8) throw new KernelError('btf', 2, 'ENOENT', { detail: `task_struct.${name}`, hint: 'member missing or not byte-aligned' });
    return m.bitOffset / 8;
  };
  return (taskCache = { realParent: off('real_parent'), tgid: off('tgid') });
}

/** Options of the generator. */
export interface SecurityProgramOptions {
  /** Events of this process id are ignored (the watcher itself); undefined = none. */
  excludePid?: number;
  /** Ring buffer size in bytes (a power of two, at least a page; default 256 KiB). */
  ringBytes?: number;
  /** task_struct layout (default: from the running kernel's BTF). */
  task?: TaskLayout;
}

const LE = endianness() === 'LE';
const S = (o: number): string => `(r10 - ${BASE_SIZE - o})`;
const TMP = `(r10 - ${BASE_SIZE + 8})`;
const s32 = (n: number): number => n | 0;

/** Reads `n` bytes of `b` from `at` as an unsigned host-order integer (missing bytes are 0). */
function chunk(b: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) {
    const byte = BigInt(b[at + i] ?? 0);
    v |= LE ? byte << BigInt(8 * i) : byte << BigInt(8 * (n - 1 - i));
  }
  return v;
}

/** Unique labels within one program. */
class Labels {
  private n = 0;
  next(p: string): string {
    return `${p}_${this.n++}`;
  }
}

/** Compare `len` bytes at record offset `base` with `bytes` (zero beyond its end); mismatch → `fail`. */
function compareBytes(bytes: Uint8Array, len: number, base: number, fail: string): string[] {
  const out: string[] = [];
  let o = 0;
  for (const size of [8, 4, 2, 1] as const) {
    while (len - o >= size) {
      const ty = `u${size * 8}`;
      out.push(`  r1 = *(${ty} *)${S(base + o)}`);
      const v = chunk(bytes, o, size);
      if (size === 8) out.push(`  r2 = 0x${v.toString(16)} ll`, `  if r1 != r2 goto ${fail}`);
      else out.push(`  if w1 != ${s32(Number(v))} goto ${fail}`);
      o += size;
      if (size !== 8) break; // at most one of each smaller size
    }
  }
  return out;
}

/** Any of the alternatives (each a code generator given its own failure label) passes; else → `fail`. */
function anyOf(alts: ((fail: string) => string[])[], fail: string, L: Labels): string[] {
  const ok = L.next('ok');
  const out: string[] = [];
  alts.forEach((alt, j) => {
    const next = j === alts.length - 1 ? fail : L.next('alt');
    out.push(...alt(next), `  goto ${ok}`);
    if (next !== fail) out.push(`${next}:`);
  });
  out.push(`${ok}:`);
  return out;
}

function stringCond(m: NormStrings, fail: string, L: Labels): string[] {
  const alts = [
    ...m.exact.map((b) => (f: string) => compareBytes(b, b.length + 1, OFF.str, f)),
    ...m.prefix.map((b) => (f: string) => compareBytes(b, b.length, OFF.str, f)),
  ];
  return anyOf(alts, fail, L);
}

/** u32 (low half) at record offset `at` in / not in the list. */
function idCond(m: NormIds, at: number, fail: string, L: Labels): string[] {
  const out = [`  r1 = *(u32 *)${S(at)}`];
  if (m.not) {
    for (const v of m.values) out.push(`  if w1 == ${s32(v)} goto ${fail}`);
    return out;
  }
  const ok = L.next('in');
  for (const v of m.values) out.push(`  if w1 == ${s32(v)} goto ${ok}`);
  out.push(`  goto ${fail}`, `${ok}:`);
  return out;
}

function hostBytes32(addrHostOrder: number): number {
  // The address as the kernel holds it (network byte order in memory), read back as a host-order u32.
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, addrHostOrder >>> 0, false);
  return Number(chunk(b, 0, 4));
}

/** Code of one rule: every condition (a miss jumps past the rule), then count the hit and emit. */
function ruleCode(r: NormalizedRule, v: Variant, L: Labels): string[] {
  const fail = L.next(`rule${r.index}_miss`);
  const out: string[] = [`  ; rule #${r.index} ${r.name.replace(/[\n;]/g, ' ')}`];
  const ids: [NormIds | undefined, number][] = [
    [r.pid, OFF.pid],
    [r.ppid, OFF.ppid],
    [r.uid, OFF.uid],
    [r.gid, OFF.gid],
    [r.targetPid, OFF.a0],
    [r.targetUid, OFF.a0],
    [r.signal, OFF.a1],
    [r.request, OFF.a1],
  ];
  for (const [m, at] of ids) if (m) out.push(...idCond(m, at, fail, L));
  if (r.comm) out.push(...anyOf(r.comm.map((b) => (f: string) => compareBytes(b, 16, OFF.comm, f)), fail, L));
  if (r.access) {
    out.push(`  r1 = *(u64 *)${S(OFF.a0)}`, `  r1 &= ${WRITE_FLAGS}`, `  if r1 ${r.access === 'write' ? '==' : '!='} 0 goto ${fail}`);
  }
  if (r.dst) {
    out.push(
      ...anyOf(
        r.dst.map((c) => (f: string) => {
          const mask = c.len === 0 ? 0 : (0xffffffff << (32 - c.len)) >>> 0;
          return [`  r1 = *(u16 *)${S(OFF.family)}`, `  if r1 != 2 goto ${f}`, `  r1 = *(u32 *)${S(OFF.addr4)}`, `  w1 &= ${s32(hostBytes32(mask))}`, `  if w1 != ${s32(hostBytes32(c.addr))} goto ${f}`];
        }),
        fail,
        L,
      ),
    );
  }
  if (r.port) {
    const fam = L.next('fam');
    out.push(`  r1 = *(u16 *)${S(OFF.family)}`, `  if r1 == 2 goto ${fam}`, `  if r1 == 10 goto ${fam}`, `  goto ${fail}`, `${fam}:`);
    out.push(`  r1 = *(u16 *)${S(OFF.port)}`, '  r1 = be16 r1');
    out.push(...anyOf(r.port.map(([lo, hi]) => (f: string) => (lo === hi ? [`  if r1 != ${lo} goto ${f}`] : [`  if r1 < ${lo} goto ${f}`, `  if r1 > ${hi} goto ${f}`])), fail, L));
  }
  // Strings last: the most expensive comparisons run only when everything else matched.
  if (r.binary) out.push(...stringCond(r.binary, fail, L));
  if (r.path) out.push(...stringCond(r.path, fail, L));
  out.push(...bump(STAT_RULES + r.index, L), ...emitCode(r, v, fail, L), `${fail}:`);
  return out;
}

/**
 * A match: record the rule's bit and the time, SIGKILL for kill rules, then reserve, fill and submit a ring buffer
 * record (or count a drop). Each rule emits its own record: no accumulated mask or flag is carried in registers,
 * so the verifier's states converge after every rule (a u64 mask of constants would be tracked precisely and
 * double the states at every rule).
 */
function emitCode(r: NormalizedRule, v: Variant, done: string, L: Labels): string[] {
  const out = [`  r1 = 0x${(1n << BigInt(r.index)).toString(16)} ll`, `  *(u64 *)${S(OFF.mask)} = r1`, `  *(u32 *)${S(OFF.flags)} = 0`, `  call ${HelperId.ktime_get_ns}`, `  *(u64 *)${S(OFF.ts)} = r0`];
  const emit = L.next('emit');
  if (r.action === 'kill') {
    const killed = L.next('killed');
    out.push(
      '  r1 = 9',
      `  call ${HelperId.send_signal}`,
      `  if r0 == 0 goto ${killed}`,
      ...bump(STAT.killFailed, L),
      `  goto ${emit}`,
      `${killed}:`,
      `  *(u32 *)${S(OFF.flags)} = ${FLAG_KILLED}`,
      ...bump(STAT.kills, L),
    );
  }
  const size = v.argv !== undefined ? EXEC_SIZE : BASE_SIZE;
  const reserved = L.next('reserved');
  out.push(`${emit}:`, `  r1 = map[idx:${EVENTS}]`, `  r2 = ${size}`, '  r3 = 0', `  call ${HelperId.ringbuf_reserve}`, `  if r0 != 0 goto ${reserved}`, ...bump(STAT.dropped, L), `  goto ${done}`, `${reserved}:`, '  r7 = r0');
  for (let o = 0; o < BASE_SIZE; o += 8) out.push(`  r1 = *(u64 *)${S(o)}`, `  *(u64 *)(r7 + ${o}) = r1`);
  if (v.argv !== undefined) {
    const argvDone = L.next('argv_done');
    out.push(argLoad('r8', v.argv), `  if r8 == 0 goto ${argvDone}`);
    for (let k = 0; k < ARGV_MAX; k++) {
      out.push(
        '  r1 = r10',
        `  r1 += -${BASE_SIZE + 8}`,
        '  r2 = 8',
        '  r3 = r8',
        `  r3 += ${8 * k}`,
        `  call ${HelperId.probe_read_user}`,
        `  if r0 != 0 goto ${argvDone}`,
        `  r3 = *(u64 *)${TMP}`,
        `  if r3 == 0 goto ${argvDone}`,
        '  r1 = r7',
        `  r1 += ${BASE_SIZE + k * ARG_LEN}`,
        `  r2 = ${ARG_LEN}`,
        `  call ${HelperId.probe_read_user_str}`,
        `  *(u64 *)(r7 + ${OFF.a3}) = ${k + 1}`,
      );
    }
    out.push(`${argvDone}:`);
  }
  out.push('  r1 = r7', '  r2 = 0', `  call ${HelperId.ringbuf_submit}`, ...bump(STAT.emitted, L));
  return out;
}

/** Atomically add 1 to counter `slot`. Clobbers r0-r5. */
function bump(slot: number, L: Labels): string[] {
  const done = L.next('bumped');
  return [
    `  *(u32 *)${TMP} = ${slot}`,
    `  r1 = map[idx:${STATS}]`,
    '  r2 = r10',
    `  r2 += -${BASE_SIZE + 8}`,
    `  call ${HelperId.map_lookup_elem}`,
    `  if r0 == 0 goto ${done}`,
    '  r1 = 1',
    '  lock *(u64 *)(r0 + 0) += r1',
    `${done}:`,
  ];
}

const argLoad = (reg: string, n: number): string => `  ${reg} = *(u64 *)(r6 + ${16 + 8 * n})`;

function slotFill(src: ArgSource | undefined, at: number): string[] {
  if (!src) return [];
  if ('const' in src) return [`  r1 = ${src.const}`, `  *(u64 *)${S(at)} = r1`];
  if ('arg' in src) return [argLoad('r1', src.arg), `  *(u64 *)${S(at)} = r1`];
  return ['  r1 = r10', `  r1 += -${BASE_SIZE - at}`, '  r2 = 8', argLoad('r3', src.userU64), `  call ${HelperId.probe_read_user}`];
}

/** The assembly of the program for one variant and its event's rules. */
export function variantSource(v: Variant, rules: readonly NormalizedRule[], opts: SecurityProgramOptions & { task: TaskLayout }): string {
  const L = new Labels();
  const kind = SECURITY_EVENTS.indexOf(v.event) + 1;
  const variant = VARIANTS.indexOf(v);
  const out: string[] = ['  r6 = r1'];
  for (let o = 0; o < BASE_SIZE; o += 8) out.push(`  *(u64 *)${S(o)} = 0`);
  out.push(`  call ${HelperId.get_current_pid_tgid}`, `  *(u32 *)${S(OFF.tid)} = w0`, '  r0 >>= 32', `  *(u32 *)${S(OFF.pid)} = w0`);
  if (opts.excludePid !== undefined) out.push(`  if w0 != ${s32(opts.excludePid)} goto not_self`, '  r0 = 0', '  exit', 'not_self:');
  out.push(`  call ${HelperId.get_current_uid_gid}`, `  *(u32 *)${S(OFF.uid)} = w0`, '  r0 >>= 32', `  *(u32 *)${S(OFF.gid)} = w0`);
  out.push('  r1 = r10', `  r1 += -${BASE_SIZE - OFF.comm}`, '  r2 = 16', `  call ${HelperId.get_current_comm}`);
  out.push(
    `  call ${HelperId.get_current_task}`,
    '  r3 = r0',
    `  r3 += ${opts.task.realParent}`,
    '  r1 = r10',
    `  r1 += -${BASE_SIZE + 8}`,
    '  r2 = 8',
    `  call ${HelperId.probe_read_kernel}`,
    `  r3 = *(u64 *)${TMP}`,
    `  r3 += ${opts.task.tgid}`,
    '  r1 = r10',
    `  r1 += -${BASE_SIZE - OFF.ppid}`,
    '  r2 = 4',
    `  call ${HelperId.probe_read_kernel}`,
  );
  out.push(`  *(u32 *)${S(OFF.kind)} = ${kind}`, `  *(u32 *)${S(OFF.variant)} = ${variant}`);
  out.push(...slotFill(v.a0, OFF.a0), ...slotFill(v.a1, OFF.a1));
  if (v.str !== undefined) out.push('  r1 = r10', `  r1 += -${BASE_SIZE - OFF.str}`, `  r2 = ${PATH_MAX_CAPTURE}`, argLoad('r3', v.str), `  call ${HelperId.probe_read_user_str}`);
  if (v.sockaddr) {
    const sa = v.sockaddr;
    out.push(
      argLoad('r1', sa.fd),
      `  *(u32 *)${S(OFF.connFd)} = w1`,
      argLoad('r2', sa.len),
      '  if r2 < 2 goto sa_done',
      '  if r2 <= 28 goto sa_len',
      '  r2 = 28',
      'sa_len:',
      '  r1 = r10',
      `  r1 += -${BASE_SIZE - OFF.family}`,
      argLoad('r3', sa.ptr),
      `  call ${HelperId.probe_read_user}`,
      'sa_done:',
    );
  }
  for (const r of rules) out.push(...ruleCode(r, v, L));
  out.push('  r0 = 0', '  exit');
  return out.join('\n') + '\n';
}

/** Program name of a variant (kernel names are at most 15 characters). */
export const programName = (v: Variant): string => `sec_${v.syscall}`.slice(0, 15);

/** One generated program and where it attaches. */
export interface SecurityProgram {
  variant: Variant;
  spec: ProgramSpec;
  source: string;
}

/** The programs (one per syscall of each event some rule watches) and maps of a rule set. */
export function compileSecurity(rules: readonly NormalizedRule[], opts: SecurityProgramOptions = {}): { programs: SecurityProgram[]; maps: MapSpec[]; object: ObjectSpec } {
  const task = opts.task ?? kernelTaskLayout();
  const ringBytes = opts.ringBytes ?? 256 * 1024;
  const programs: SecurityProgram[] = [];
  for (const v of VARIANTS) {
    const mine = rules.filter((r) => r.event === v.event);
    if (!mine.length) continue;
    const source = variantSource(v, mine, { ...opts, task });
    const { insns } = assembleLlvm(source, `security-${v.syscall}.s`);
    const references: InsnReference[] = [];
    insns.forEach((i: Insn, pc) => {
      if (i.code === 0x18 && i.src === PseudoLd.MAP_IDX) references.push({ kind: 'map', pc, map: SECURITY_MAPS[i.imm]!, value: false });
    });
    const spec: ProgramSpec = {
      name: programName(v),
      section: `tracepoint/syscalls/sys_enter_${v.syscall}`,
      type: ProgType.TRACEPOINT,
      attachTo: `syscalls/sys_enter_${v.syscall}`,
      insns,
      references,
      license: 'GPL',
    };
    programs.push({ variant: v, spec, source });
  }
  const maps: MapSpec[] = [
    { name: 'sec_events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: ringBytes, flags: 0 },
    { name: 'sec_stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STAT_RULES + MAX_SECURITY_RULES, flags: 0 },
  ];
  return { programs, maps, object: { programs: programs.map((p) => p.spec), maps, license: 'GPL' } };
}
