/**
 * The values of libbpf's USDT spec map (`__bpf_usdt_specs`, declared by <bpf/usdt.bpf.h>): `struct
 * __bpf_usdt_spec` = 12 × `struct __bpf_usdt_arg_spec`, the u64 USDT cookie and the short argument count. Two
 * layouts exist, told apart by the map's value size:
 *  - libbpf ≤ 1.6 (208 bytes): arg spec = u64 val_off, u32 enum arg_type, s16 reg_off, bool arg_signed,
 *    s8 arg_bitshift (16 bytes);
 *  - libbpf ≥ 1.7 (304 bytes): arg spec = u64 val_off, u8 arg_type, u16 {idx_reg_off:12, scale_bitshift:4} at
 *    byte 10, a reserved byte, s16 reg_off at 14, bool arg_signed, s8 arg_bitshift (24 bytes), adding the
 *    scale-index-base argument kind.
 * (Offsets checked against clang's layout of both header versions; little-endian hosts only.)
 */
import { KernelError } from '../../errors.js';
import { USDT_MAX_ARGS, type UsdtArg } from '../../elf/usdt-args.js';

/** A spec map value layout. */
export interface UsdtSpecLayout {
  name: 'libbpf-1.0' | 'libbpf-1.7';
  /** Bytes of one `struct __bpf_usdt_arg_spec`. */
  argSize: number;
  /** Bytes of `struct __bpf_usdt_spec` (the map's value size). */
  size: number;
  /** Whether scale-index-base arguments can be expressed. */
  sib: boolean;
}

export const USDT_SPEC_LAYOUTS: readonly UsdtSpecLayout[] = [
  { name: 'libbpf-1.0', argSize: 16, size: 208, sib: false },
  { name: 'libbpf-1.7', argSize: 24, size: 304, sib: true },
];

/** `enum __bpf_usdt_arg_type`. */
export const UsdtArgType = { CONST: 0, REG: 1, REG_DEREF: 2, SIB: 3 } as const;

const KIND_TYPE = { const: UsdtArgType.CONST, reg: UsdtArgType.REG, reg_deref: UsdtArgType.REG_DEREF, sib: UsdtArgType.SIB } as const;

/** The layout whose value size is `valueSize`, or undefined. */
export function usdtSpecLayout(valueSize: number): UsdtSpecLayout | undefined {
  return USDT_SPEC_LAYOUTS.find((l) => l.size === valueSize);
}

/**
 * Encode one `struct __bpf_usdt_spec`. Throws `KernelError(EOPNOTSUPP)` for a scale-index-base argument
 * with the 1.0 layout (the BPF side compiled against an older usdt.bpf.h cannot read it) and
 * `KernelError(E2BIG)` for more than 12 arguments.
 */
export function encodeUsdtSpec(args: readonly UsdtArg[], cookie: bigint, layout: UsdtSpecLayout, where = 'usdt'): Uint8Array {
  if (args.length > USDT_MAX_ARGS) throw new KernelError('usdt', 7, 'E2BIG', { detail: where, hint: `${args.length} arguments, the spec holds ${USDT_MAX_ARGS}` });
  const out = new Uint8Array(layout.size);
  const v = new DataView(out.buffer);
  args.forEach((a, i) => {
    const at = i * layout.argSize;
    v.setBigUint64(at, BigInt.asUintN(64, a.value), true);
    const bitshift = 64 - a.size * 8;
    if (!layout.sib) {
      if (a.kind === 'sib') {
        throw new KernelError('usdt', 95, 'EOPNOTSUPP', {
          detail: `${where} argument #${i} '${a.text}'`,
          hint: 'scale-index-base arguments need a BPF object built with libbpf ≥ 1.7 <bpf/usdt.bpf.h>',
        });
      }
      v.setUint32(at + 8, KIND_TYPE[a.kind], true);
      v.setInt16(at + 12, a.regOffset, true);
      v.setUint8(at + 14, a.signed ? 1 : 0);
      v.setInt8(at + 15, bitshift);
    } else {
      v.setUint8(at + 8, KIND_TYPE[a.kind]);
      if (a.kind === 'sib') v.setUint16(at + 10, (a.indexRegOffset! & 0xfff) | (Math.log2(a.scale ?? 1) << 12), true);
      v.setInt16(at + 14, a.regOffset, true);
      v.setUint8(at + 16, a.signed ? 1 : 0);
      v.setInt8(at + 17, bitshift);
    }
  });
  const tail = USDT_MAX_ARGS * layout.argSize;
  v.setBigUint64(tail, BigInt.asUintN(64, cookie), true);
  v.setInt16(tail + 8, args.length, true);
  return out;
}

/** Decode a spec map value back (for checks and diagnostics). */
export function decodeUsdtSpec(value: Uint8Array, layout: UsdtSpecLayout): { cookie: bigint; args: { type: number; value: bigint; regOffset: number; signed: boolean; bitshift: number; indexRegOffset?: number; scaleShift?: number }[] } {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const tail = USDT_MAX_ARGS * layout.argSize;
  const n = v.getInt16(tail + 8, true);
  const args = [];
  for (let i = 0; i < Math.min(n, USDT_MAX_ARGS); i++) {
    const at = i * layout.argSize;
    if (!layout.sib) {
      args.push({ type: v.getUint32(at + 8, true), value: v.getBigInt64(at, true), regOffset: v.getInt16(at + 12, true), signed: v.getUint8(at + 14) !== 0, bitshift: v.getInt8(at + 15) });
    } else {
      const packed = v.getUint16(at + 10, true);
      args.push({
        type: v.getUint8(at + 8),
        value: v.getBigInt64(at, true),
        regOffset: v.getInt16(at + 14, true),
        signed: v.getUint8(at + 16) !== 0,
        bitshift: v.getInt8(at + 17),
        indexRegOffset: packed & 0xfff,
        scaleShift: packed >> 12,
      });
    }
  }
  return { cookie: v.getBigUint64(tail, true), args };
}
