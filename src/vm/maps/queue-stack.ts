/**
 * BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO) in userspace: no keys (key_size 0), values pushed,
 * popped and peeked (bpf_map_push_elem / pop_elem / peek_elem; from userspace update = push, lookup = peek,
 * lookupAndDelete = pop).
 *
 * Kernel semantics kept: push on a full map → E2BIG, unless BPF_EXIST, which drops the oldest element (for both
 * queue and stack); NOEXIST or unknown flags → EINVAL; pop/peek of an empty map → ENOENT; delete and get_next_key →
 * EINVAL.
 */
import type { MapSpec } from '../../spec/map.js';
import { MapType, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, type UserMapOptions } from './base.js';

/** A queue or a stack of values. */
export class QueueStackMap extends UserMap {
  /** True for BPF_MAP_TYPE_STACK. */
  readonly lifo: boolean;
  /** Oldest first. */
  private readonly items: Uint8Array[] = [];

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    this.lifo = spec.type === MapType.STACK;
  }

  get size(): number {
    return this.items.length;
  }

  /** Push a value (0 or -errno). */
  pushElem(value: Uint8Array, flags: number): number {
    if (flags & Uapi.BPF_NOEXIST || flags < 0 || flags > Uapi.BPF_EXIST) return -Errno.EINVAL;
    if (this.items.length >= this.maxEntries) {
      if (!(flags & Uapi.BPF_EXIST)) return -Errno.E2BIG;
      this.items.shift();
    }
    this.items.push(value.slice(0, this.valueSize));
    return 0;
  }

  /** The next value (front of the queue / top of the stack), removed unless `peek`. */
  popElem(peek: boolean): Uint8Array | undefined {
    if (!this.items.length) return undefined;
    if (peek) return this.lifo ? this.items[this.items.length - 1] : this.items[0];
    return this.lifo ? this.items.pop() : this.items.shift();
  }

  findValue(): Uint8Array | undefined {
    return this.popElem(true);
  }
  updateElem(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.pushElem(value, flags);
  }
  deleteElem(): number {
    return -Errno.EINVAL;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }

  /** Push from userspace (throws MapError). */
  push(value: Uint8Array, flags = 0): void {
    if (value.length !== this.valueSize) this.fail('push', -Errno.EINVAL, `value is ${value.length} bytes`);
    const r = this.pushElem(value, flags);
    if (r) this.fail('push', r);
  }
  /** Pop from userspace (undefined when empty). */
  pop(): Uint8Array | undefined {
    return this.popElem(false)?.slice();
  }
  /** Peek from userspace (undefined when empty). */
  peek(): Uint8Array | undefined {
    return this.popElem(true)?.slice();
  }
  override lookup(): Uint8Array | undefined {
    return this.peek();
  }
  override lookupAndDelete(): Uint8Array | undefined {
    return this.pop();
  }
  override update(_key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.push(value, flags);
  }
  override delete(_key?: Uint8Array): boolean {
    this.fail('delete', -Errno.EINVAL);
  }
  /** Values from the next to be popped to the last. */
  values(): Uint8Array[] {
    const v = this.items.map((x) => x.slice());
    return this.lifo ? v.reverse() : v;
  }
}
