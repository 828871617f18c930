/**
 * Calls: helper calls checked against the verifier prototypes (map pointers, initialised keys and values, memory
 * and size pairs, the context, callbacks, ring buffer records to release), their results (possibly-NULL map
 * values, reserved records holding a reference, socket pointers from lookups holding a reference until
 * bpf_sk_release, sk_fullsock / tcp_sock casts sharing their argument's reference), clobbering of r1-r5; bpf-to-bpf calls (new frame, depth limit)
 * and returns; the few kfuncs bpfkit models. Everything else is refused as unsupported.
 */
import type { Insn } from '../isa/insn.js';
import { helperById } from '../isa/helpers.js';
import { MAX_CALL_FRAMES, PseudoCall } from '../isa/opcodes.js';
import { MapType } from '../isa/uapi.js';
import { progTypeName } from '../isa/names.js';
import { UNKNOWN, constOf, sconst, srange } from './bounds.js';
import { readReg } from './check-alu.js';
import { mapAllRegs } from './check-jmp.js';
import { checkHelperMem, checkMemAccess } from './check-mem.js';
import { reject, type Env } from './env.js';
import { describeReg, kernelType } from './messages.js';
import { helperAllowed, verifierProto, type ArgKind } from '../isa/helper-kinds.js';
import { NOT_INIT, SCALAR_UNKNOWN, curFrame, newFrame, scalarReg, type MapInfo, type Reg, type VState } from './state.js';

/** A callback the caller must explore (bpf_loop, for_each_map_elem). */
export interface CallbackCall {
  subprog: number;
  kind: 'loop' | 'for_each';
  /** Arguments the callback receives in r1-r4. */
  args: Reg[];
}

const MAP_ONLY: Record<number, string[]> = {
  [MapType.RINGBUF]: ['ringbuf_output', 'ringbuf_reserve', 'ringbuf_query'],
  [MapType.PROG_ARRAY]: ['tail_call'],
  [MapType.PERF_EVENT_ARRAY]: ['perf_event_output', 'perf_event_read', 'perf_event_read_value'],
  [MapType.STACK_TRACE]: ['get_stackid'],
  [MapType.QUEUE]: ['map_push_elem', 'map_pop_elem', 'map_peek_elem'],
  [MapType.STACK]: ['map_push_elem', 'map_pop_elem', 'map_peek_elem'],
};
const HELPER_ONLY: Record<string, number[]> = {
  ringbuf_output: [MapType.RINGBUF],
  ringbuf_reserve: [MapType.RINGBUF],
  ringbuf_query: [MapType.RINGBUF],
  tail_call: [MapType.PROG_ARRAY],
  perf_event_output: [MapType.PERF_EVENT_ARRAY],
  get_stackid: [MapType.STACK_TRACE],
  map_push_elem: [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER],
  map_pop_elem: [MapType.QUEUE, MapType.STACK],
  map_peek_elem: [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER],
  redirect_map: [MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP],
  sock_map_update: [MapType.SOCKMAP],
  sock_hash_update: [MapType.SOCKHASH],
  msg_redirect_map: [MapType.SOCKMAP],
  msg_redirect_hash: [MapType.SOCKHASH],
  sk_redirect_map: [MapType.SOCKMAP],
  sk_redirect_hash: [MapType.SOCKHASH],
};

const isMapInMap = (m: MapInfo) => m.type === MapType.ARRAY_OF_MAPS || m.type === MapType.HASH_OF_MAPS;

function clobberCallerSaved(st: VState): void {
  const regs = curFrame(st).regs;
  for (let r = 1; r <= 5; r++) regs[r] = NOT_INIT;
}

/** Invalidate every packet pointer (after helpers that may move or resize the packet). */
function invalidatePackets(env: Env, st: VState): void {
  const dead = env.privileged ? SCALAR_UNKNOWN : NOT_INIT;
  mapAllRegs(st, (r) => (r.type === 'pkt' || r.type === 'pkt_meta' || r.type === 'pkt_end' ? dead : r));
}

/** Check a helper call; updates `st` (r0, r1-r5) and returns the callback to explore, if the helper calls one. */
export function checkHelperCall(env: Env, st: VState, pc: number, i: Insn): CallbackCall | undefined {
  const h = helperById(i.imm);
  if (!h) reject(pc, `call to unknown helper #${i.imm}`, `invalid func unknown#${i.imm}`);
  const name = h!.fullName;
  const proto = verifierProto(i.imm);
  if (!proto) reject(pc, `unsupported: bpfkit's verifier has no argument rules for ${name} yet`);
  if (!helperAllowed(proto!, env.progType)) {
    reject(pc, `${name} cannot be called from ${progTypeName(env.progType)} programs`, `program of this type cannot use helper ${name}#${i.imm}`);
  }
  if (name === 'bpf_tail_call' && st.refs.length) {
    reject(pc, `bpf_tail_call while holding a reference (acquired at insn ${st.refs[0]!.pc}) would leak it`, 'tail_call would lead to reference leak');
  }
  const regs = curFrame(st).regs;
  let map: MapInfo | undefined;
  let memArg: { regNo: number; kind: ArgKind } | undefined;
  let callback: CallbackCall | undefined;
  let allocSize = 0;
  let release: Reg | undefined;
  let constKey: bigint | undefined;
  /** The socket argument of bpf_sk_fullsock / bpf_tcp_sock / bpf_get_listener_sock. */
  let castFrom: Reg | undefined;
  const what = (n: number, role: string) => `${name}'s ${role} (r${n})`;

  proto!.args.forEach((kind, idx) => {
    const n = idx + 1;
    const reg = readReg(env, st, pc, n);
    const expect = (ok: boolean, want: string, kwant: string) => {
      if (!ok) reject(pc, `${what(n, `argument ${n}`)} must be ${want}, but it is ${describeReg(reg)}`, `R${n} type=${kernelType(reg)} expected=${kwant}`);
    };
    switch (kind) {
      case 'any':
        return;
      case 'map': {
        expect(reg.type === 'map_ptr' && !reg.maybeNull, 'a map (r = map[...])', 'map_ptr');
        map = reg.map!;
        const only = MAP_ONLY[map.type];
        const helperOnly = HELPER_ONLY[h!.name];
        if ((only && !only.includes(h!.name)) || (helperOnly && !helperOnly.includes(map.type))) {
          reject(pc, `map ${map.name} (type ${map.type}) cannot be used with ${name}`, `cannot pass map_type ${map.type} into func ${name}#${i.imm}`);
        }
        if (h!.name === 'map_lookup_elem' || h!.name === 'map_update_elem' || h!.name === 'map_delete_elem') {
          if (map.type === MapType.RINGBUF || map.type === MapType.PERF_EVENT_ARRAY) reject(pc, `map ${map.name} cannot be used with ${name}`, `cannot pass map_type ${map.type} into func ${name}#${i.imm}`);
        }
        // Not modelled: the kernel wants a socket as the value of a sockmap update, and an xsk lookup gives PTR_TO_XDP_SOCK.
        if ((map.type === MapType.SOCKMAP || map.type === MapType.SOCKHASH) && h!.name === 'map_update_elem') {
          reject(pc, `unsupported: ${name} on sockmap/sockhash ${map.name} from a program (its value is a socket pointer)`);
        }
        if (map.type === MapType.XSKMAP && h!.name === 'map_lookup_elem') reject(pc, `unsupported: ${name} on xskmap ${map.name} (PTR_TO_XDP_SOCK is not modelled)`);
        return;
      }
      case 'key':
      case 'value':
      case 'uninit_value': {
        const size = kind === 'key' ? map!.keySize : map!.valueSize;
        const role = kind === 'key' ? 'key' : 'value';
        memPointer(env, st, pc, n, reg, name, role);
        checkHelperMem(env, st, { pc, regNo: n, insnOff: 0, size, write: kind === 'uninit_value', what: what(n, role) }, size);
        if (kind === 'key') constKey = stackConstant(st, reg, size);
        return;
      }
      case 'mem':
      case 'mem_or_null':
      case 'uninit_mem':
        if (kind === 'mem_or_null' && reg.type === 'scalar' && constOf(reg.s) === 0n) {
          memArg = { regNo: n, kind };
          return;
        }
        memPointer(env, st, pc, n, reg, name, 'buffer');
        memArg = { regNo: n, kind };
        return;
      case 'size':
      case 'size_or_zero': {
        expect(reg.type === 'scalar', 'a size (a scalar)', 'scalar');
        const m = memArg!;
        if (reg.s.smin < 0n) reject(pc, `${what(n, 'size')} may be negative (${describeReg(reg)})`, `R${n} min value is negative, either use unsigned or 'var &= const'`);
        if (reg.s.umax >= 1n << 29n) reject(pc, `${what(n, 'size')} has no usable upper bound (${describeReg(reg)}): bound it (if (n > N) ... or n &= mask)`, `R${n} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
        if (kind === 'size' && reg.s.umin === 0n) reject(pc, `${what(n, 'size')} may be 0 (${describeReg(reg)})`, `R${n} invalid zero-sized read: u64=[${reg.s.umin},${reg.s.umax}]`);
        const ptr = regs[m.regNo]!;
        if (ptr.type === 'scalar') {
          if (reg.s.umax !== 0n) reject(pc, `${what(m.regNo, 'buffer')} is NULL but its size may be non-zero`, `R${m.regNo} type=scalar expected=fp`);
          return;
        }
        checkHelperMem(env, st, { pc, regNo: m.regNo, insnOff: 0, size: Number(reg.s.umax), write: m.kind === 'uninit_mem', what: what(m.regNo, 'buffer') }, Number(reg.s.umax));
        return;
      }
      case 'ctx_or_null':
      case 'ctx':
        if (kind === 'ctx_or_null' && reg.type === 'scalar' && constOf(reg.s) === 0n) return;
        expect(reg.type === 'ctx', 'the context pointer (r1 at program start)', 'ctx');
        if (reg.off !== 0 || constOf(reg.s) !== 0n) reject(pc, `${what(n, 'context')} must be the unmodified context pointer`, `dereference of modified ctx ptr R${n} off=${reg.off} disallowed`);
        return;
      case 'alloc_size': {
        const c = constOf(reg.s);
        expect(reg.type === 'scalar' && c !== undefined, 'a constant size', 'scalar');
        allocSize = Number(c!);
        return;
      }
      case 'ringbuf_mem':
        if (reg.maybeNull) reject(pc, `${what(n, 'record')} may be NULL: check the result of bpf_ringbuf_reserve first`, `R${n} type=${kernelType(reg)} expected=ringbuf_mem`);
        expect(reg.type === 'mem' && reg.refId !== undefined, 'a record from bpf_ringbuf_reserve', 'ringbuf_mem');
        if (reg.off !== 0 || constOf(reg.s) !== 0n) reject(pc, `${what(n, 'record')} must be the pointer bpf_ringbuf_reserve returned, not an offset into it`, `R${n} must have zero offset when passed to release func`);
        release = reg;
        return;
      case 'sock_common':
      case 'sock_release': {
        const sockPtr = reg.type === 'sock' || reg.type === 'sock_common' || reg.type === 'tcp_sock';
        if (sockPtr && reg.maybeNull) {
          reject(pc, `${what(n, 'socket')} may be NULL (${describeReg(reg)}): check it against 0 first`, `R${n} type=${kernelType(reg)} expected=sock_common, sock, tcp_sock, xdp_sock, ptr_`);
        }
        expect(sockPtr, 'a socket pointer', 'sock_common, sock, tcp_sock, xdp_sock, ptr_');
        if (kind === 'sock_release') {
          if (reg.refId === undefined) {
            reject(pc, `${what(n, 'socket')} was not acquired by a lookup (bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp, a sockmap lookup), so it cannot be released`, `R${n} must be referenced when passed to release function`);
          }
          release = reg;
        }
        if (n === 1) castFrom = reg;
        return;
      }
      case 'func': {
        expect(reg.type === 'func', 'a function (lddw of a static function)', 'func');
        callback = { subprog: reg.subprog!, kind: proto!.callback!, args: [] };
        return;
      }
      case 'stack_or_null':
        expect((reg.type === 'stack' && !reg.maybeNull) || (reg.type === 'scalar' && constOf(reg.s) === 0n), 'a stack pointer or NULL', 'fp');
        return;
    }
  });

  if (release) {
    const id = release.refId!;
    if (!st.refs.some((r) => r.id === id)) reject(pc, `${name} releases a ${release.type === 'mem' ? 'record' : 'socket'} that was already released`, `R1 must be referenced when passed to release function`);
    st.refs = st.refs.filter((r) => r.id !== id);
    const dead = env.privileged ? SCALAR_UNKNOWN : NOT_INIT;
    mapAllRegs(st, (r) => (r.refId === id ? dead : r));
  }
  if (proto!.changesPkt) invalidatePackets(env, st);
  if (callback) {
    const cb = callback as CallbackCall;
    if (cb.kind === 'loop') cb.args = [scalarReg(srange(0n, 0xffffffffn)), regs[3]!];
    else cb.args = [{ type: 'map_ptr', s: sconst(0), off: 0, map }, { type: 'map_key', s: sconst(0), off: 0, map, rdonly: true }, { type: 'map_value', s: sconst(0), off: 0, map }, regs[3]!];
  }
  clobberCallerSaved(st);
  switch (proto!.ret) {
    case 'int':
      regs[0] = scalarReg(UNKNOWN);
      break;
    case 'void':
      regs[0] = NOT_INIT;
      break;
    case 'map_value_or_null': {
      const origin = `${name} at insn ${pc}`;
      if (isMapInMap(map!)) {
        if (!map!.inner) reject(pc, `unsupported: map-in-map ${map!.name} has no inner map spec`);
        regs[0] = { type: 'map_ptr', s: sconst(0), off: 0, map: map!.inner, maybeNull: true, id: env.nextId(), origin };
      } else {
        // Like the kernel, an array lookup with a constant in-range key cannot fail.
        const sure = (map!.type === MapType.ARRAY || map!.type === MapType.PERCPU_ARRAY) && constKey !== undefined && constKey < BigInt(map!.maxEntries);
        regs[0] = sure ? { type: 'map_value', s: sconst(0), off: 0, map } : { type: 'map_value', s: sconst(0), off: 0, map, maybeNull: true, id: env.nextId(), origin };
        if (map!.type === MapType.SOCKMAP || map!.type === MapType.SOCKHASH) {
          // A sockmap lookup acquires the socket (is_acquire_function); the NULL check turns it into PTR_TO_SOCKET.
          const refId = env.nextId();
          regs[0] = { type: 'map_value', s: sconst(0), off: 0, map, maybeNull: true, id: refId, refId, origin };
          st.refs = [...st.refs, { id: refId, pc, what: name }];
        }
      }
      break;
    }
    case 'sock_or_null_acquire':
    case 'sock_common_or_null_acquire': {
      const refId = env.nextId();
      regs[0] = { type: proto!.ret === 'sock_or_null_acquire' ? 'sock' : 'sock_common', s: sconst(0), off: 0, maybeNull: true, id: refId, refId, origin: `${name} at insn ${pc}` };
      st.refs = [...st.refs, { id: refId, pc, what: name }];
      break;
    }
    case 'sock_or_null_cast':
    case 'tcp_sock_or_null_cast':
    case 'sock_or_null': {
      const type = proto!.ret === 'tcp_sock_or_null_cast' ? 'tcp_sock' : 'sock';
      // A cast (is_ptr_cast_function) keeps the argument's reference; bpf_get_listener_sock's result has none.
      const ref = proto!.ret !== 'sock_or_null' ? castFrom?.refId : undefined;
      regs[0] = ref !== undefined
        ? { type, s: sconst(0), off: 0, maybeNull: true, id: env.nextId(), refId: ref, refShared: true, origin: `${name} at insn ${pc}` }
        : { type, s: sconst(0), off: 0, maybeNull: true, id: env.nextId(), origin: `${name} at insn ${pc}` };
      break;
    }
    case 'ringbuf_mem_or_null': {
      const refId = env.nextId();
      regs[0] = { type: 'mem', s: sconst(0), off: 0, memSize: allocSize, maybeNull: true, id: env.nextId(), refId, origin: `${name} at insn ${pc}` };
      st.refs = [...st.refs, { id: refId, pc, what: name }];
      break;
    }
  }
  return callback;
}

function memPointer(env: Env, st: VState, pc: number, n: number, reg: Reg, name: string, role: string): void {
  const ok = ['stack', 'map_value', 'map_key', 'pkt', 'pkt_meta', 'mem'].includes(reg.type);
  if (reg.maybeNull) {
    checkMemAccess(env, st, { pc, regNo: n, insnOff: 0, size: 1, write: false, what: `${name}'s ${role} (r${n})` });
  }
  if (!ok) {
    reject(pc, `${name}'s ${role} (r${n}) must point to the stack, a map value or the packet, but it is ${describeReg(reg)}`, `R${n} type=${kernelType(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf`);
  }
}

/** Push the frame of a bpf-to-bpf call (or of a callback, with its arguments) starting at `target`. */
export function enterFunction(env: Env, st: VState, pc: number, target: number, args: Reg[] | undefined, callback?: { kind: string; retMin: number; retMax: number }): void {
  if (st.frames.length >= MAX_CALL_FRAMES) {
    reject(pc, `the call at insn ${pc} nests functions ${st.frames.length + 1} deep; at most ${MAX_CALL_FRAMES} frames are allowed`, `the call stack of ${st.frames.length + 1} frames is too deep !`);
  }
  const caller = curFrame(st);
  const frame = newFrame(pc, target, st.frames.length);
  for (let r = 1; r <= 5; r++) frame.regs[r] = args ? (args[r - 1] ?? NOT_INIT) : caller.regs[r]!;
  st.frames.push(callback ? { ...frame, callback } : frame);
  void env;
}

/** Return from a bpf-to-bpf call: r0 goes to the caller, r1-r5 are clobbered. Returns the pc to continue at. */
export function leaveFunction(env: Env, st: VState, pc: number): number {
  const callee = st.frames.pop()!;
  const r0 = callee.regs[0]!;
  if (r0.type === 'stack' && r0.frame === st.frames.length) {
    reject(pc, 'the function returns a pointer to its own stack, which is gone after the return', 'cannot return stack pointer to the caller frame');
  }
  const caller = curFrame(st);
  if (callee.callback) {
    // The helper call runs again (another iteration) or finishes: resume at the call itself.
    return callee.callsite;
  }
  caller.regs[0] = r0;
  for (let r = 1; r <= 5; r++) caller.regs[r] = NOT_INIT;
  void env;
  return callee.callsite + 1;
}

/** Kfunc calls: only the RCU read-lock pair is modelled. */
export function checkKfuncCall(env: Env, st: VState, pc: number, i: Insn, name: string | undefined): void {
  if (i.src !== PseudoCall.KFUNC) return;
  if (name === 'bpf_rcu_read_lock') {
    st.rcu++;
  } else if (name === 'bpf_rcu_read_unlock') {
    if (st.rcu === 0) reject(pc, 'bpf_rcu_read_unlock without a matching bpf_rcu_read_lock', 'unmatched rcu read unlock');
    st.rcu--;
  } else {
    reject(pc, `unsupported: kfunc ${name ?? `#${i.imm}`} (bpfkit's verifier models only bpf_rcu_read_lock/unlock)`);
  }
  clobberCallerSaved(st);
  curFrame(st).regs[0] = NOT_INIT;
  void env;
}

/** The constant held in `size` (≤ 8) stack bytes at the pointer `reg`, when known (spilled constant or zeroes). */
function stackConstant(st: VState, reg: Reg, size: number): bigint | undefined {
  const c = constOf(reg.s);
  if (reg.type !== 'stack' || c === undefined || size > 8) return undefined;
  const off = reg.off + Number(BigInt.asIntN(64, c));
  const slot = st.frames[reg.frame ?? st.frames.length - 1]!.stack[(512 + off) >> 3];
  const at = (512 + off) & 7;
  if (!slot || at + size > 8) return undefined;
  if (slot.spill && slot.spill.at === at && slot.spill.size === size && slot.spill.reg.type === 'scalar') {
    const v = constOf(slot.spill.reg.s);
    return v === undefined ? undefined : BigInt.asUintN(size * 8, v);
  }
  for (let b = at; b < at + size; b++) if (slot.bytes[b] !== 2) return undefined;
  return 0n;
}
