/**
 * Program contexts: layouts (one table per context struct), the load-time ctx pass, and the builders that turn
 * a run's input (packet, context fields, arguments, tracepoint fields) into the context a program gets.
 */
import { UsageError } from '../../errors.js';
import { ProgType } from '../../isa/uapi.js';
import type { Memory } from '../api.js';
import type { RuntimeEnv } from '../helpers/env.js';
import type { CtxValues, PreparedContext } from './common.js';
import { prepareXdp } from './xdp.js';
import { prepareSkb, type SimDevice } from './skb.js';
import { prepareArgs, preparePerfEvent, preparePtRegs, prepareRaw, prepareTracepoint, tracepointFormat, type TracepointField } from './tracing.js';

export * from './layouts.js';
export * from './ctx-rewrite.js';
export * from './common.js';
export * from './packet.js';
export * from './verdict.js';
export { prepareXdp, XDP_HEADROOM, XDP_FRAME_DATA } from './xdp.js';
export { prepareSkb, ethTypeTrans, LOOPBACK, SKB_INPUT_FIELDS, type SimDevice } from './skb.js';
export * from './tracing.js';

/** What a program run gets as input; which parts matter depends on the program type. */
export interface RunInput {
  /** The packet (XDP, tc, socket filter, cgroup skb, LWT): a full Ethernet frame. */
  packet?: Uint8Array;
  /** Context fields by name (xdp_md, __sk_buff input fields, pt_regs registers), or raw context bytes. */
  ctx?: CtxValues | Uint8Array;
  /** Function / tracepoint arguments (kprobe: up to 6; raw_tp, fentry, fexit: any). */
  args?: readonly (number | bigint)[];
  /** Return value (fexit). */
  ret?: number | bigint;
  /** Tracepoint record fields by name. */
  fields?: Record<string, unknown>;
  /** CPU to run on (default: the collection's). */
  cpu?: number;
}

/** Extra knowledge for building contexts. */
export interface ContextOptions {
  /** Tracepoint formats by `category/name` (else read from tracefs). */
  tracepointFormats?: Record<string, readonly TracepointField[]>;
  /** Device skb programs run on (default: loopback, as BPF_PROG_TEST_RUN). */
  device?: SimDevice;
}

/** Build the context for a program of type `progType` from `input`. */
export function prepareContext(
  mem: Memory,
  env: RuntimeEnv,
  progType: number,
  attachTo: string | undefined,
  input: RunInput,
  opts: ContextOptions = {},
): PreparedContext {
  const raw = input.ctx instanceof Uint8Array ? input.ctx : undefined;
  const values = input.ctx instanceof Uint8Array ? undefined : input.ctx;
  switch (progType) {
    case ProgType.XDP:
      if (!input.packet) throw new UsageError('XDP programs need a packet');
      return prepareXdp(mem, env, input.packet, values);
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.SOCKET_FILTER:
    case ProgType.CGROUP_SKB:
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
    case ProgType.SK_SKB:
      if (!input.packet) throw new UsageError('skb programs need a packet');
      return prepareSkb(mem, env, progType, input.packet, values, opts.device);
    case ProgType.KPROBE:
      if (raw) return prepareRaw(mem, raw);
      return preparePtRegs(mem, values, input.args ?? []);
    case ProgType.PERF_EVENT:
      if (raw) return prepareRaw(mem, raw);
      return preparePerfEvent(mem, values);
    case ProgType.TRACEPOINT: {
      if (raw) return prepareRaw(mem, raw);
      const fmt = (attachTo && opts.tracepointFormats?.[attachTo]) || (attachTo ? tracepointFormat(attachTo) : undefined);
      if (!fmt) throw new UsageError(`no record format for tracepoint ${attachTo ?? '(unknown)'}: give raw ctx bytes or a format`);
      return prepareTracepoint(mem, env, fmt, input.fields ?? {});
    }
    case ProgType.RAW_TRACEPOINT:
    case ProgType.RAW_TRACEPOINT_WRITABLE:
    case ProgType.TRACING:
    case ProgType.LSM:
      if (raw) return prepareRaw(mem, raw);
      return prepareArgs(mem, env, input.args ?? [], input.ret);
    default:
      return prepareRaw(mem, raw);
  }
}
