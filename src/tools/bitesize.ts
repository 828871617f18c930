/**
 * bitesize: block I/O request sizes per process, as log2 histograms in bytes (like bpftrace's bitesize; bcc's
 * uses Kbytes), counted at block:block_rq_issue. A request is attributed to the task that started it: where the
 * kernel has block:block_io_start (6.5+, fired in the submitter's context) its pid and comm are remembered by
 * (device, sector) and used at issue, since a busy queue is often dispatched later by a kblockd worker; otherwise
 * (and for requests started before tracing) the task running at issue, as bcc does. Buffered writeback and
 * readahead are still a kernel worker's. Zero-byte requests (flushes) land in the `[0]` bucket. `pid` keeps
 * requests attributed to that process.
 */
import { tracepointFields } from '../trace/tpformat.js';
import { STRLEN } from '../trace/types.js';
import { fromLog2, histogramText, type Histogram } from './histogram.js';
import { entryTotal, strAt, u64At } from './maps.js';
import { checkToolOptions, runToolScript, type ToolOptions } from './runner.js';

/** One process's request-size histogram. */
export interface BiteSize {
  pid: number;
  comm: string;
  /** Sizes in bytes (`sum` is the exact total of bytes issued). */
  hist: Histogram;
}

/** The bpftrace-language script of bitesize (`ioStart`: use block:block_io_start to find the submitter). */
export function bitesizeScript(pid?: number, ioStart = tracepointFields('block', 'block_io_start') !== undefined): string {
  const k = 'args->dev, args->sector';
  const count = `if (${pid !== undefined ? `$p == ${pid}` : '1'}) { @bytes[$p, $c] = hist(args->bytes); @sum[$p, $c] = sum(args->bytes); }`;
  if (!ioStart) return `tracepoint:block:block_rq_issue { $p = pid; $c = comm; ${count} }`;
  return [
    `tracepoint:block:block_io_start { @opid[${k}] = pid; @ocomm[${k}] = comm; }`,
    `tracepoint:block:block_rq_issue { $p = @opid[${k}]; $c = @ocomm[${k}]; if ($p == 0) { $p = pid; $c = comm; }`,
    `  delete(@opid[${k}]); delete(@ocomm[${k}]); ${count} }`,
  ].join('\n');
}

/** Run bitesize; returns one histogram per (pid, comm), most requests first. */
export async function bitesize(o: ToolOptions = {}): Promise<BiteSize[]> {
  checkToolOptions(o, 'bitesize');
  const buckets = new Map<string, { pid: number; comm: string; b: bigint[] }>();
  const sums = new Map<string, bigint>();
  await runToolScript(bitesizeScript(o.pid), o, {
    onMap: (info, entries) => {
      if (info.name !== 'bytes' && info.name !== 'sum') return;
      for (const e of entries) {
        const pid = Number(u64At(e.key, 0));
        const comm = strAt(e.key, 8);
        const id = `${pid}\0${comm}`;
        if (info.name === 'sum') {
          sums.set(id, entryTotal(e));
          continue;
        }
        let x = buckets.get(id);
        if (!x) buckets.set(id, (x = { pid, comm, b: [] }));
        const i = Number(u64At(e.key, 8 + STRLEN));
        x.b[i] = (x.b[i] ?? 0n) + entryTotal(e);
      }
    },
  }, 'bitesize');
  const out: BiteSize[] = [];
  for (const [id, { pid, comm, b }] of buckets) {
    const hist = fromLog2(Array.from({ length: b.length }, (_, i) => b[i] ?? 0n), 'bytes', sums.get(id) ?? 0n);
    if (hist.count) out.push({ pid, comm, hist });
  }
  return out.sort((a, b) => b.hist.count - a.hist.count || a.pid - b.pid);
}

/** bcc-style text: a histogram per process. */
export function bitesizeText(r: readonly BiteSize[]): string {
  return r.map((x) => `Process Name = ${x.comm} (pid ${x.pid})\n${histogramText(x.hist)}`).join('\n');
}
