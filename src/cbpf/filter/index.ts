/**
 * The pcap filter language compiler: `compileFilter('tcp port 80', {linktype})` gives the classic program
 * tcpdump would run (same packets selected; instruction counts at most tcpdump's for simple expressions).
 */
import { CbpfError } from '../../errors.js';
import type { SockFilter } from '../insn.js';
import { CodeGen, DLT, finish, retBlock } from './gencode.js';
import { emit } from './emit.js';
import { tokenize } from './lexer.js';
import { optimize } from './optimize.js';
import { parseFilter } from './parser.js';

export { DLT } from './gencode.js';

/** Options of {@link compileFilter}. */
export interface CompileFilterOptions {
  /** Link-layer type (DLT_*): 1 Ethernet (default), 101 raw IP, 113 Linux cooked (SLL), 228 IPv4, 229 IPv6. */
  linktype?: number;
  /** Accept length returned for matching packets (tcpdump: the snapshot length, default 262144). */
  snaplen?: number;
  /** Run the optimiser (default true; tcpdump -O turns libpcap's off). */
  optimize?: boolean;
  /** IPv4 netmask for `ip broadcast`. */
  netmask?: number;
}

/**
 * Compile a pcap filter expression to a classic BPF program. Throws CbpfError with libpcap-style messages
 * and the 1-based position of the offending token (`syntax error near 'x' at position 7`).
 */
export function compileFilter(expr: string, opts: CompileFilterOptions = {}): SockFilter[] {
  const snaplen = opts.snaplen ?? 262144;
  const gen = new CodeGen({ linktype: opts.linktype ?? DLT.EN10MB, snaplen, netmask: opts.netmask });
  const toks = tokenize(expr);
  const e = parseFilter(toks, gen);
  let root = e ? finish(e, snaplen) : retBlock(snaplen);
  if (opts.optimize !== false) {
    root = optimize(root);
    // libpcap refuses a filter that optimises to a lone `ret #0`.
    if (e && root.ret === 0) throw new CbpfError('expression rejects all packets');
  }
  const prog = emit(root);
  if (!prog.length) throw new CbpfError('internal error: empty program');
  return prog;
}
