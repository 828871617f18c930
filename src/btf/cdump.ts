/**
 * `btf dump format c`: writes a BTF as a C header (vmlinux.h) that clang accepts. Types are ordered by
 * dependency (a struct embedded by value is defined before its container; references through pointers only
 * need a forward declaration), anonymous types are inlined, and duplicate names get `___N` suffixes — the same
 * algorithm as libbpf's btf_dump.c, so the output matches `bpftool btf dump ... format c`.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { CWriter } from './cdecl.js';
import type { BtfType } from './types.js';

/** Options for `btfToC`. */
export interface BtfToCOptions {
  /** Only these type ids and what they depend on (default: every type of the blob). */
  roots?: readonly number[];
  /** Include-guard macro (default `__VMLINUX_H__`); '' for none. */
  guard?: string;
  /** Wrap the types in the `preserve_access_index` pragma block (default true). */
  preserveAccessIndex?: boolean;
}

/** Ordering states of a type (0 = not ordered yet is the array's initial value). */
const ORDERING = 1;
const ORDERED = 2;
const NOT_EMITTED = 0;
const EMITTING = 1;
const EMITTED = 2;
/** Deepest recursion of ordering/emission; deeper means a malformed (cyclic) BTF. */
const MAX_DEPTH = 512;

/** One dump session: per-type ordering and emission state, as libbpf's struct btf_dump. */
class CDumper {
  private readonly types: (BtfType | undefined)[];
  private readonly w: CWriter;
  private readonly orderState: Uint8Array;
  private readonly emitState: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private queue: number[] = [];
  readonly out: string[] = [];

  constructor(readonly btf: Btf) {
    const n = btf.typeCount;
    this.types = new Array(n);
    this.w = new CWriter(btf, { dedupNames: true, get: (id) => this.t(id) });
    this.orderState = new Uint8Array(n);
    this.emitState = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    // void is always ordered and emitted (libbpf's btf_dump__new does the same).
    this.orderState[0] = ORDERED;
    this.emitState[0] = EMITTED;
    this.markReferenced();
  }

  private t(id: number): BtfType {
    const hit = this.types[id];
    if (hit) return hit;
    this.btf.checkId(id);
    const t = this.btf.decode(id);
    this.types[id] = t;
    return t;
  }

  private markReferenced(): void {
    const r = this.referenced;
    for (let id = this.btf.startId; id < this.btf.typeCount; id++) {
      const t = this.t(id);
      switch (t.kind) {
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'ptr':
        case 'typedef':
        case 'func':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          r[t.typeId] = 1;
          break;
        case 'array':
          r[t.indexTypeId] = 1;
          r[t.typeId] = 1;
          break;
        case 'struct':
        case 'union':
          for (const m of t.members) r[m.typeId] = 1;
          break;
        case 'func_proto':
          for (const p of t.params) r[p.typeId] = 1;
          break;
        case 'datasec':
          for (const v of t.vars) r[v.typeId] = 1;
          break;
      }
    }
  }

  private loop(id: number): BtfError {
    return new BtfError(`unsatisfiable type cycle at type id ${id}`, { section: this.btf.section });
  }

  /** libbpf's btf_dump_order_type: returns true for a "strong" (by-value) link. */
  order(id: number, throughPtr: boolean, depth = 0): boolean {
    if (depth > MAX_DEPTH) throw this.loop(id);
    const st = this.orderState[id];
    if (st === ORDERED) return true;
    const t = this.t(id);
    if (st === ORDERING) {
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name) return false;
      throw this.loop(id);
    }
    switch (t.kind) {
      case 'void':
      case 'int':
      case 'float':
        this.orderState[id] = ORDERED;
        return false;
      case 'ptr': {
        const r = this.order(t.typeId, true, depth + 1);
        this.orderState[id] = ORDERED;
        return r;
      }
      case 'array':
        return this.order(t.typeId, false, depth + 1);
      case 'struct':
      case 'union':
        if (throughPtr && t.name) return false;
        this.orderState[id] = ORDERING;
        for (const m of t.members) this.order(m.typeId, false, depth + 1);
        if (t.name) this.queue.push(id);
        this.orderState[id] = ORDERED;
        return true;
      case 'enum':
      case 'enum64':
      case 'fwd':
        if (t.name || !this.referenced[id]) this.queue.push(id);
        this.orderState[id] = ORDERED;
        return true;
      case 'typedef': {
        const strong = this.order(t.typeId, throughPtr, depth + 1);
        if (throughPtr && !strong) return false;
        this.queue.push(id);
        this.orderState[id] = ORDERED;
        return true;
      }
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.order(t.typeId, throughPtr, depth + 1);
      case 'func_proto': {
        let strong = this.order(t.returnTypeId, throughPtr, depth + 1);
        for (const p of t.params) if (this.order(p.typeId, throughPtr, depth + 1)) strong = true;
        return strong;
      }
      case 'func':
      case 'var':
      case 'datasec':
      case 'decl_tag':
        this.orderState[id] = ORDERED;
        return false;
    }
  }

  private isBlacklisted(t: BtfType): boolean {
    return t.name === '__builtin_va_list';
  }

  /** libbpf's btf_dump_emit_type: emit `id` (and forward declarations it needs); contId is the container. */
  emit(id: number, contId: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw this.loop(id);
    if (this.emitState[id] === EMITTED) return;
    const t = this.t(id);
    const top = contId === 0;
    const out = this.out;
    if (this.emitState[id] === EMITTING) {
      if (this.fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        if (id === contId) return;
        if (!t.name) return; // anonymous struct/union loop: nothing sensible to emit
        out.push(this.w.fwdDef(id), ';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        if (!this.isBlacklisted(t)) out.push(this.w.typedefDef(id, 0), ';\n\n');
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case 'int':
        this.emitState[id] = EMITTED;
        break;
      case 'enum':
      case 'enum64':
        if (top) out.push(this.w.enumDef(id, 0), ';\n\n');
        this.emitState[id] = EMITTED;
        break;
      case 'ptr':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'array':
        this.emit(t.typeId, contId, depth + 1);
        break;
      case 'fwd':
        out.push(this.w.fwdDef(id), ';\n\n');
        this.emitState[id] = EMITTED;
        break;
      case 'typedef':
        this.emitState[id] = EMITTING;
        this.emit(t.typeId, id, depth + 1);
        if (!this.fwdEmitted[id] && !this.isBlacklisted(t)) out.push(this.w.typedefDef(id, 0), ';\n\n');
        this.emitState[id] = EMITTED;
        break;
      case 'struct':
      case 'union':
        this.emitState[id] = EMITTING;
        if (top || !t.name) {
          const cont = t.name ? id : contId;
          for (const m of t.members) this.emit(m.typeId, cont, depth + 1);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          out.push(this.w.fwdDef(id), ';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (top) {
          out.push(this.w.structDef(id, 0), ';\n\n');
          this.emitState[id] = EMITTED;
        } else {
          this.emitState[id] = NOT_EMITTED;
        }
        break;
      case 'func_proto':
        this.emit(t.returnTypeId, contId, depth + 1);
        for (const p of t.params) this.emit(p.typeId, contId, depth + 1);
        break;
      default:
        break;
    }
  }

  /** Order one root and emit what became ready (libbpf's btf_dump__dump_type). */
  dumpType(id: number): void {
    this.btf.checkId(id);
    this.queue = [];
    this.order(id, false);
    for (const q of this.queue) this.emit(q, 0);
  }
}

/**
 * The BTF as a C header: `#ifndef` guard, the `preserve_access_index` pragma block, then every type (or the
 * given roots and their dependencies) in dependency order. Throws `BtfError` on malformed or cyclic BTF.
 */
export function btfToC(btf: Btf, opts: BtfToCOptions = {}): string {
  const guard = opts.guard ?? '__VMLINUX_H__';
  const pai = opts.preserveAccessIndex ?? true;
  const d = new CDumper(btf);
  const head: string[] = [];
  if (guard) head.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
  if (pai) {
    head.push(
      '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n',
    );
  }
  if (opts.roots) for (const id of opts.roots) d.dumpType(id);
  else for (let id = btf.startId; id < btf.typeCount; id++) d.dumpType(id);
  const tail: string[] = [];
  if (pai) tail.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
  if (guard) tail.push(`#endif /* ${guard} */\n`);
  return head.join('') + d.out.join('') + tail.join('');
}
