/**
 * BPF_MAP_TYPE_LPM_TRIE in userspace: longest-prefix match over keys `{ u32 prefixlen; u8 data[] }` (prefixlen
 * in host order, data in network order). The trie has the kernel's shape (kernel/bpf/lpm_trie.c): binary nodes
 * with a prefix length, real and intermediate nodes, the same insertion, deletion and post-order get_next_key
 * (more specific prefixes before less specific ones), so iteration order matches the kernel's.
 *
 * Kernel semantics kept: BPF_F_NO_PREALLOC required; prefixlen > data bits → EINVAL on update/delete (lookup
 * NULL); a full trie refuses new prefixes with ENOSPC (replacing an existing prefix still works); NOEXIST/EXIST;
 * delete of an absent prefix → ENOENT; a replaced prefix gets a new value buffer (old pointers see the old value).
 */
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, keyU32, type UserMapOptions } from './base.js';
import { MapError } from './errors.js';

interface Node {
  prefixlen: number;
  /** Key data (`dataSize` bytes; bits past prefixlen are kept as given, like the kernel). */
  data: Uint8Array;
  value: Uint8Array | null;
  intermediate: boolean;
  child: [Node | null, Node | null];
}

function extractBit(data: Uint8Array, index: number): 0 | 1 {
  return (data[index >> 3] >> (7 - (index & 7))) & 1 ? 1 : 0;
}

/** A longest-prefix-match trie. */
export class LpmTrieMap extends UserMap {
  readonly dataSize: number;
  readonly maxPrefixlen: number;
  private root: Node | null = null;
  private entries_ = 0;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    if (!(spec.flags & Uapi.BPF_F_NO_PREALLOC)) throw new MapError(spec.name, 'create', -Errno.EINVAL, 'LPM trie needs BPF_F_NO_PREALLOC');
    if (spec.keySize < 5 || spec.keySize > 4 + 256) throw new MapError(spec.name, 'create', -Errno.EINVAL, `LPM key size ${spec.keySize}`);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
  }

  get size(): number {
    return this.entries_;
  }

  /** Bits of `node` matching `key` (capped at both prefix lengths). */
  private match(node: Node, plen: number, kd: Uint8Array): number {
    const limit = Math.min(node.prefixlen, plen);
    let n = 0;
    for (let i = 0; i < this.dataSize; i++) {
      const diff = node.data[i] ^ kd[i];
      if (diff === 0) {
        n += 8;
        if (n >= limit) return limit;
        continue;
      }
      n += Math.clz32(diff) - 24;
      return n >= limit ? limit : n;
    }
    return Math.min(n, limit);
  }

  private split(key: Uint8Array): { plen: number; data: Uint8Array } {
    return { plen: keyU32(key), data: key.subarray(4, 4 + this.dataSize) };
  }

  private lookupNode(key: Uint8Array): Node | null {
    const { plen, data } = this.split(key);
    if (plen > this.maxPrefixlen) return null;
    let found: Node | null = null;
    for (let node = this.root; node; ) {
      const m = this.match(node, plen, data);
      if (m === this.maxPrefixlen) {
        found = node;
        break;
      }
      if (m < node.prefixlen) break;
      if (!node.intermediate) found = node;
      node = node.child[extractBit(data, node.prefixlen)];
    }
    return found;
  }

  findValue(key: Uint8Array): Uint8Array | undefined {
    return this.lookupNode(key)?.value ?? undefined;
  }

  private checkAdd(flags: number): number {
    if (flags === Uapi.BPF_EXIST) return -Errno.ENOENT;
    if (this.entries_ === this.maxEntries) return -Errno.ENOSPC;
    this.entries_++;
    return 0;
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags < 0 || flags > Uapi.BPF_EXIST) return -Errno.EINVAL;
    const { plen, data } = this.split(key);
    if (plen > this.maxPrefixlen) return -Errno.EINVAL;
    const fresh: Node = {
      prefixlen: plen,
      data: data.slice(),
      value: value.slice(0, this.valueSize),
      intermediate: false,
      child: [null, null],
    };
    // Walk to the slot: `parent.child[bit]` or the root.
    let parent: Node | null = null;
    let bit: 0 | 1 = 0;
    let node = this.root;
    let m = 0;
    while (node) {
      m = this.match(node, plen, data);
      if (node.prefixlen !== m || node.prefixlen === plen) break;
      parent = node;
      bit = extractBit(data, node.prefixlen);
      node = node.child[bit];
    }
    const put = (n: Node) => {
      if (parent) parent.child[bit] = n;
      else this.root = n;
    };
    if (!node) {
      const r = this.checkAdd(flags);
      if (r) return r;
      put(fresh);
      return 0;
    }
    if (node.prefixlen === m) {
      if (!node.intermediate) {
        if (flags === Uapi.BPF_NOEXIST) return -Errno.EEXIST;
      } else {
        const r = this.checkAdd(flags);
        if (r) return r;
      }
      fresh.child = [node.child[0], node.child[1]];
      put(fresh);
      return 0;
    }
    const r = this.checkAdd(flags);
    if (r) return r;
    if (m === plen) {
      fresh.child[extractBit(node.data, m)] = node;
      put(fresh);
      return 0;
    }
    const im: Node = { prefixlen: m, data: node.data.slice(), value: null, intermediate: true, child: [null, null] };
    if (extractBit(data, m)) im.child = [node, fresh];
    else im.child = [fresh, node];
    put(im);
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    const { plen, data } = this.split(key);
    if (plen > this.maxPrefixlen) return -Errno.EINVAL;
    // trim = slot of node (holder + bit); trim2 = slot of parent.
    type Slot = { holder: Node | null; bit: 0 | 1 };
    let trim: Slot = { holder: null, bit: 0 };
    let trim2: Slot = trim;
    let parent: Node | null = null;
    let node = this.root;
    let m = 0;
    while (node) {
      m = this.match(node, plen, data);
      if (node.prefixlen !== m || node.prefixlen === plen) break;
      parent = node;
      trim2 = trim;
      const b = extractBit(data, node.prefixlen);
      trim = { holder: node, bit: b };
      node = node.child[b];
    }
    if (!node || node.prefixlen !== plen || node.prefixlen !== m || node.intermediate) return -Errno.ENOENT;
    const set = (s: Slot, n: Node | null) => {
      if (s.holder) s.holder.child[s.bit] = n;
      else this.root = n;
    };
    this.entries_--;
    if (node.child[0] && node.child[1]) {
      node.intermediate = true;
      node.value = null;
      return 0;
    }
    if (parent && parent.intermediate && !node.child[0] && !node.child[1]) {
      set(trim2, node === parent.child[0] ? parent.child[1] : parent.child[0]);
      return 0;
    }
    set(trim, node.child[0] ?? node.child[1] ?? null);
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const root = this.root;
    if (!root) return undefined;
    const leftmost = (from: Node): Node => {
      let next: Node | null = null;
      for (let n: Node | null = from; n; ) {
        if (n.intermediate) n = n.child[0];
        else {
          next = n;
          n = n.child[0] ?? n.child[1];
        }
      }
      return next!;
    };
    const emit = (n: Node): Uint8Array => {
      const k = new Uint8Array(this.keySize);
      new DataView(k.buffer).setUint32(0, n.prefixlen, true);
      k.set(n.data, 4);
      return k;
    };
    if (!key) return emit(leftmost(root));
    const { plen, data } = this.split(key);
    if (plen > this.maxPrefixlen) return emit(leftmost(root));
    const stack: Node[] = [];
    let node: Node | null = root;
    let m = 0;
    while (node) {
      stack.push(node);
      m = this.match(node, plen, data);
      if (node.prefixlen !== m || node.prefixlen === plen) break;
      node = node.child[extractBit(data, node.prefixlen)];
    }
    if (!node || node.prefixlen !== m || node.intermediate) return emit(leftmost(root));
    let cur = stack[stack.length - 1];
    for (let sp = stack.length - 1; sp > 0; sp--) {
      const p = stack[sp - 1];
      if (p.child[0] === cur && p.child[1]) return emit(leftmost(p.child[1]));
      if (!p.intermediate) return emit(p);
      cur = p;
    }
    return undefined;
  }
}
