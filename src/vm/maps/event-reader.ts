/**
 * What the userspace ring buffer and perf event array share. The maps: a list of waiting readers woken on new
 * data and on `close()` (`EventMap`). The readers: a callback loop (`start` / `stop`) that drains whatever is
 * ready and then waits for the map's next wake-up, async iteration that ends when the reader or the map is
 * closed, and `close()`. Subclasses say how one record is read and how a batch is drained.
 */
import { UserMap } from './base.js';

/** The map a reader waits on: it wakes its readers on new data and when it is closed. */
export interface EventSource {
  waitForData(): Promise<void>;
  notify(): void;
  readonly isClosed: boolean;
}

/** A map readers wait on: `notify()` wakes every waiting reader; closing the map wakes them too. */
export abstract class EventMap extends UserMap implements EventSource {
  readonly #waiters = new Set<() => void>();

  /** Wake readers waiting for data. */
  notify(): void {
    const w = [...this.#waiters];
    this.#waiters.clear();
    for (const f of w) f();
  }

  /** Resolves at the next wake-up (new data, or the map closed). */
  waitForData(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  override close(): void {
    super.close();
    this.notify();
  }
}

/** A reader of records of type `T` from an {@link EventSource}. */
export abstract class EventReader<T> implements AsyncIterable<T> {
  /** Counters; `wakeups` counts the map's wake-ups seen by `start` loops and iterators. */
  abstract readonly stats: { wakeups: number };
  protected closed = false;
  protected callback?: (rec: T) => void;

  protected constructor(private readonly source: EventSource) {}

  /** The next record, or undefined when none is ready. */
  abstract read(): T | undefined;

  /** Deliver every ready record to `fn`; returns how many. */
  abstract drain(fn: (rec: T) => void): number;

  /** Call `fn` for every record as it arrives (and for those already there). */
  start(fn: (rec: T) => void): this {
    this.callback = fn;
    const loop = () => {
      if (this.closed || this.callback !== fn) return;
      this.drain(fn);
      this.source.waitForData().then(() => {
        this.stats.wakeups++;
        loop();
      });
    };
    loop();
    return this;
  }

  /** Stop calling the `start` callback. */
  stop(): void {
    this.callback = undefined;
  }

  /** Records as they arrive, until `close()` (of the reader or the map). */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.closed) {
      const r = this.read();
      if (r) {
        yield r;
        continue;
      }
      await this.source.waitForData();
      this.stats.wakeups++;
      if (this.source.isClosed) this.closed = true;
    }
    for (let r = this.read(); r; r = this.read()) yield r;
  }

  /** Stop and end async iterators (records not read stay in the map). */
  close(): void {
    this.closed = true;
    this.callback = undefined;
    this.source.notify();
  }
}
