/**
 * BPF ring buffer (BPF_MAP_TYPE_RINGBUF) consumer over the mmapped pages: consumer page RW at offset 0,
 * producer page + data (mapped twice back to back, so records are contiguous across the wrap) RO after it.
 * Records are handed out as zero-copy views valid during the callback (copy with `.slice()` to keep them);
 * the consumer position is written back once per drained batch. BUSY records stop the drain, DISCARD records
 * are skipped. Wake-ups come from libuv polling the map fd (koffi.node.poll, no thread) with ~1 ms coalescing,
 * or a timer when polling is unavailable — Node's event loop is never blocked.
 *
 * The kernel keeps no drop counter for ring buffers: producers see bpf_ringbuf_output/reserve fail and must
 * count their own drops (e.g. in an array map); `stats` reports what this consumer saw.
 */
import { KernelError } from '../../errors.js';
import { MapType, Uapi } from '../../isa/uapi.js';
import { Mapping, PROT_READ, PROT_WRITE } from '../sys/mmap.js';
import { pollFd, systemPageSize } from '../sys/ffi.js';

const BUSY = Uapi.BPF_RINGBUF_BUSY_BIT;
const DISCARD = Uapi.BPF_RINGBUF_DISCARD_BIT;
const HDR = Uapi.BPF_RINGBUF_HDR_SZ;

/** How to wait for records. */
export interface RingBufferOptions {
  /** Coalescing delay after a wake-up before draining, in ms (default 1). 0 drains on every wake-up. */
  coalesceMs?: number;
  /** 'poll' (default): libuv watches the map fd; 'timer': poll the producer position every `timerMs`. */
  wait?: 'poll' | 'timer';
  /** Timer period in ms for the 'timer' mode and the fallback (default 1). */
  timerMs?: number;
  /** Max buffered records for the async iterator before the reader pauses (default 65536). */
  highWaterMark?: number;
}

/** Consumer-side counters. */
export interface RingBufferStats {
  records: number;
  discarded: number;
  bytes: number;
  wakeups: number;
  drains: number;
}

/** Something that is a ring buffer map. */
export interface RingBufferMapLike {
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly name?: string;
}

/** A ring buffer consumer. */
export class RingBuffer {
  readonly size: number;
  readonly stats: RingBufferStats = { records: 0, discarded: 0, bytes: 0, wakeups: 0, drains: 0 };
  private readonly fd: number;
  private readonly page: number;
  private readonly consumerMap: Mapping;
  private readonly producerMap: Mapping;
  private consumerPos: BigUint64Array | undefined;
  private producerPos: BigUint64Array | undefined;
  private data: Uint8Array | undefined;
  private lens: Int32Array | undefined;
  private handle?: ReturnType<typeof pollFd>;
  private timer?: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  private callback?: (rec: Uint8Array) => void;
  private readonly opts: Required<RingBufferOptions>;
  private queue: Uint8Array[] = [];
  private waiters: ((r: IteratorResult<Uint8Array>) => void)[] = [];
  private closed = false;
  private refd = true;

  constructor(map: RingBufferMapLike, opts: RingBufferOptions = {}) {
    if (map.type !== MapType.RINGBUF) {
      throw new KernelError('ringbuf', 22, 'EINVAL', { detail: map.name, hint: 'not a BPF_MAP_TYPE_RINGBUF map' });
    }
    this.fd = map.fd;
    this.size = map.maxEntries;
    this.page = systemPageSize();
    this.opts = { coalesceMs: opts.coalesceMs ?? 1, wait: opts.wait ?? 'poll', timerMs: opts.timerMs ?? 1, highWaterMark: opts.highWaterMark ?? 65536 };
    this.consumerMap = Mapping.map(this.fd, this.page, PROT_READ | PROT_WRITE, 0);
    try {
      this.producerMap = Mapping.map(this.fd, this.page + 2 * this.size, PROT_READ, this.page);
    } catch (e) {
      this.consumerMap.unmap();
      throw e;
    }
    this.consumerPos = new BigUint64Array(this.consumerMap.buffer, 0, 1);
    this.producerPos = new BigUint64Array(this.producerMap.buffer, 0, 1);
    this.data = new Uint8Array(this.producerMap.buffer, this.page, 2 * this.size);
    this.lens = new Int32Array(this.producerMap.buffer, this.page, (2 * this.size) / 4);
  }

  /** Bytes produced but not yet consumed. */
  available(): number {
    if (!this.producerPos || !this.consumerPos) return 0;
    return Number(Atomics.load(this.producerPos, 0) - Atomics.load(this.consumerPos, 0));
  }

  /**
   * Consume every committed record now, calling `fn` with a zero-copy view of each (valid only during the call).
   * Stops at a record still being written (BUSY) or after `max` records. Returns the number consumed.
   */
  drain(fn: (rec: Uint8Array) => void, max = Infinity): number {
    const cp = this.consumerPos;
    const pp = this.producerPos;
    const data = this.data!;
    const lens = this.lens!;
    if (!cp || !pp) throw new KernelError('ringbuf', 9, 'EBADF', { hint: 'ring buffer is closed' });
    const size = BigInt(this.size);
    let cons = Atomics.load(cp, 0);
    const prod = Atomics.load(pp, 0);
    let n = 0;
    let bytes = 0;
    let discarded = 0;
    // Offsets within the ring as Numbers: positions are u64, so reduce with `%` on BigInt (never `&` on Number).
    let off = Number(cons % size);
    let remaining = Number(prod - cons);
    try {
      while (remaining > 0 && n < max) {
        const len = Atomics.load(lens, off >> 2);
        if (len & BUSY) break;
        const recLen = len & ~(BUSY | DISCARD) & 0x3fffffff;
        const adv = (recLen + HDR + 7) & ~7;
        // Advance before the callback (as libbpf does): a record whose callback throws counts as consumed.
        cons += BigInt(adv);
        remaining -= adv;
        if (len & DISCARD) discarded++;
        else {
          n++;
          bytes += recLen;
          fn(data.subarray(off + HDR, off + HDR + recLen));
          // The callback may have closed the reader: the mapping is gone, touch nothing more.
          if (this.closed) break;
        }
        off += adv;
        if (off >= this.size) off -= this.size;
      }
    } finally {
      // Commit what was consumed even when a callback throws (else those records would be delivered again);
      // never after close (the consumer page is unmapped).
      if (!this.closed) Atomics.store(cp, 0, cons);
      this.stats.records += n;
      this.stats.bytes += bytes;
      this.stats.discarded += discarded;
      this.stats.drains++;
    }
    return n;
  }

  /** The next record as a copy, or undefined when none is ready. */
  read(): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    this.drain((r) => (out = r.slice()), 1);
    return out;
  }

  /** Call `fn` for every record as it arrives (zero-copy views). Replaces any previous callback. */
  start(fn: (rec: Uint8Array) => void): this {
    this.callback = fn;
    this.arm();
    return this;
  }

  /** Stop watching (records stay in the ring). */
  stop(): void {
    this.callback = undefined;
    this.disarm();
  }

  /** Let the process exit while watching (like `timer.unref()`). */
  unref(): this {
    this.refd = false;
    this.handle?.unref();
    this.timer?.unref();
    return this;
  }

  private deliver = (rec: Uint8Array): void => {
    if (this.callback) this.callback(rec);
    else {
      const w = this.waiters.shift();
      if (w) w({ value: rec.slice(), done: false });
      else this.queue.push(rec.slice());
    }
  };

  private onWake = (): void => {
    this.stats.wakeups++;
    if (this.opts.coalesceMs <= 0) {
      this.drain(this.deliver);
      return;
    }
    if (this.pending) return;
    // Coalesce: stop polling, drain a moment later (fewer wake-ups, producer runs uninterrupted), re-arm.
    this.handle?.stop();
    this.pending = setTimeout(() => {
      this.pending = undefined;
      if (this.closed) return;
      this.drain(this.deliver);
      if (this.isWanted()) this.handle?.start();
    }, this.opts.coalesceMs);
    if (!this.refd) this.pending.unref();
  };

  private isWanted(): boolean {
    return !this.closed && (this.callback !== undefined || (this.waiters.length > 0 && this.queue.length < this.opts.highWaterMark));
  }

  private arm(): void {
    if (this.closed) return;
    if (this.opts.wait === 'poll' && !this.timer) {
      try {
        if (!this.handle) {
          this.handle = pollFd(this.fd, this.onWake);
          if (!this.refd) this.handle.unref();
        } else if (!this.pending) this.handle.start();
        // Records already waiting do not trigger a fresh wake-up on every kernel: drain them now.
        if (this.available() > 0) queueMicrotask(() => this.isWanted() && this.drain(this.deliver));
        return;
      } catch {
        this.handle = undefined; // fall back to the timer
      }
    }
    if (!this.timer) {
      this.timer = setInterval(() => {
        if (this.available() > 0) {
          this.stats.wakeups++;
          this.drain(this.deliver);
        }
        if (!this.isWanted()) this.disarm();
      }, this.opts.timerMs);
      if (!this.refd) this.timer.unref();
    }
  }

  private disarm(): void {
    this.handle?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
  }

  /** Records as copies, as they arrive (async iteration; ends when the reader is closed). */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        const q = this.queue.shift();
        if (q) return Promise.resolve({ value: q, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        // Anything already waiting?
        const got = this.read();
        if (got) return Promise.resolve({ value: got, done: false });
        return new Promise<IteratorResult<Uint8Array>>((resolve) => {
          this.waiters.push(resolve);
          this.arm();
        });
      },
      return: () => {
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Stop, unmap, and end async iterators. The map itself is not closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.handle?.close();
    this.handle = undefined;
    this.consumerPos = this.producerPos = undefined;
    this.data = undefined;
    this.lens = undefined;
    this.consumerMap.unmap();
    this.producerMap.unmap();
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}
