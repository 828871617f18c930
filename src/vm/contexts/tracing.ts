/**
 * Contexts of tracing programs: kprobes (x86-64 `struct pt_regs` from named registers or function arguments),
 * perf events (`bpf_perf_event_data`), tracepoints (the raw record, laid out from the tracefs `format` file of
 * the event or from an explicit field list), raw tracepoints and fentry/fexit/tp_btf (an array of u64
 * arguments, fexit with the return value after them), and raw context bytes for everything else.
 */
import { UsageError } from '../../errors.js';
import { hostReadText } from '../../host/io.js';
import type { Memory } from '../api.js';
import type { RuntimeEnv } from '../helpers/env.js';
import { PERF_EVENT_DATA, PT_REGS, PT_REGS_ARGS, type CtxLayout } from './layouts.js';
import { readCtxFields, writeCtxFields, type CtxValues, type PreparedContext } from './common.js';

function mapCtx(mem: Memory, bytes: Uint8Array, name: string, writable: boolean, layout?: CtxLayout): PreparedContext {
  const base = mem.map(bytes, { writable, kind: 'ctx', name });
  return {
    r1: base,
    layout,
    ctxBytes: bytes,
    finish: () => ({ ctx: layout ? readCtxFields(layout, bytes) : undefined }),
    release: () => mem.unmap(base),
  };
}

/** pt_regs from register values by name (`di`, `ax`...) and/or the first six function arguments. */
export function preparePtRegs(mem: Memory, regs: CtxValues = {}, args: readonly (number | bigint)[] = [], layout: CtxLayout = PT_REGS): PreparedContext {
  if (args.length > PT_REGS_ARGS.length) throw new UsageError(`kprobe contexts take at most ${PT_REGS_ARGS.length} arguments`);
  const bytes = new Uint8Array(layout.size);
  const values: CtxValues = { ...regs };
  args.forEach((a, i) => (values[PT_REGS_ARGS[i]] = a));
  writeCtxFields(layout, bytes, values);
  return mapCtx(mem, bytes, layout.name, true, layout);
}

/** bpf_perf_event_data (regs plus sample_period and addr). */
export function preparePerfEvent(mem: Memory, values: CtxValues = {}): PreparedContext {
  return preparePtRegs(mem, values, [], PERF_EVENT_DATA);
}

/** An array of u64 arguments (raw_tp, fentry, fexit: the return value goes after the arguments). */
export function prepareArgs(mem: Memory, env: RuntimeEnv, args: readonly (number | bigint)[], ret?: number | bigint): PreparedContext {
  const all = ret === undefined ? args : [...args, ret];
  const bytes = new Uint8Array(Math.max(8, all.length * 8));
  const dv = new DataView(bytes.buffer);
  all.forEach((a, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(a)), true));
  env.funcArgs = args.map((a) => BigInt.asUintN(64, BigInt(a)));
  if (ret !== undefined) env.funcRet = BigInt.asUintN(64, BigInt(ret));
  return mapCtx(mem, bytes, 'args', false);
}

/** One field of a tracepoint record. */
export interface TracepointField {
  name: string;
  /** C type as in the format file (`int`, `char[16]`, `const char *`, `__data_loc char[]`...). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
}

/** Parse a tracefs `format` file. */
export function parseTracepointFormat(text: string): TracepointField[] {
  const out: TracepointField[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/);
    if (!m) continue;
    const decl = m[1].trim();
    const nm = decl.match(/([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$/);
    if (!nm) continue;
    out.push({ name: nm[1], type: decl.slice(0, nm.index).trim() + (nm[2] ?? ''), offset: Number(m[2]), size: Number(m[3]), signed: m[4] === '1' });
  }
  return out;
}

/** The record layout of tracepoint `cat/name` from tracefs, or undefined when tracefs has no such event. */
export function tracepointFormat(event: string): TracepointField[] | undefined {
  for (const root of ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events']) {
    try {
      return parseTracepointFormat(hostReadText(`${root}/${event}/format`));
    } catch {
      // try the next mount point
    }
  }
  return undefined;
}

/** A tracepoint record from field values (numbers, bigints, strings or bytes), `common_pid` from the task. */
export function prepareTracepoint(mem: Memory, env: RuntimeEnv, format: readonly TracepointField[], values: Record<string, unknown> = {}): PreparedContext {
  const size = format.reduce((n, f) => Math.max(n, f.offset + f.size), 8);
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  const all: Record<string, unknown> = { common_pid: env.task.pid, ...values };
  for (const [name, v] of Object.entries(all)) {
    const f = format.find((x) => x.name === name);
    if (!f) {
      if (name === 'common_pid') continue;
      throw new UsageError(`tracepoint record has no field ${name} (fields: ${format.map((x) => x.name).join(', ')})`);
    }
    if (typeof v === 'string' || v instanceof Uint8Array) {
      const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
      bytes.set(b.subarray(0, f.size), f.offset);
    } else if (typeof v === 'number' || typeof v === 'bigint') {
      const x = BigInt.asUintN(f.size * 8, BigInt(v));
      if (f.size === 8) dv.setBigUint64(f.offset, x, true);
      else if (f.size === 4) dv.setUint32(f.offset, Number(x), true);
      else if (f.size === 2) dv.setUint16(f.offset, Number(x), true);
      else if (f.size === 1) dv.setUint8(f.offset, Number(x));
      else throw new UsageError(`tracepoint field ${name} has size ${f.size}: give bytes`);
    } else throw new UsageError(`tracepoint field ${name}: unsupported value`);
  }
  return mapCtx(mem, bytes, 'tracepoint', false);
}

/** Raw context bytes (program types without a modelled context). */
export function prepareRaw(mem: Memory, bytes: Uint8Array | undefined): PreparedContext {
  if (!bytes) return { r1: 0n, finish: () => ({}), release: () => undefined };
  return mapCtx(mem, bytes, 'ctx', true);
}
