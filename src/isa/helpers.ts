/**
 * Typed lookup of kernel helper functions (ids, names, prototypes). The data is generated from the UAPI header
 * into helper-table.ts; this module classifies each argument and the return value so the assembler (names),
 * verifier (argument kinds), interpreter and JIT (dispatch), tracer (code generation) share one table.
 */
import { HELPER_TABLE } from './helper-table.js';

/** What an argument is, derived from its C type. */
export type HelperArgKind =
  | 'map' // struct bpf_map *
  | 'ctx' // the program context (struct sk_buff *, struct xdp_md *, void *ctx, struct pt_regs *...)
  | 'ptr' // a pointer to memory (key, value, buffer, string)
  | 'callback' // a function pointer (bpf_loop, for_each_map_elem)
  | 'scalar' // an integer
  | 'varargs';

/** What a helper returns. */
export type HelperRetKind = 'scalar' | 'void' | 'ptr_or_null' | 'ptr';

export interface HelperArg {
  /** The C declaration as written in the header (`const void *key`). */
  decl: string;
  name: string;
  kind: HelperArgKind;
}

/** One kernel helper. */
export interface HelperProto {
  id: number;
  /** Name without the `bpf_` prefix, as in `enum bpf_func_id` (`map_lookup_elem`). */
  name: string;
  /** Full C name (`bpf_map_lookup_elem`). */
  fullName: string;
  /** Return C type. */
  ret: string;
  retKind: HelperRetKind;
  args: readonly HelperArg[];
  /** The C prototype line. */
  proto: string;
}

const CTX_TYPES = /^(?:const )?struct (sk_buff|__sk_buff|xdp_md|xdp_buff|pt_regs|bpf_sock_ops|sk_msg_md|sk_reuseport_md|bpf_perf_event_data|bpf_sock_addr|bpf_sk_lookup|sk_msg_buff|bpf_sockopt) \*/;

function classifyArg(decl: string): HelperArg {
  if (decl === '...') return { decl, name: '...', kind: 'varargs' };
  const name = decl.match(/([A-Za-z_][A-Za-z0-9_]*)\s*$/)?.[1] ?? decl;
  let kind: HelperArgKind = 'scalar';
  if (/struct bpf_map \*/.test(decl) || /^void \*(ringbuf|map)$/.test(decl.replace(/\s+/g, ' '))) kind = 'map';
  else if (CTX_TYPES.test(decl) || /^void \*ctx$/.test(decl)) kind = 'ctx';
  else if (/callback_fn|_fn$/.test(name)) kind = 'callback';
  else if (decl.includes('*')) kind = 'ptr';
  return { decl, name, kind };
}

function classifyRet(ret: string, name: string): HelperRetKind {
  if (ret === 'void') return 'void';
  if (ret.includes('*')) return /lookup|get_local_storage|storage_get|reserve|sk_fullsock|tcp_sock|get_listener_sock|skc_to|sock_from_file|this_cpu_ptr|per_cpu_ptr|dynptr_data|find_vma/.test(name) ? 'ptr_or_null' : 'ptr';
  return 'scalar';
}

/** Every helper the UAPI header declares, by id order. */
export const HELPERS: readonly HelperProto[] = HELPER_TABLE.map(([id, name, ret, args]) => ({
  id,
  name,
  fullName: `bpf_${name}`,
  ret,
  retKind: classifyRet(ret, name),
  args: args.map(classifyArg),
  proto: `${ret}${ret.endsWith('*') ? '' : ' '}bpf_${name}(${args.join(', ') || 'void'})`,
}));

const byId = new Map(HELPERS.map((h) => [h.id, h]));
const byName = new Map<string, HelperProto>();
for (const h of HELPERS) {
  byName.set(h.name, h);
  byName.set(h.fullName, h);
}

/** The helper with this id, or undefined. */
export function helperById(id: number): HelperProto | undefined {
  return byId.get(id);
}

/** The helper with this name (with or without the `bpf_` prefix), or undefined. */
export function helperByName(name: string): HelperProto | undefined {
  return byName.get(name);
}

/** Well-known helper ids by short name, for code that emits calls (`HelperId.map_lookup_elem`). */
export const HelperId: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(HELPERS.map((h) => [h.name, h.id])));
