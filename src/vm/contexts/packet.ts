/**
 * A packet as programs see it: a frame buffer with headroom and tailroom, the metadata / data / end offsets in it,
 * and one `packet` region over exactly [data_meta, data_end) so every access outside the current packet faults.
 * Resizing helpers (xdp_adjust_head/tail/meta, skb_change_tail, vlan push/pop, adjust_room...) move the offsets or
 * reallocate the frame, remap the region and tell the context to refresh its pointer fields.
 */
import type { Memory } from '../api.js';

/** Packet buffer options. */
export interface PacketBufferOptions {
  /** Bytes before the packet (XDP test runs: 256, XDP_PACKET_HEADROOM). */
  headroom: number;
  /** Bytes after the packet the frame keeps for growth (XDP: up to the frame size minus skb_shared_info). */
  tailroom: number;
  /** Whether the frame may be reallocated to grow beyond its tailroom / headroom (skbs: yes; XDP: no). */
  growable: boolean;
}

/** A packet in VM memory. */
export class PacketBuffer {
  frame: Uint8Array;
  /** Offsets in `frame`. */
  meta: number;
  data: number;
  end: number;
  readonly growable: boolean;
  /** Region base (the address of `meta`). */
  readonly base: bigint;
  /** Called after every change of offsets or frame (the context refreshes data/data_end/data_meta). */
  onChange: (() => void) | undefined;

  constructor(
    private readonly mem: Memory,
    packet: Uint8Array,
    opts: PacketBufferOptions,
  ) {
    this.frame = new Uint8Array(opts.headroom + packet.length + opts.tailroom);
    this.frame.set(packet, opts.headroom);
    this.meta = this.data = opts.headroom;
    this.end = opts.headroom + packet.length;
    this.growable = opts.growable;
    this.base = mem.map(this.frame.subarray(this.meta, this.end), { writable: true, kind: 'packet', name: 'packet' });
  }

  get length(): number {
    return this.end - this.data;
  }
  get metaLength(): number {
    return this.data - this.meta;
  }
  get headroom(): number {
    return this.meta;
  }
  get tailroom(): number {
    return this.frame.length - this.end;
  }
  /** Address of the first packet byte. */
  get dataAddr(): bigint {
    return this.base + BigInt(this.data - this.meta);
  }
  get dataEndAddr(): bigint {
    return this.base + BigInt(this.end - this.meta);
  }
  get metaAddr(): bigint {
    return this.base;
  }

  /** Live view of the packet bytes (data .. end). */
  bytes(): Uint8Array {
    return this.frame.subarray(this.data, this.end);
  }
  /** Live view of the metadata bytes (meta .. data). */
  metaBytes(): Uint8Array {
    return this.frame.subarray(this.meta, this.data);
  }

  /** Apply new offsets: remap the region and notify. */
  commit(): void {
    this.mem.remap(this.base, this.frame.subarray(this.meta, this.end));
    this.onChange?.();
  }

  /** Make sure there are `head` bytes of headroom and `tail` bytes of tailroom, reallocating when allowed. */
  reserve(head: number, tail: number): boolean {
    if (this.meta >= head && this.tailroom >= tail) return true;
    if (!this.growable) return false;
    const newHead = Math.max(head, this.meta);
    const len = this.end - this.meta;
    const frame = new Uint8Array(newHead + len + Math.max(tail, this.tailroom));
    frame.set(this.frame.subarray(this.meta, this.end), newHead);
    const shift = newHead - this.meta;
    this.frame = frame;
    this.meta += shift;
    this.data += shift;
    this.end += shift;
    return true;
  }

  /** Replace bytes [off, off+del) of the packet (relative to data) with `ins` zero bytes... or the given bytes. */
  splice(off: number, del: number, ins: Uint8Array | number): void {
    const insLen = typeof ins === 'number' ? ins : ins.length;
    const grow = insLen - del;
    if (grow > 0) this.reserve(0, grow);
    const at = this.data + off;
    this.frame.copyWithin(at + insLen, at + del, this.end);
    if (typeof ins === 'number') this.frame.fill(0, at, at + insLen);
    else this.frame.set(ins, at);
    this.end += grow;
    if (grow < 0) this.frame.fill(0, this.end, this.end - grow);
  }
}
