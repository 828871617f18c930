/**
 * BPF_MAP_TYPE_RINGBUF in userspace, with the kernel's record format and space accounting
 * (kernel/bpf/ringbuf.c): records are an 8-byte header `{ u32 len; u32 pg_off }` followed by the sample, rounded
 * up to 8 bytes; `len` has BPF_RINGBUF_BUSY_BIT (bit 31) while reserved and BPF_RINGBUF_DISCARD_BIT (bit 30) when
 * discarded; positions are free-running counters; a reservation fails when the producer would get more than
 * size - 1 bytes ahead of the consumer or of the oldest record still reserved.
 *
 * The kernel maps the data pages twice so a record that wraps is contiguous; here the data buffer is twice the
 * ring size and a record is always written and read contiguously from its header, which is the same thing.
 * Programs see the whole buffer as one region (so a pointer past the end of a sample is not caught, as the kernel
 * relies on the verifier for that); submitting or discarding a pointer that is not a pending reservation faults.
 *
 * Consumers: `reader()` gives a `RingBufReader` (non-blocking `read()`, `poll(callback)`, and an async iterator
 * that waits for new records). Failed reservations/outputs (full buffer) are counted in `dropped`.
 */
import type { Memory } from '../api.js';
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { round8, type UserMapOptions } from './base.js';
import { MapError } from './errors.js';
import { EventMap, EventReader } from './event-reader.js';

const BUSY = Uapi.BPF_RINGBUF_BUSY_BIT;
const DISCARD = Uapi.BPF_RINGBUF_DISCARD_BIT;
const HDR = Uapi.BPF_RINGBUF_HDR_SZ;
const PAGE = 4096;
/** Page offset of the data area in the kernel's struct bpf_ringbuf (consumer, producer and header pages before). */
const DATA_PGOFF = 3;

/** A ring buffer map. */
export class RingBufMap extends EventMap {
  /** Data size in bytes (max_entries). */
  readonly capacity: number;
  /** Twice `capacity`: records are contiguous from their header (see the module comment). */
  readonly data: Uint8Array;
  private readonly dv: DataView;
  consumerPos = 0;
  producerPos = 0;
  private pendingPos = 0;
  /** Reservations and outputs refused because the buffer was full. */
  dropped = 0;
  /** Records submitted (not discarded) so far. */
  submitted = 0;
  private readonly reserved = new Set<number>();
  private readonly bases = new WeakMap<Memory, bigint>();

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    const n = spec.maxEntries;
    if (spec.keySize !== 0 || spec.valueSize !== 0 || n < PAGE || (n & (n - 1)) !== 0) {
      throw new MapError(spec.name, 'create', -Errno.EINVAL, 'ring buffer needs key/value size 0 and a power-of-2 size of at least one page');
    }
    this.capacity = n;
    this.data = new Uint8Array(2 * n);
    this.dv = new DataView(this.data.buffer);
    registerRingBuffer(this);
  }

  get size(): number {
    return 0;
  }

  /** Base address of the data buffer in `mem`. */
  baseAddress(mem: Memory): bigint {
    let b = this.bases.get(mem);
    if (b === undefined) {
      b = mem.map(this.data, { writable: true, kind: 'mem', name: `ringbuf ${this.name}` });
      this.bases.set(mem, b);
    }
    return b;
  }

  /** Reserve `size` bytes; returns the sample's offset in `data`, or -1 when there is no room. */
  reserve(size: number): number {
    const len = round8(size + HDR);
    if (size > 0x3fffffff || len > this.capacity) {
      this.dropped++;
      return -1;
    }
    const mask = this.capacity - 1;
    let pend = this.pendingPos;
    const prod = this.producerPos;
    while (pend < prod) {
      const hl = this.dv.getUint32(pend & mask, true);
      if (hl & BUSY) break;
      pend += round8((hl & ~DISCARD) + HDR);
    }
    this.pendingPos = pend;
    const next = prod + len;
    if (next - this.consumerPos > mask || next - pend > mask) {
      this.dropped++;
      return -1;
    }
    const off = prod & mask;
    this.dv.setUint32(off, (size | BUSY) >>> 0, true);
    this.dv.setUint32(off + 4, DATA_PGOFF + Math.floor(off / PAGE), true);
    this.producerPos = next;
    this.reserved.add(off + HDR);
    return off + HDR;
  }

  /** Whether `sampleOffset` is a pending reservation. */
  isReserved(sampleOffset: number): boolean {
    return this.reserved.has(sampleOffset);
  }

  /** Commit (or discard) a reservation by its sample offset. `flags`: BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP. */
  commit(sampleOffset: number, discard: boolean, flags = 0): void {
    if (!this.reserved.delete(sampleOffset)) throw new MapError(this.name, 'submit', -Errno.EINVAL, 'not a pending reservation');
    const off = sampleOffset - HDR;
    let hl = this.dv.getUint32(off, true) ^ BUSY;
    if (discard) hl |= DISCARD;
    else this.submitted++;
    this.dv.setUint32(off, hl >>> 0, true);
    if (!(flags & Uapi.BPF_RB_NO_WAKEUP) || flags & Uapi.BPF_RB_FORCE_WAKEUP) this.notify();
  }

  /** bpf_ringbuf_output: copy a sample in. 0 or -errno (-EAGAIN when full, -EINVAL for bad flags). */
  output(sample: Uint8Array, flags = 0): number {
    if (flags & ~(Uapi.BPF_RB_NO_WAKEUP | Uapi.BPF_RB_FORCE_WAKEUP)) return -Errno.EINVAL;
    const at = this.reserve(sample.length);
    if (at < 0) return -Errno.EAGAIN;
    this.data.set(sample, at);
    this.commit(at, false, flags);
    return 0;
  }

  /** bpf_ringbuf_query. */
  query(flag: number): bigint {
    switch (flag) {
      case Uapi.BPF_RB_AVAIL_DATA:
        return BigInt(this.producerPos - this.consumerPos);
      case Uapi.BPF_RB_RING_SIZE:
        return BigInt(this.capacity);
      case Uapi.BPF_RB_CONS_POS:
        return BigInt(this.consumerPos);
      case Uapi.BPF_RB_PROD_POS:
        return BigInt(this.producerPos);
      default:
        return 0n;
    }
  }

  /**
   * Consume the next record: its sample (a copy), `null` for a discarded one (consumed, skipped), or undefined
   * when there is nothing (or the next record is still reserved).
   */
  consumeOne(): Uint8Array | null | undefined {
    if (this.consumerPos >= this.producerPos) return undefined;
    const off = this.consumerPos & (this.capacity - 1);
    const hl = this.dv.getUint32(off, true);
    if (hl & BUSY) return undefined;
    const len = hl & ~DISCARD;
    this.consumerPos += round8(len + HDR);
    if (hl & DISCARD) return null;
    return this.data.slice(off + HDR, off + HDR + len);
  }

  /** A consumer of this ring buffer. */
  reader(): RingBufReader {
    return new RingBufReader(this);
  }

  findValue(): Uint8Array | undefined {
    return undefined;
  }
  updateElem(): number {
    return -Errno.EINVAL;
  }
  deleteElem(): number {
    return -Errno.EINVAL;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }
}

/** Consumer-side counters (same shape as the kernel backend's `RingBuffer.stats`). */
export interface RingBufReaderStats {
  records: number;
  discarded: number;
  bytes: number;
  wakeups: number;
  drains: number;
}

/**
 * Reads records from a userspace ring buffer, in order — the same surface as the kernel backend's `RingBuffer`
 * (src/kernel/ringbuf): `read()`, `drain(fn, max)`, `start(fn)` / `stop()`, `available()`, `stats`, async
 * iteration and `close()`. Records handed to `drain`/`start` callbacks are copies here (the kernel reader gives
 * zero-copy views valid during the call; copying is compatible with both).
 */
export class RingBufReader extends EventReader<Uint8Array> {
  readonly stats: RingBufReaderStats = { records: 0, discarded: 0, bytes: 0, wakeups: 0, drains: 0 };
  constructor(readonly ring: RingBufMap) {
    super(ring);
  }

  /** Consume every committed record (at most `max`), calling `fn` with each; returns how many were delivered. */
  drain(fn: (rec: Uint8Array) => void, max = Infinity): number {
    let n = 0;
    this.stats.drains++;
    while (n < max) {
      const r = this.ring.consumeOne();
      if (r === undefined) break;
      if (r === null) {
        this.stats.discarded++;
        continue;
      }
      this.stats.records++;
      this.stats.bytes += r.length;
      n++;
      fn(r);
    }
    return n;
  }

  /** The next record, or undefined when none is ready. */
  read(): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    this.drain((r) => (out = r), 1);
    return out;
  }

  /** Bytes produced and not yet consumed. */
  available(): number {
    return this.ring.producerPos - this.ring.consumerPos;
  }
}

const byData = new WeakMap<Uint8Array, RingBufMap>();

/** The ring buffer whose data buffer is `bytes` (how helpers find the ring of a sample pointer). */
export function ringOfBuffer(bytes: Uint8Array): RingBufMap | undefined {
  return byData.get(bytes);
}

/** @internal register a ring's buffer (called by the constructor). */
export function registerRingBuffer(r: RingBufMap): void {
  byData.set(r.data, r);
}
