/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY in userspace: one perf buffer per simulated CPU (slot i = CPU i, as libbpf's
 * perf_buffer sets it up), a byte budget per buffer with the kernel's record sizes (perf_event_header 8 + u32 size
 * + sample, padded to 8), and lost-sample counts when a buffer is full (the helper then fails with -ENOSPC and
 * the reader sees a `lost` record before the next sample, like PERF_RECORD_LOST).
 *
 * Helper-side rules kept from the kernel: index BPF_F_CURRENT_CPU (0xffffffff) means the running CPU; an index
 * past max_entries is E2BIG; an empty slot (no reader buffer: see `detach`) is ENOENT; a buffer bound to another
 * CPU than the running one is EOPNOTSUPP.
 */
import type { MapSpec } from '../../spec/map.js';
import { Errno } from '../errno.js';
import { keyU32, round8, u32Key, type UserMapOptions } from './base.js';
import { EventMap, EventReader } from './event-reader.js';

/** One record read from a perf buffer. */
export interface PerfRecord {
  cpu: number;
  /** The raw sample, or undefined for a lost-samples record. */
  sample?: Uint8Array;
  /** Number of samples lost before this point (lost records only). */
  lost?: number;
}

interface CpuBuffer {
  cpu: number;
  capacity: number;
  used: number;
  records: { data: Uint8Array; size: number }[];
  pendingLost: number;
  totalLost: number;
}

/** Options of a perf event array. */
export interface PerfEventArrayOptions extends UserMapOptions {
  /** Bytes per CPU buffer (default 64 KiB = 16 pages). */
  bufferSize?: number;
}

/** A perf event array with in-process per-CPU buffers. */
export class PerfEventArrayMap extends EventMap {
  private readonly buffers: (CpuBuffer | undefined)[];

  constructor(spec: MapSpec, opts: PerfEventArrayOptions = {}) {
    super(spec.maxEntries ? spec : { ...spec, maxEntries: Math.max(1, opts.ncpus ?? 1) }, opts);
    const cap = opts.bufferSize ?? 64 * 1024;
    this.buffers = [];
    for (let i = 0; i < Math.min(this.maxEntries, this.ncpus); i++) {
      this.buffers.push({ cpu: i, capacity: cap, used: 0, records: [], pendingLost: 0, totalLost: 0 });
    }
    this.progWritable = false;
  }

  get size(): number {
    return this.buffers.filter(Boolean).length;
  }

  /** Remove the buffer of slot `index` (outputs to it then fail with ENOENT, as with no perf event in the slot). */
  detach(index: number): void {
    this.buffers[index] = undefined;
  }

  /** Samples lost on CPU `cpu` so far. */
  lost(cpu: number): number {
    return this.buffers[cpu]?.totalLost ?? 0;
  }

  /**
   * bpf_perf_event_output: append `parts` (concatenated) to slot `index` (already resolved from
   * BPF_F_CURRENT_CPU) from a program running on `cpu`. 0 or -errno.
   */
  output(index: number, cpu: number, parts: Uint8Array[]): number {
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const b = this.buffers[index];
    if (!b) return -Errno.ENOENT;
    if (b.cpu !== cpu) return -Errno.EOPNOTSUPP;
    const len = parts.reduce((n, p) => n + p.length, 0);
    const size = 8 + round8(4 + len);
    const lostSize = b.pendingLost ? 24 : 0;
    if (b.used + size + lostSize > b.capacity) {
      b.pendingLost++;
      b.totalLost++;
      return -Errno.ENOSPC;
    }
    if (b.pendingLost) {
      b.records.push({ data: new Uint8Array(0), size: -b.pendingLost });
      b.used += lostSize;
      b.pendingLost = 0;
    }
    const data = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    b.records.push({ data, size });
    b.used += size;
    this.notify();
    return 0;
  }

  /** Take the next record of CPU `cpu`'s buffer. */
  consume(cpu: number): PerfRecord | undefined {
    const b = this.buffers[cpu];
    const r = b?.records.shift();
    if (!b || !r) return undefined;
    if (r.size < 0) {
      b.used -= 24;
      return { cpu, lost: -r.size };
    }
    b.used -= r.size;
    return { cpu, sample: r.data };
  }

  /** A reader over every CPU's buffer. */
  reader(): PerfEventReader {
    return new PerfEventReader(this);
  }

  findValue(key: Uint8Array): Uint8Array | undefined {
    const i = keyU32(key);
    return this.buffers[i] ? u32Key(i) : undefined;
  }
  updateElem(): number {
    return -Errno.EINVAL;
  }
  deleteElem(key: Uint8Array): number {
    const i = keyU32(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if (!this.buffers[i]) return -Errno.ENOENT;
    this.detach(i);
    return 0;
  }
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const i = key ? keyU32(key) : this.maxEntries;
    if (i >= this.maxEntries) return this.maxEntries ? u32Key(0) : undefined;
    return i + 1 < this.maxEntries ? u32Key(i + 1) : undefined;
  }
}

/** Reader counters (same shape as the kernel backend's `PerfReader.stats`). */
export interface PerfEventReaderStats {
  samples: number;
  lost: number;
  lostRecords: number;
  wakeups: number;
}

/** One sample (same shape as the kernel backend's `PerfSampleRecord`). */
export interface PerfSample {
  cpu: number;
  data: Uint8Array;
}

/**
 * Reads samples from every CPU's buffer of a perf event array (CPU 0 first, then 1...) — the surface of the
 * kernel backend's `PerfReader` (src/kernel/perf): `drain(fn)`, `start(fn, onLost)` / `stop()`, `stats`,
 * `close()`, plus `read()` and async iteration over samples.
 */
export class PerfEventReader extends EventReader<PerfSample> {
  readonly stats: PerfEventReaderStats = { samples: 0, lost: 0, lostRecords: 0, wakeups: 0 };
  private onLost?: (cpu: number, lost: number) => void;
  constructor(readonly map: PerfEventArrayMap) {
    super(map);
  }

  /** The next record of any CPU (a sample or a lost-samples record), or undefined. */
  readRecord(): PerfRecord | undefined {
    for (let c = 0; c < this.map.maxEntries; c++) {
      const r = this.map.consume(c);
      if (!r) continue;
      if (r.lost !== undefined) {
        this.stats.lost += r.lost;
        this.stats.lostRecords++;
        this.onLost?.(r.cpu, r.lost);
      } else this.stats.samples++;
      return r;
    }
    return undefined;
  }

  /** The next sample (lost records are counted in `stats` and skipped), or undefined. */
  read(): PerfSample | undefined {
    for (let r = this.readRecord(); r; r = this.readRecord()) if (r.sample) return { cpu: r.cpu, data: r.sample };
    return undefined;
  }

  /** Deliver every ready sample to `fn`; returns how many. */
  drain(fn: (s: PerfSample) => void = this.callback ?? (() => {})): number {
    let n = 0;
    for (let s = this.read(); s; s = this.read()) {
      fn(s);
      n++;
    }
    return n;
  }

  /** Call `fn` for every sample as it is output; `onLost` for lost-sample records. */
  override start(fn: (s: PerfSample) => void, onLost?: (cpu: number, lost: number) => void): this {
    this.onLost = onLost;
    return super.start(fn);
  }
}
