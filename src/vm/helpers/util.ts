/**
 * Small pieces shared by helper implementations: argument conversion, map-handle resolution, copying between VM
 * memory and bytes. (UAPI constants come from src/isa/uapi.ts: `Uapi` flags, `NetConst` TC verdicts and ethertypes.)
 */
import { VmError } from '../../errors.js';
import type { HelperCallContext } from '../api.js';
import type { UserMap } from '../maps/base.js';
import { envOf, type RuntimeEnv } from './env.js';

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
