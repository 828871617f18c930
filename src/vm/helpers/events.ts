/**
 * Event output helpers: perf_event_output (with the BPF_F_CTXLEN_MASK packet tail for XDP and skb programs),
 * the ring buffer helpers (output, reserve, submit, discard, query and their dynptr forms) and the dynptr
 * helpers (from_mem, read, write, data).
 *
 * A dynptr is the kernel's 16-byte `struct bpf_dynptr_kern`: u64 data pointer, u32 size (low 24 bits) with the
 * type in bits 28-30 and read-only in bit 31, u32 offset.
 */
import { VmError } from '../../errors.js';
import type { HelperCallContext, HelperImpl } from '../api.js';
import { ProgType, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { PerfEventArrayMap } from '../maps/perf-event-array.js';
import { RingBufMap, ringOfBuffer } from '../maps/ringbuf.js';
import { envOf } from './env.js';
import { flagsArg, mapArg, readBytes, u32 } from './util.js';

const DYNPTR_TYPE_LOCAL = 1;
const DYNPTR_TYPE_RINGBUF = 2;
const DYNPTR_SIZE_MASK = 0xffffff;
const DYNPTR_RDONLY = 0x80000000;
const DYNPTR_MAX_SIZE = DYNPTR_SIZE_MASK;
const INDEX_MASK = BigInt(Uapi.BPF_F_INDEX_MASK);
const CTXLEN_MASK = BigInt(Uapi.BPF_F_CTXLEN_MASK);

function perfOutput(c: HelperCallContext, r2: bigint, flags: bigint, data: bigint, size: bigint): number {
  const env = envOf(c);
  const m = mapArg(c, r2, env);
  if (!(m instanceof PerfEventArrayMap)) return -Errno.EINVAL;
  const packetProg = env.packet !== undefined && (env.progType === ProgType.XDP || env.skb !== undefined);
  const allowed = INDEX_MASK | (packetProg ? CTXLEN_MASK : 0n);
  if (flags & ~allowed) return -Errno.EINVAL;
  let index = Number(flags & INDEX_MASK);
  if (index === Uapi.BPF_F_CURRENT_CPU) index = env.cpu;
  const parts = [readBytes(c, data, Number(size))];
  const ctxLen = Number((flags & CTXLEN_MASK) >> 32n);
  if (ctxLen) {
    const pkt = env.packet!.bytes();
    if (ctxLen > pkt.length) return -Errno.EFAULT;
    parts.push(pkt.slice(0, ctxLen));
  }
  return m.output(index, env.cpu, parts);
}

/** The ring and sample offset of a reserved sample pointer (faults when it is not one). */
function sampleOf(c: HelperCallContext, addr: bigint): { ring: RingBufMap; off: number } {
  const r = c.mem.regionOf(addr);
  const ring = r ? ringOfBuffer(r.bytes) : undefined;
  const off = Number(addr & 0xffffffffn);
  if (!ring || !ring.isReserved(off)) throw new VmError(c.pc, 'helper', `0x${addr.toString(16)} is not a pending ring buffer reservation`);
  return { ring, off };
}

function dynptrSet(c: HelperCallContext, ptr: bigint, data: bigint, size: number, type: number, rdonly = false): void {
  c.mem.store(ptr, 8, data);
  c.mem.store(ptr + 8n, 4, data === 0n ? 0 : ((size & DYNPTR_SIZE_MASK) | (type << 28) | (rdonly ? DYNPTR_RDONLY : 0)) >>> 0);
  c.mem.store(ptr + 12n, 4, 0);
}

function dynptrGet(c: HelperCallContext, ptr: bigint): { data: bigint; size: number; type: number; rdonly: boolean; offset: number } {
  const data = c.mem.load(ptr, 8);
  const sz = Number(c.mem.load(ptr + 8n, 4));
  return { data, size: sz & DYNPTR_SIZE_MASK, type: (sz >>> 28) & 7, rdonly: (sz & DYNPTR_RDONLY) !== 0, offset: Number(c.mem.load(ptr + 12n, 4)) };
}

function commitDynptr(c: HelperCallContext, ptr: bigint, flags: bigint, discard: boolean): void {
  const d = dynptrGet(c, ptr);
  if (d.data === 0n) return;
  const { ring, off } = sampleOf(c, d.data);
  ring.commit(off, discard, Number(flags & 3n));
  dynptrSet(c, ptr, 0n, 0, 0);
}

/** Event helper implementations by name. */
export const eventHelpers: Record<string, HelperImpl> = {
  perf_event_output: (c, _r1, r2, r3, r4, r5) => perfOutput(c, r2, r3, r4, r5),
  ringbuf_output(c, r1, r2, r3, r4) {
    const m = mapArg(c, r1);
    if (!(m instanceof RingBufMap)) return -Errno.EINVAL;
    return m.output(readBytes(c, r2, Number(r3)), flagsArg(r4));
  },
  ringbuf_reserve(c, r1, r2, r3) {
    const m = mapArg(c, r1);
    if (!(m instanceof RingBufMap) || r3 !== 0n || r2 > 0xffffffffn) return 0n;
    const off = m.reserve(Number(r2));
    return off < 0 ? 0n : m.baseAddress(c.mem) + BigInt(off);
  },
  ringbuf_submit(c, r1, r2) {
    const { ring, off } = sampleOf(c, r1);
    ring.commit(off, false, Number(r2 & 3n));
    return 0;
  },
  ringbuf_discard(c, r1, r2) {
    const { ring, off } = sampleOf(c, r1);
    ring.commit(off, true, Number(r2 & 3n));
    return 0;
  },
  ringbuf_query(c, r1, r2) {
    const m = mapArg(c, r1);
    return m instanceof RingBufMap ? m.query(Number(r2 & 0xffffffffn)) : 0n;
  },
  ringbuf_reserve_dynptr(c, r1, r2, r3, r4) {
    const m = mapArg(c, r1);
    const size = u32(r2);
    if (!(m instanceof RingBufMap) || r3 !== 0n) {
      dynptrSet(c, r4, 0n, 0, 0);
      return -Errno.EINVAL;
    }
    if (size > DYNPTR_MAX_SIZE) {
      dynptrSet(c, r4, 0n, 0, 0);
      return -Errno.E2BIG;
    }
    const off = m.reserve(size);
    if (off < 0) {
      dynptrSet(c, r4, 0n, 0, 0);
      return -Errno.EINVAL;
    }
    dynptrSet(c, r4, m.baseAddress(c.mem) + BigInt(off), size, DYNPTR_TYPE_RINGBUF);
    return 0;
  },
  ringbuf_submit_dynptr(c, r1, r2) {
    commitDynptr(c, r1, r2, false);
    return 0;
  },
  ringbuf_discard_dynptr(c, r1, r2) {
    commitDynptr(c, r1, r2, true);
    return 0;
  },
  dynptr_from_mem(c, r1, r2, r3, r4) {
    const size = u32(r2);
    if (r3 !== 0n) {
      dynptrSet(c, r4, 0n, 0, 0);
      return -Errno.EINVAL;
    }
    if (size > DYNPTR_MAX_SIZE) {
      dynptrSet(c, r4, 0n, 0, 0);
      return -Errno.E2BIG;
    }
    dynptrSet(c, r4, r1, size, DYNPTR_TYPE_LOCAL);
    return 0;
  },
  dynptr_read(c, r1, r2, r3, r4, r5) {
    const d = dynptrGet(c, r3);
    const len = u32(r2);
    const off = u32(r4);
    if (d.data === 0n || r5 !== 0n) return -Errno.EINVAL;
    if (off + len > d.size) return -Errno.E2BIG;
    c.mem.view(r1, len, true).set(c.mem.view(d.data + BigInt(d.offset + off), len));
    return 0;
  },
  dynptr_write(c, r1, r2, r3, r4, r5) {
    const d = dynptrGet(c, r1);
    const off = u32(r2);
    const len = u32(r4);
    if (d.data === 0n || d.rdonly || r5 !== 0n) return -Errno.EINVAL;
    if (off + len > d.size) return -Errno.E2BIG;
    c.mem.view(d.data + BigInt(d.offset + off), len, true).set(c.mem.view(r3, len));
    return 0;
  },
  dynptr_data(c, r1, r2, r3) {
    const d = dynptrGet(c, r1);
    const off = u32(r2);
    const len = u32(r3);
    if (d.data === 0n || d.rdonly || off + len > d.size) return 0n;
    return d.data + BigInt(d.offset + off);
  },
};
