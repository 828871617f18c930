/**
 * bpfkit's static verifier: proves a program safe the way the kernel's verifier does (control-flow checks, then
 * abstract interpretation of every path with tnums and signed/unsigned ranges, typed pointers, stack tracking,
 * helper prototypes, state pruning) and explains rejections in plain words with the instruction and source line.
 * Opt-in: nothing loads through it by default.
 *
 * Partial, by design of this first version:
 *  - Unsupported (refused with an `unsupported: ...` error, never accepted): kfuncs other than the RCU lock pair,
 *    ksym variables / BTF-typed pointers (PTR_TO_BTF_ID), helpers without a verifier prototype in src/isa/helper-kinds.ts
 *    (spin locks, timers, dynptrs, iterators, skc_to_* casts, sk_storage, kptrs...), indirect calls, program types
 *    without context rules in check-ctx.ts (socket filter, tc, XDP, cgroup skb, kprobe, tracepoint, raw tracepoint,
 *    perf event and the socket-level types have them), sockmap updates from programs, xskmap lookups.
 *  - Socket pointers (PTR_TO_SOCKET / SOCK_COMMON / TCP_SOCK and their _OR_NULL forms) are modelled: `sk` loads
 *    from the contexts, bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp and sockmap lookups acquiring a reference that
 *    bpf_sk_release must drop on every path, bpf_sk_fullsock / bpf_tcp_sock casts sharing it, bpf_get_listener_sock,
 *    and the struct bpf_sock / bpf_tcp_sock field rules (check-sock.ts).
 *  - Global (BTF linkage) functions are verified in their caller's context like static ones, which is more
 *    permissive than the kernel (it verifies them once, from their BTF argument types).
 *  - No precision/liveness tracking of stack slots: pruning is weaker than the kernel's, so large programs cost
 *    more states; the 1M processed-instruction budget is the kernel's but each instruction is slower (about 1-5 µs
 *    against the kernel's 0.5-1 µs; `npm run bench -- verifier` measures both).
 *  - Helper availability per program type is coarse (groups in src/isa/helper-kinds.ts), return values of helpers are unknown
 *    scalars (the kernel narrows a few), and `privileged: false` models only part of the unprivileged rules.
 */
import { VerifierError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import { PseudoLd, LDDW } from '../isa/opcodes.js';
import { Uapi } from '../isa/uapi.js';
import { progTypeName } from '../isa/names.js';
import type { MapSpec } from '../spec/map.js';
import type { InsnReference, SourceLine } from '../spec/program.js';
import { sconst } from './bounds.js';
import { buildCfg } from './cfg.js';
import { ctxSupported } from './check-ctx.js';
import { Reject, type Env } from './env.js';
import { explore } from './explore.js';
import { makeError } from './messages.js';
import { newFrame, type MapInfo, type VState } from './state.js';

export { describeReg } from './messages.js';
export type { MapInfo as VerifierMapInfo } from './state.js';

/** A map as the verifier needs it (a `MapSpec` or a live map both fit). */
export type MapLike = Pick<MapSpec, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'> & Partial<Pick<MapSpec, 'inner' | 'contents'>>;

/** The program to verify: a `ProgramSpec`, or bare instructions with a type. */
export interface VerifyInput {
  insns: readonly Insn[];
  type: number;
  expectedAttachType?: number;
  name?: string;
  references?: readonly InsnReference[];
  lines?: readonly (SourceLine | undefined)[];
  /** BTF func_info / line_info (`ProgramSpec.btfExt`): the kernel needs func_info for callback references. */
  btfExt?: unknown;
}

/** Options of `verify`. */
export interface VerifyOptions {
  /**
   * Maps the program references: by name (ProgramSpec references, e.g. an ObjectSpec's `maps`), or by the fd /
   * index in a raw `lddw rX, map[fd:N]` / `map[idx:N]` (record keys are numbers then). An array is indexed by
   * name and by position.
   */
  maps?: readonly MapLike[] | Readonly<Record<string | number, MapLike>>;
  /**
   * Apply the kernel's rules for a privileged loader (CAP_BPF + CAP_PERFMON, i.e. root), as bpfkit loads: pointer
   * subtraction (`data_end - data`), partial pointer copies, pointers stored to memory, variable stack offsets.
   * Default true. `false` gives the unprivileged rules (only partly modelled: the kernel adds Spectre checks).
   */
  privileged?: boolean;
  /**
   * Also refuse what the kernel lets root do although it is not clean: reading uninitialised stack (directly or
   * through a helper argument) and returning a pointer from the program. Default true; `strict: false` with
   * `privileged: true` reproduces the kernel's verdict for root.
   */
  strict?: boolean;
  /** Processed-instruction budget (default 1,000,000, the kernel's). */
  maxInsns?: number;
  /** Record the register state at every processed instruction in `log` (slow; for debugging). */
  log?: boolean;
}

/** What `verify` found. */
export interface VerifyResult {
  ok: boolean;
  /** Why the program is refused (the first failure; the exploration stops there). */
  errors: VerifierError[];
  log: string[];
  stats: { insnsProcessed: number; states: number; peakStates: number };
}

const MAP_IN_MAP: readonly number[] = [12, 13];

function toInfo(m: MapLike, cache: Map<MapLike, MapInfo>): MapInfo {
  const hit = cache.get(m);
  if (hit) return hit;
  const info: MapInfo = { name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags };
  cache.set(m, info);
  if (m.inner) info.inner = toInfo(m.inner, cache);
  const v = m.contents?.[0]?.value;
  if (m.flags & Uapi.BPF_F_RDONLY_PROG && v instanceof Uint8Array && v.length === m.valueSize) info.frozenValue = v;
  if (MAP_IN_MAP.includes(m.type) && !m.inner) delete info.inner;
  return info;
}

function resolveMaps(prog: VerifyInput, opts: VerifyOptions): Map<number, { map: MapInfo; valueOff?: number }> {
  const out = new Map<number, { map: MapInfo; valueOff?: number }>();
  const cache = new Map<MapLike, MapInfo>();
  const byKey = new Map<string, MapLike>();
  if (Array.isArray(opts.maps)) {
    (opts.maps as readonly MapLike[]).forEach((m, idx) => {
      byKey.set(m.name, m);
      byKey.set(`#${idx}`, m);
    });
  } else if (opts.maps) {
    for (const [k, m] of Object.entries(opts.maps as Record<string, MapLike>)) byKey.set(/^\d+$/.test(k) ? `#${k}` : k, m);
  }
  const byRef = new Set<number>();
  for (const r of prog.references ?? []) {
    if (r.kind !== 'map' && r.kind !== 'kconfig') continue;
    const name = r.kind === 'map' ? r.map : '.kconfig';
    const m = byKey.get(name);
    byRef.add(r.pc);
    if (!m) continue;
    const i = prog.insns[r.pc]!;
    if (r.kind === 'kconfig') out.set(r.pc, { map: toInfo(m, cache), valueOff: i.src === PseudoLd.MAP_VALUE ? (prog.insns[r.pc + 1]?.imm ?? 0) : i.imm });
    else out.set(r.pc, { map: toInfo(m, cache), valueOff: r.value ? (r.offset ?? 0) : undefined });
  }
  prog.insns.forEach((i, pc) => {
    if (i.code !== LDDW || byRef.has(pc)) return;
    if (i.src < PseudoLd.MAP_FD || i.src === PseudoLd.BTF_ID || i.src === PseudoLd.FUNC) return;
    const m = byKey.get(`#${i.imm}`);
    if (!m) return;
    const value = i.src === PseudoLd.MAP_VALUE || i.src === PseudoLd.MAP_IDX_VALUE;
    out.set(pc, { map: toInfo(m, cache), valueOff: value ? (prog.insns[pc + 1]?.imm ?? 0) >>> 0 : undefined });
  });
  return out;
}

/** Verify a program. Never throws for a bad program: the verdict and reasons are in the result. */
export function verify(prog: VerifyInput, opts: VerifyOptions = {}): VerifyResult {
  const log: string[] = [];
  const stats = { insnsProcessed: 0, states: 0, peakStates: 0 };
  const fail = (e: Reject): VerifyResult => {
    log.push(`rejected at insn ${e.pc}: ${e.why}`);
    return { ok: false, errors: [makeError(prog.insns, e.pc, e.why, e.kernel, prog.lines, log)], log, stats };
  };
  try {
    if (!ctxSupported(prog.type)) {
      throw new Reject(0, `unsupported: program type ${progTypeName(prog.type)} (no context and helper rules in bpfkit's verifier yet)`);
    }
    const cfg = buildCfg(prog.insns);
    let ids = 0;
    const env: Env = {
      insns: prog.insns,
      progType: prog.type,
      expectedAttachType: prog.expectedAttachType,
      privileged: opts.privileged ?? true,
      strict: opts.strict ?? true,
      cfg,
      lddwMaps: resolveMaps(prog, opts),
      stackDepth: new Map(),
      nextId: () => ++ids,
      log: (l) => log.push(l),
    };
    const kfuncs = new Map<number, string>();
    for (const r of prog.references ?? []) if (r.kind === 'ksym' && r.func) kfuncs.set(r.pc, r.symbol);
    for (const r of prog.references ?? []) {
      if (r.kind === 'ksym' && !r.func) throw new Reject(r.pc, `unsupported: ksym variable ${r.symbol} (typed kernel pointers are not modelled)`);
    }
    const hasFuncInfo = Array.isArray((prog.btfExt as { funcInfo?: unknown[] } | undefined)?.funcInfo) && (prog.btfExt as { funcInfo: unknown[] }).funcInfo.length > 0;
    if (!hasFuncInfo) {
      const at = prog.insns.findIndex((i, pc) => cfg.starts[pc] && i.code === LDDW && i.src === PseudoLd.FUNC);
      if (at >= 0) throw new Reject(at, 'a function reference (callback for bpf_loop and friends) needs BTF func_info, which the kernel requires (compile with -g, or load from an object with .BTF.ext)', 'missing btf func_info');
    }
    const init: VState = { frames: [newFrame(-1, 0, 0)], refs: [], rcu: 0, cbIter: 0 };
    init.frames[0]!.regs[1] = { type: 'ctx', s: sconst(0), off: 0 };
    Object.assign(stats, explore(env, init, { maxInsns: opts.maxInsns ?? 1_000_000, kfuncs, verbose: !!opts.log }));
    checkStackDepth(env);
    log.push(`verified: processed ${stats.insnsProcessed} insns, ${stats.states} states (peak ${stats.peakStates})`);
    return { ok: true, errors: [], log, stats };
  } catch (e) {
    if (e instanceof Reject) return fail(e);
    // A bug in the verifier must never turn into an accept.
    return fail(new Reject(0, `internal verifier error (please report): ${(e as Error)?.message ?? e}`));
  }
}

/** Verify and throw the first `VerifierError` when the program is refused; returns the result otherwise. */
export function assertVerified(prog: VerifyInput, opts: VerifyOptions = {}): VerifyResult {
  const r = verify(prog, opts);
  if (!r.ok) throw r.errors[0]!;
  return r;
}

/** Combined stack of every call chain ≤ 512 bytes (each frame rounded up to 32, as the kernel counts). */
function checkStackDepth(env: Env): void {
  const { insns, cfg } = env;
  const depth = (f: number) => Math.ceil(Math.max(env.stackDepth.get(f) ?? 0, 1) / 32) * 32;
  const calls = new Map<number, { pc: number; to: number }[]>();
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc]!;
    if (cfg.starts[pc] && i.code === 0x85 && i.src === 1) {
      const f = cfg.funcOf[pc]!;
      if (!calls.has(f)) calls.set(f, []);
      calls.get(f)!.push({ pc, to: pc + 1 + i.imm });
    }
  }
  const walk = (f: number, total: number, chain: number) => {
    const t = total + depth(f);
    if (t > 512) throw new Reject(0, `the stacks of a chain of ${chain} nested calls add up to ${t} bytes; at most 512 are allowed`, `combined stack size of ${chain} calls is ${t}. Too large`);
    for (const c of calls.get(f) ?? []) walk(c.to, t, chain + 1);
  };
  walk(0, 0, 1);
  for (const cb of cfg.callbacks) walk(cb, depth(0), 2);
}
