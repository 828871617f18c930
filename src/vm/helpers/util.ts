/**
 * Small pieces shared by helper implementations: argument conversion, map-handle resolution, copying between VM
 * memory and bytes, and the few UAPI constants the generated table lacks (64-bit enum values in bpf.h).
 */
import { VmError } from '../../errors.js';
import type { HelperCallContext } from '../api.js';
import type { UserMap } from '../maps/base.js';
import { envOf, type RuntimeEnv } from './env.js';

/** UAPI constants not in src/isa/uapi.ts (64-bit anonymous enum values); spelled once here. */
export const UapiExtra = {
  BPF_F_INDEX_MASK: 0xffffffffn,
  BPF_F_CURRENT_CPU: 0xffffffffn,
  BPF_F_CTXLEN_MASK: 0xfffffn << 32n,
  BPF_F_SKIP_FIELD_MASK: 0xffn,
  BPF_F_HDR_FIELD_MASK: 0xfn,
  /** XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX: fallback actions of bpf_redirect_map. */
  BPF_F_ACTION_MASK: 3n,
  ETH_P_8021Q: 0x8100,
  ETH_P_8021AD: 0x88a8,
  ETH_P_IP: 0x0800,
  ETH_P_IPV6: 0x86dd,
  ETH_HLEN: 14,
  /** TC_ACT_* verdicts. */
  TC_ACT_OK: 0,
  TC_ACT_SHOT: 2,
  TC_ACT_REDIRECT: 7,
} as const;

/** A helper receives bigint registers; these read them as C types. */
export const u32 = (x: bigint): number => Number(x & 0xffffffffn);
export const s32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
export const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);

/** The map a handle register names (faults when it is not a map handle). */
export function mapArg(c: HelperCallContext, reg: bigint, env: RuntimeEnv = envOf(c)): UserMap {
  const m = env.handles.get(reg);
  if (!m) throw new VmError(c.pc, 'helper', `argument 0x${reg.toString(16)} is not a map`);
  return m;
}

/** A copy of `len` bytes at `addr` (faults on a bad pointer, as the verifier would have refused it). */
export function readBytes(c: HelperCallContext, addr: bigint, len: number): Uint8Array {
  return len === 0 ? new Uint8Array(0) : c.mem.view(addr, len).slice();
}

/** Write `bytes` at `addr`. */
export function writeBytes(c: HelperCallContext, addr: bigint, bytes: Uint8Array): void {
  if (bytes.length) c.mem.view(addr, bytes.length, true).set(bytes);
}

/** Zero `len` bytes at `addr`. */
export function zeroBytes(c: HelperCallContext, addr: bigint, len: number): void {
  if (len) c.mem.view(addr, len, true).fill(0);
}

/** Write a little-endian u64 at `addr`. */
export function writeU64(c: HelperCallContext, addr: bigint, v: bigint): void {
  c.mem.store(addr, 8, v);
}

/** Flags register as a number; values that do not fit in 31 bits become -1 (rejected by every flag check). */
export function flagsArg(r: bigint): number {
  return r > 0x7fffffffn || r < 0n ? -1 : Number(r);
}
