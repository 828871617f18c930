/**
 * Applying a classic filter to a capture: which records match, by the classic interpreter, by the
 * translated eBPF in bpfkit's VM, or by the translated eBPF in the kernel (BPF_PROG_TEST_RUN).
 */
import type { PcapRecord } from '../pcap/index.js';
import type { SockFilter } from './insn.js';
import { runClassic } from './interp.js';
import { classicToEbpf } from './to-ebpf.js';
import { EbpfFilterRunner } from './ebpf-run.js';

/** Which engine runs the filter. */
export type FilterEngine = 'cbpf' | 'ebpf';

/** Indices (0-based) of the records `prog` accepts. */
export function matchRecords(prog: readonly SockFilter[], records: readonly PcapRecord[], engine: FilterEngine = 'cbpf'): number[] {
  const out: number[] = [];
  if (engine === 'ebpf') {
    const r = new EbpfFilterRunner(classicToEbpf(prog));
    records.forEach((p, i) => {
      if (r.run(p.data, { wireLen: p.origLen ?? p.data.length }) !== 0) out.push(i);
    });
    return out;
  }
  records.forEach((p, i) => {
    if (runClassic(prog, p.data, { wireLen: p.origLen ?? p.data.length }) !== 0) out.push(i);
  });
  return out;
}
