/**
 * biosnoop: one line per block I/O request when it completes: the process that issued it (pid and comm at
 * block:block_rq_issue, which may be a kernel worker for buffered writes), the disk, the type (rwbs: R, W, WS,
 * FF...), the sector, the bytes and the latency from issue to block:block_rq_complete. Requests are matched by
 * (device, sector). `pid` keeps only requests issued in that process's context.
 */
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';
import { blockDeviceName } from './names.js';

/** One completed block I/O request. */
export interface BioEvent {
  /** Completion time. */
  time: Date;
  pid: number;
  comm: string;
  /** Disk name (`vda`), from the request's dev_t. */
  disk: string;
  /** The kernel dev_t (major << 20 | minor). */
  dev: number;
  /** The tracepoint's rwbs flags: R read, W write, D discard, F flush, S sync, M metadata... */
  rwbs: string;
  sector: bigint;
  bytes: number;
  /** Issue → complete, in nanoseconds and milliseconds. */
  latencyNs: bigint;
  ms: number;
  /** The completion's error (0, or a negative errno). */
  error: number;
}

/** The bpftrace-language script of biosnoop. */
export function biosnoopScript(pid?: number): string {
  const p = pid !== undefined ? `/pid == ${pid}/ ` : '';
  const k = 'args->dev, args->sector';
  return [
    `tracepoint:block:block_rq_issue ${p}{ @start[${k}] = nsecs; @ipid[${k}] = pid; @ibytes[${k}] = args->bytes; @icomm[${k}] = comm; }`,
    `tracepoint:block:block_rq_complete { $t = @start[${k}]; if ($t != 0) {`,
    `  printf("B\\t%llu\\t%llu\\t%u\\t%llu\\t%u\\t%s\\t%d\\t%d\\t%s\\n", nsecs, nsecs - $t, args->dev, args->sector, @ibytes[${k}], args->rwbs, args->error, @ipid[${k}], @icomm[${k}]);`,
    `  delete(@start[${k}]); delete(@ipid[${k}]); delete(@ibytes[${k}]); delete(@icomm[${k}]); } }`,
  ].join('\n');
}

/** Run biosnoop; each completed request goes to `onEvent`. */
export async function biosnoop(o: ToolOptions & { onEvent: (e: BioEvent) => void }): Promise<void> {
  checkToolOptions(o, 'biosnoop');
  await runToolScript(biosnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'B' || f.length < 10) return;
      const dev = Number(f[3]);
      const latencyNs = BigInt(f[2]!);
      o.onEvent({
        time: monoToDate(BigInt(f[1]!)),
        latencyNs,
        ms: Number(latencyNs) / 1e6,
        dev,
        disk: blockDeviceName(dev),
        sector: BigInt(f[4]!),
        bytes: Number(f[5]),
        rwbs: f[6]!,
        error: Number(f[7]),
        pid: Number(f[8]),
        comm: f.slice(9).join('\t'),
      });
    },
  }, 'biosnoop');
}
