/**
 * Shared runner of the latency-histogram tools (biolatency, runqlat): their scripts fill `@usecs = hist(µs)`
 * and `@sum = sum(µs)`; this collects them into a Histogram, at the end or every interval.
 */
import { UsageError } from '../errors.js';
import { fromLog2, type Histogram } from './histogram.js';
import { entrySignedTotal, histCounts } from './maps.js';
import { checkToolOptions, runToolScript, type ToolOptions } from './runner.js';

/** Options of a latency tool. */
export interface LatencyOptions extends ToolOptions {
  /** Report (and reset) the histogram every this many seconds. */
  interval?: number;
  onInterval?: (h: Histogram) => void;
}

/** The interval probe that prints and resets @sum and @usecs. */
export function intervalProbe(interval: number | undefined): string {
  return interval === undefined ? '' : `\ninterval:ms:${Math.round(interval * 1000)} { print(@sum); print(@usecs); clear(@sum); clear(@usecs); }`;
}

/** Run a latency script; returns the histogram of the run (or of the last interval). */
export async function runLatency(tool: string, script: string, o: LatencyOptions): Promise<Histogram> {
  checkToolOptions(o, tool);
  if (o.interval !== undefined && !(o.interval > 0)) throw new UsageError(`${tool}: interval must be positive`);
  let sum: bigint | undefined;
  let hist: Histogram = fromLog2([], 'us', 0n);
  let sawHist = false;
  await runToolScript(script, o, {
    onMap: (info, entries, _f, when) => {
      if (info.name === 'sum') sum = entries.length ? entries.reduce((s, e) => s + entrySignedTotal(e), 0n) : 0n;
      if (info.name !== 'usecs') return;
      hist = fromLog2(histCounts(entries), 'us', sum ?? 0n);
      sawHist = true;
      if (when === 'print') o.onInterval?.(hist);
    },
  }, tool);
  // At exit the maps come in declaration order: @usecs may arrive before @sum, so apply the final sum here.
  if (sawHist && sum !== undefined && hist.sum !== Number(sum)) hist = { ...hist, sum: Number(sum) };
  return hist;
}
