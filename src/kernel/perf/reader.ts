/**
 * Perf event array reader (BPF_MAP_TYPE_PERF_EVENT_ARRAY + bpf_perf_event_output): one software BPF_OUTPUT
 * perf event per CPU, each with an mmapped ring (metadata page + 2^n data pages), its fd stored in the map at
 * the CPU's index. PERF_RECORD_SAMPLE records deliver the raw data; PERF_RECORD_LOST records count what the
 * kernel dropped (reported in `stats.lost`). Records that wrap the ring end are copied to be contiguous.
 * Wake-ups: libuv polling of each CPU's fd with ~1 ms coalescing, timer fallback.
 */
import { KernelError } from '../../errors.js';
import { MapType } from '../../isa/uapi.js';
import { LAYOUTS } from '../sys/attr.js';
import { FdRef } from '../sys/fd.js';
import { pollFd, systemPageSize } from '../sys/ffi.js';
import { onlineCpus } from '../sys/fs.js';
import { Mapping, PROT_READ, PROT_WRITE } from '../sys/mmap.js';
import { ioctl, perfEventOpen, PerfIoctl, PerfRecord, PerfSample, PerfSwConfig, PerfType } from '../sys/perf.js';
import type { BpfMap } from '../../spec/map.js';

const HEAD = LAYOUTS.PERF_MMAP_PAGE.fields.data_head[0];
const TAIL = LAYOUTS.PERF_MMAP_PAGE.fields.data_tail[0];

/** Options for a perf reader. */
export interface PerfReaderOptions {
  /** Data pages per CPU, a power of two (default 64 → 256 KiB with 4 KiB pages). */
  pagesPerCpu?: number;
  /** Wake up after this many events (default 1). */
  wakeupEvents?: number;
  coalesceMs?: number;
  /** Period of the safety drain timer in ms (default 10). */
  fallbackMs?: number;
  /** CPUs to read (default all online, which must be < the map's max entries). */
  cpus?: number[];
}

/** One delivered sample. */
export interface PerfSampleRecord {
  cpu: number;
  /** The raw data (a view valid during the callback). */
  data: Uint8Array;
}

/** Reader counters. */
export interface PerfReaderStats {
  samples: number;
  /** Samples the kernel dropped (PERF_RECORD_LOST totals). */
  lost: number;
  lostRecords: number;
  wakeups: number;
}

interface CpuRing {
  cpu: number;
  fd: FdRef;
  map: Mapping;
  meta: BigUint64Array;
  data: Uint8Array;
  poll?: ReturnType<typeof pollFd>;
}

/** Reads bpf_perf_event_output data from every CPU. */
export class PerfReader {
  readonly stats: PerfReaderStats = { samples: 0, lost: 0, lostRecords: 0, wakeups: 0 };
  private readonly rings: CpuRing[] = [];
  private readonly dataSize: number;
  private readonly page: number;
  private callback?: (s: PerfSampleRecord) => void;
  private onLost?: (cpu: number, lost: number) => void;
  private pending?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly coalesceMs: number;
  private readonly fallbackMs: number;

  constructor(
    private readonly map: BpfMap & { fd: number },
    opts: PerfReaderOptions = {},
  ) {
    if (map.type !== MapType.PERF_EVENT_ARRAY) throw new KernelError('perf', 22, 'EINVAL', { detail: map.name, hint: 'not a BPF_MAP_TYPE_PERF_EVENT_ARRAY map' });
    const pages = opts.pagesPerCpu ?? 64;
    if (pages & (pages - 1)) throw new KernelError('perf', 22, 'EINVAL', { hint: `pagesPerCpu ${pages} is not a power of two` });
    this.page = systemPageSize();
    this.dataSize = pages * this.page;
    this.coalesceMs = opts.coalesceMs ?? 1;
    this.fallbackMs = opts.fallbackMs ?? 10;
    const cpus = opts.cpus ?? onlineCpus();
    try {
      for (const cpu of cpus) {
        if (cpu >= map.maxEntries) throw new KernelError('perf', 22, 'EINVAL', { detail: map.name, hint: `CPU ${cpu} is beyond the map's ${map.maxEntries} entries` });
        const fd = perfEventOpen({
          type: PerfType.SOFTWARE,
          config: PerfSwConfig.BPF_OUTPUT,
          sampleType: PerfSample.RAW,
          samplePeriod: 1,
          wakeupEvents: opts.wakeupEvents ?? 1,
          cpu,
          pid: -1,
        });
        let m: Mapping;
        try {
          m = Mapping.map(fd.fd, this.page + this.dataSize, PROT_READ | PROT_WRITE, 0);
        } catch (e) {
          fd.close();
          throw e;
        }
        this.rings.push({ cpu, fd, map: m, meta: new BigUint64Array(m.buffer, 0, this.page / 8), data: new Uint8Array(m.buffer, this.page, this.dataSize) });
        const key = Buffer.alloc(4);
        key.writeUInt32LE(cpu);
        const val = Buffer.alloc(4);
        val.writeUInt32LE(fd.fd);
        map.update(key, val);
        ioctl(fd.fd, PerfIoctl.ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Read everything available on every CPU now; returns the number of samples delivered. */
  drain(fn: (s: PerfSampleRecord) => void = this.callback ?? (() => {})): number {
    let n = 0;
    for (const r of this.rings) n += this.drainRing(r, fn);
    return n;
  }

  private drainRing(r: CpuRing, fn: (s: PerfSampleRecord) => void): number {
    const headIdx = HEAD / 8;
    const tailIdx = TAIL / 8;
    const head = Atomics.load(r.meta, headIdx);
    let tail = r.meta[tailIdx]!;
    const size = BigInt(this.dataSize);
    const dv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    let n = 0;
    try {
      while (tail < head) {
        const off = Number(tail % size);
        const rec = this.contiguous(r.data, off, 8);
        const rdv = rec === r.data ? dv : new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
        const base = rec === r.data ? off : 0;
        const type = rdv.getUint32(base, true);
        const recSize = rdv.getUint16(base + 6, true);
        if (recSize === 0) break;
        const whole = this.contiguous(r.data, off, recSize);
        const wdv = whole === r.data ? dv : new DataView(whole.buffer, whole.byteOffset, whole.byteLength);
        const wb = whole === r.data ? off : 0;
        // Consumed before the callback: a record whose callback throws is not delivered again.
        tail += BigInt(recSize);
        if (type === PerfRecord.SAMPLE) {
          const len = wdv.getUint32(wb + 8, true);
          n++;
          fn({ cpu: r.cpu, data: whole.subarray(wb + 12, wb + 12 + len) });
        } else if (type === PerfRecord.LOST) {
          const lost = Number(wdv.getBigUint64(wb + 16, true));
          this.stats.lost += lost;
          this.stats.lostRecords++;
          this.onLost?.(r.cpu, lost);
        }
        // A callback may have closed the reader: the ring is unmapped, touch nothing more.
        if (this.closed) break;
      }
    } finally {
      if (!this.closed) Atomics.store(r.meta, tailIdx, tail);
      this.stats.samples += n;
    }
    return n;
  }

  /** `len` bytes at `off` of the ring: the ring itself when they do not wrap, else a copy. */
  private contiguous(data: Uint8Array, off: number, len: number): Uint8Array {
    if (off + len <= data.length) return data;
    const out = new Uint8Array(len);
    const first = data.length - off;
    out.set(data.subarray(off), 0);
    out.set(data.subarray(0, len - first), first);
    return out;
  }

  /** True when some CPU's ring holds unread records (a memory read, no syscall). */
  pendingData(): boolean {
    for (const r of this.rings) if (Atomics.load(r.meta, HEAD / 8) !== r.meta[TAIL / 8]) return true;
    return false;
  }

  /**
   * Deliver samples as they arrive. `onLost` hears about drops. Perf fds report readiness once per kernel
   * wake-up (the poll consumes it), so a wake-up that happens before libuv registers the fd can be missed:
   * a cheap fallback timer (`fallbackMs`, default 10 ms, memory reads only) drains anything left behind.
   */
  start(fn: (s: PerfSampleRecord) => void, onLost?: (cpu: number, lost: number) => void): this {
    this.callback = fn;
    this.onLost = onLost;
    const wake = () => {
      this.stats.wakeups++;
      if (this.pending || this.closed) return;
      for (const r of this.rings) r.poll?.stop();
      this.pending = setTimeout(() => {
        this.pending = undefined;
        if (this.closed || !this.callback) return;
        this.drain(this.callback);
        for (const r of this.rings) r.poll?.start();
      }, this.coalesceMs);
    };
    try {
      for (const r of this.rings) {
        if (r.poll) r.poll.start();
        else r.poll = pollFd(r.fd.fd, wake);
      }
    } catch {
      /* no libuv polling: the timer below does the work */
    }
    this.timer ??= setInterval(() => {
      if (this.callback && !this.pending && this.pendingData()) this.drain(this.callback);
    }, this.fallbackMs);
    setImmediate(() => this.callback && !this.closed && this.drain(this.callback));
    return this;
  }

  /** Stop delivering. */
  stop(): void {
    this.callback = undefined;
    for (const r of this.rings) r.poll?.stop();
    if (this.pending) clearTimeout(this.pending);
    if (this.timer) clearInterval(this.timer);
    this.pending = this.timer = undefined;
  }

  /** Stop, remove the fds from the map, unmap and close the perf events (concurrently; ~72 ms each in the kernel). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    const closing: Promise<void>[] = [];
    for (const r of this.rings) {
      r.poll?.close();
      try {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(r.cpu);
        this.map.delete(key);
      } catch {
        /* map may be closed */
      }
      r.map.unmap();
      closing.push(r.fd.closeAsync());
    }
    this.rings.length = 0;
    await Promise.all(closing);
  }
}
