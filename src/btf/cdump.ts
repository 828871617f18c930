/**
 * `btf dump format c`: writes a BTF as a C header (vmlinux.h) that clang accepts. Types are ordered by
 * dependency (a struct embedded by value is defined before its container; references through pointers only
 * need a forward declaration), anonymous types are inlined, and duplicate names get `___N` suffixes — the same
 * algorithm as libbpf's btf_dump.c, so the output matches `bpftool btf dump ... format c`.
 *
 * The ordering and emission passes read the raw type records (`RawTypes`) and keep only a few bytes of state per
 * type; the text is written as UTF-8 into one reused buffer and handed out in chunks (`btfToCBytes`,
 * `btfToCChunks`, `writeBtfAsC`), so a whole vmlinux is never held in memory at once.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { CWriter } from './cdecl.js';
import { RawTypes } from './rawtypes.js';
import type { TextSink } from './textsink.js';
import { BtfKind } from './types.js';

/** Options for `btfToC`. */
export interface BtfToCOptions {
  /** Only these type ids and what they depend on (default: every type of the blob). */
  roots?: readonly number[];
  /** Include-guard macro (default `__VMLINUX_H__`); '' for none. */
  guard?: string;
  /** Wrap the types in the `preserve_access_index` pragma block (default true). */
  preserveAccessIndex?: boolean;
}

/** Options for the streaming variants (`btfToCBytes`, `btfToCChunks`, `writeBtfAsC`). */
export interface WriteBtfAsCOptions extends BtfToCOptions {
  /** Hand out text once at least this many bytes are pending (default 64 KiB). */
  chunkSize?: number;
}

/** Ordering states of a type (0 = not ordered yet is the array's initial value). */
const ORDERING = 1;
const ORDERED = 2;
const NOT_EMITTED = 0;
const EMITTING = 1;
const EMITTED = 2;
/** Deepest recursion of ordering/emission; deeper means a malformed (cyclic) BTF. */
const MAX_DEPTH = 512;
const DEFAULT_CHUNK = 64 * 1024;

/** One dump session: per-type ordering and emission state, as libbpf's struct btf_dump. */
class CDumper {
  private readonly r: RawTypes;
  private readonly w: CWriter;
  /** The writer's output buffer: text not handed out yet. */
  readonly out: TextSink;
  private readonly orderState: Uint8Array;
  private readonly emitState: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  /** Types ordered by the current root, ready to emit: `queue[0 .. queued)` (the array is reused). */
  private readonly queue: number[] = [];
  private queued = 0;

  constructor(readonly btf: Btf) {
    const n = btf.typeCount;
    this.r = RawTypes.of(btf);
    this.w = new CWriter(btf, { dedupNames: true });
    this.out = this.w.sink;
    this.orderState = new Uint8Array(n);
    this.emitState = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    // void is always ordered and emitted (libbpf's btf_dump__new does the same).
    this.orderState[0] = ORDERED;
    this.emitState[0] = EMITTED;
    this.markReferenced();
  }

  /** The pending text as UTF-8 bytes, which are then handed out. */
  take(): Uint8Array {
    const chunk = this.out.bytes();
    this.out.len = 0;
    return chunk;
  }

  /** Check every own type (as decoding each would) and mark the types something refers to. */
  private markReferenced(): void {
    const r = this.r;
    const w = r.words;
    const ref = this.referenced;
    for (let id = this.btf.startId; id < this.btf.typeCount; id++) {
      const at = r.rec(id);
      const info = w[at + 1]!;
      const vlen = info & 0xffff;
      switch ((info >>> 24) & 0x1f) {
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.PTR:
        case BtfKind.TYPEDEF:
        case BtfKind.FUNC:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
        case BtfKind.TYPE_TAG:
          ref[w[at + 2]!] = 1;
          break;
        case BtfKind.ARRAY:
          ref[w[at + 4]!] = 1;
          ref[w[at + 3]!] = 1;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          for (let i = 0, m = at + 4; i < vlen; i++, m += 3) ref[w[m]!] = 1;
          break;
        case BtfKind.FUNC_PROTO:
          for (let i = 0, p = at + 4; i < vlen; i++, p += 2) ref[w[p]!] = 1;
          break;
        case BtfKind.DATASEC:
          for (let i = 0, v = at + 3; i < vlen; i++, v += 3) ref[w[v]!] = 1;
          break;
      }
    }
  }

  private loop(id: number): BtfError {
    return new BtfError(`unsatisfiable type cycle at type id ${id}`, { section: this.btf.section });
  }

  /** libbpf's btf_dump_order_type: returns true for a "strong" (by-value) link. */
  order(id: number, throughPtr: boolean, depth: number): boolean {
    if (depth > MAX_DEPTH) throw this.loop(id);
    const st = this.orderState[id];
    if (st === ORDERED) return true;
    const r = this.r;
    const w = r.words;
    const at = r.rec(id);
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    if (st === ORDERING) {
      if ((kind === BtfKind.STRUCT || kind === BtfKind.UNION) && throughPtr && !r.isEmpty(w[at]!)) return false;
      throw this.loop(id);
    }
    switch (kind) {
      case BtfKind.INT:
      case BtfKind.FLOAT:
        this.orderState[id] = ORDERED;
        return false;
      case BtfKind.PTR: {
        const res = this.order(w[at + 2]!, true, depth + 1);
        this.orderState[id] = ORDERED;
        return res;
      }
      case BtfKind.ARRAY:
        return this.order(w[at + 3]!, false, depth + 1);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const named = !r.isEmpty(w[at]!);
        if (throughPtr && named) return false;
        this.orderState[id] = ORDERING;
        const vlen = info & 0xffff;
        for (let i = 0, m = at + 4; i < vlen; i++, m += 3) this.order(w[m]!, false, depth + 1);
        if (named) this.queue[this.queued++] = id;
        this.orderState[id] = ORDERED;
        return true;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FWD:
        if (!r.isEmpty(w[at]!) || !this.referenced[id]) this.queue[this.queued++] = id;
        this.orderState[id] = ORDERED;
        return true;
      case BtfKind.TYPEDEF: {
        const strong = this.order(w[at + 2]!, throughPtr, depth + 1);
        if (throughPtr && !strong) return false;
        this.queue[this.queued++] = id;
        this.orderState[id] = ORDERED;
        return true;
      }
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.order(w[at + 2]!, throughPtr, depth + 1);
      case BtfKind.FUNC_PROTO: {
        let strong = this.order(w[at + 2]!, throughPtr, depth + 1);
        const vlen = info & 0xffff;
        for (let i = 0, p = at + 4; i < vlen; i++, p += 2) if (this.order(w[p]!, throughPtr, depth + 1)) strong = true;
        return strong;
      }
      default:
        // func, var, datasec, decl_tag
        this.orderState[id] = ORDERED;
        return false;
    }
  }

  /** libbpf's btf_dump_emit_type: emit `id` (and forward declarations it needs); contId is the container. */
  emit(id: number, contId: number, depth: number): void {
    if (depth > MAX_DEPTH) throw this.loop(id);
    if (this.emitState[id] === EMITTED) return;
    const r = this.r;
    const w = r.words;
    const at = r.rec(id);
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const top = contId === 0;
    if (this.emitState[id] === EMITTING) {
      if (this.fwdEmitted[id]) return;
      if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
        if (id === contId) return;
        if (r.isEmpty(w[at]!)) return; // anonymous struct/union loop: nothing sensible to emit
        this.w.fwdTo(id);
        this.out.str(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (kind === BtfKind.TYPEDEF) {
        if (!this.w.isBlacklisted(id)) {
          this.w.typedefTo(id, 0);
          this.out.str(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (kind) {
      case BtfKind.INT:
        this.emitState[id] = EMITTED;
        break;
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        if (top) {
          this.w.enumTo(id, 0);
          this.out.str(';\n\n');
        }
        this.emitState[id] = EMITTED;
        break;
      case BtfKind.PTR:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        this.emit(w[at + 2]!, contId, depth + 1);
        break;
      case BtfKind.ARRAY:
        this.emit(w[at + 3]!, contId, depth + 1);
        break;
      case BtfKind.FWD:
        this.w.fwdTo(id);
        this.out.str(';\n\n');
        this.emitState[id] = EMITTED;
        break;
      case BtfKind.TYPEDEF:
        this.emitState[id] = EMITTING;
        this.emit(w[at + 2]!, id, depth + 1);
        if (!this.fwdEmitted[id] && !this.w.isBlacklisted(id)) {
          this.w.typedefTo(id, 0);
          this.out.str(';\n\n');
        }
        this.emitState[id] = EMITTED;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const named = !r.isEmpty(w[at]!);
        this.emitState[id] = EMITTING;
        if (top || !named) {
          const cont = named ? id : contId;
          const vlen = info & 0xffff;
          for (let i = 0, m = at + 4; i < vlen; i++, m += 3) this.emit(w[m]!, cont, depth + 1);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          this.w.fwdTo(id);
          this.out.str(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (top) {
          this.w.structTo(id, 0, 0);
          this.out.str(';\n\n');
          this.emitState[id] = EMITTED;
        } else {
          this.emitState[id] = NOT_EMITTED;
        }
        break;
      }
      case BtfKind.FUNC_PROTO: {
        this.emit(w[at + 2]!, contId, depth + 1);
        const vlen = info & 0xffff;
        for (let i = 0, p = at + 4; i < vlen; i++, p += 2) this.emit(w[p]!, contId, depth + 1);
        break;
      }
      default:
        break;
    }
  }

  /** Order one root and emit what became ready (libbpf's btf_dump__dump_type). */
  dumpType(id: number): void {
    this.btf.checkId(id);
    this.queued = 0;
    this.order(id, false, 0);
    const q = this.queue;
    for (let i = 0, n = this.queued; i < n; i++) this.emit(q[i]!, 0, 0);
  }
}

const PAI_PUSH =
  '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n';
const PAI_POP = '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n';

/**
 * The BTF as a C header, in chunks of UTF-8 bytes: `#ifndef` guard, the `preserve_access_index` pragma block,
 * then every type (or the given roots and their dependencies) in dependency order. A chunk is yielded once at
 * least `chunkSize` bytes are pending after a root type was dumped (so a chunk can be longer: one root's output
 * plus the dependencies it pulls in), and the work is done as chunks are pulled, so a consumer can apply
 * backpressure (await a stream's 'drain' between chunks); nothing is done before the first chunk is pulled.
 * Each chunk is a fresh array the consumer may keep.
 * Throws `BtfError` on malformed or cyclic BTF: a malformed record of the blob itself is found before the first
 * chunk; a cycle may be found after some chunks were yielded.
 */
export function* btfToCBytes(btf: Btf, opts: WriteBtfAsCOptions = {}): Generator<Uint8Array, void, undefined> {
  const guard = opts.guard ?? '__VMLINUX_H__';
  const pai = opts.preserveAccessIndex ?? true;
  const chunkSize = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK);
  const d = new CDumper(btf);
  const out = d.out;
  out.room(Math.min(chunkSize, 1 << 20) + 4096);
  if (guard) out.str(`#ifndef ${guard}\n#define ${guard}\n\n`);
  if (pai) out.str(PAI_PUSH);
  const roots = opts.roots;
  const n = roots ? roots.length : btf.typeCount - btf.startId;
  for (let i = 0; i < n; i++) {
    d.dumpType(roots ? roots[i]! : btf.startId + i);
    if (out.len >= chunkSize) yield d.take();
  }
  if (pai) out.str(PAI_POP);
  if (guard) out.str(`#endif /* ${guard} */\n`);
  if (out.len) yield d.take();
}

const utf8 = new TextDecoder();

/** `btfToCBytes` as strings: the same text, cut at the same places. */
export function* btfToCChunks(btf: Btf, opts: WriteBtfAsCOptions = {}): Generator<string, void, undefined> {
  for (const chunk of btfToCBytes(btf, opts)) yield utf8.decode(chunk);
}

/**
 * Write the BTF as a C header by passing its chunks (`btfToCChunks`) to `write` as they are ready; for a
 * consumer that may fall behind (an asynchronous stream), iterate `btfToCBytes` or `btfToCChunks` and wait
 * between chunks instead.
 */
export function writeBtfAsC(btf: Btf, write: (chunk: string) => void, opts: WriteBtfAsCOptions = {}): void {
  for (const chunk of btfToCChunks(btf, opts)) write(chunk);
}

/**
 * The BTF as a C header (one string; `btfToCChunks`/`writeBtfAsC` hand it out in chunks instead): `#ifndef` guard,
 * the `preserve_access_index` pragma block, then every type (or the given roots and their dependencies) in
 * dependency order. Throws `BtfError` on malformed or cyclic BTF.
 */
export function btfToC(btf: Btf, opts: BtfToCOptions = {}): string {
  const parts: string[] = [];
  for (const chunk of btfToCChunks(btf, { ...opts, chunkSize: 1 << 20 })) parts.push(chunk);
  return parts.join('');
}
