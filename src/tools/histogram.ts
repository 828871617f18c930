/**
 * A histogram as the tools report and export it: ascending inclusive upper bounds with per-bucket counts
 * (the last bucket is everything above the last bound), a sum and a count. Built from bpftrace's
 * log2 (hist) and linear (lhist) bucket layouts; values are integers, so the bucket [lo, hi) has bound hi - 1.
 */

/** A histogram over integer values. */
export interface Histogram {
  /** Unit of the values (e.g. 'us'). */
  unit: string;
  /** Inclusive upper bounds, ascending (`counts[i]` counts values ≤ bounds[i] and > bounds[i-1]). */
  bounds: number[];
  /** Per-bucket counts (not cumulative): bounds.length + 1 entries, the last one above the last bound. */
  counts: number[];
  /** Sum of the observed values (when the script records it; otherwise estimated from bucket midpoints). */
  sum: number;
  /** Number of observations (the sum of `counts`). */
  count: number;
  /** Whether `sum` is exact (recorded by the probe) or an estimate. */
  sumExact: boolean;
}

/**
 * A histogram from bpftrace log2 buckets: index 0 holds negatives, 1 holds 0, k+2 holds [2^k, 2^(k+1)).
 * Bounds go from -1 (negatives) up to the highest non-empty bucket (at least `[0]`, `[1]`).
 */
export function fromLog2(buckets: readonly bigint[], unit: string, sum?: bigint): Histogram {
  let top = 2;
  buckets.forEach((v, i) => {
    if (v > 0n && i > top) top = i;
  });
  const bounds: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i <= top; i++) {
    bounds.push(i === 0 ? -1 : i === 1 ? 0 : 2 ** (i - 1) - 1);
    counts.push(Number(buckets[i] ?? 0n));
  }
  counts.push(0);
  return finish(bounds, counts, unit, sum, (i) => (i === 0 ? -1 : i === 1 ? 0 : 1.5 * 2 ** (i - 2)));
}

/** A histogram from bpftrace lhist(min, max, step) buckets: 0 is below min, i in 1..n is [min+(i-1)step, min+i*step), n+1 is ≥ max. */
export function fromLinear(buckets: readonly bigint[], b: { min: number; max: number; step: number }, unit: string, sum?: bigint): Histogram {
  const n = Math.floor((b.max - b.min) / b.step);
  const bounds: number[] = [b.min - 1];
  for (let i = 1; i <= n; i++) bounds.push(b.min + i * b.step - 1);
  const counts = Array.from({ length: n + 2 }, (_, i) => Number(buckets[i] ?? 0n));
  return finish(bounds, counts, unit, sum, (i) => (i === 0 ? b.min - 1 : i > n ? b.max : b.min + (i - 0.5) * b.step));
}

function finish(bounds: number[], counts: number[], unit: string, sum: bigint | undefined, mid: (i: number) => number): Histogram {
  const count = counts.reduce((s, v) => s + v, 0);
  const est = counts.reduce((s, v, i) => s + v * mid(i), 0);
  return { unit, bounds, counts, count, sum: sum !== undefined ? Number(sum) : est, sumExact: sum !== undefined };
}

/** Cumulative counts (`≤ bounds[i]`, then +Inf), as Prometheus buckets want them. */
export function cumulative(h: Histogram): number[] {
  let s = 0;
  return h.counts.map((v) => (s += v));
}

/** A text rendering in bpftrace's style (`[lo, hi)  count |@@@@|`), one bucket per line, empty edges trimmed. */
export function histogramText(h: Histogram): string {
  const first = h.counts.findIndex((v) => v > 0);
  if (first < 0) return '(no events)\n';
  let last = h.counts.length - 1;
  while (h.counts[last] === 0) last--;
  const max = Math.max(...h.counts);
  let out = '';
  for (let i = first; i <= last; i++) {
    let label: string;
    if (i === 0) label = `(..., ${h.bounds[0]! + 1})`;
    else if (i === h.bounds.length) label = `[${h.bounds[i - 1]! + 1}, ...)`;
    else {
      const lo = h.bounds[i - 1]! + 1;
      const hi = h.bounds[i]! + 1;
      label = hi === lo + 1 ? `[${lo}]` : `[${lo}, ${hi})`;
    }
    const bar = '@'.repeat(Math.round((h.counts[i]! / max) * 40));
    out += `${label.padEnd(20)} ${String(h.counts[i]).padStart(8)} |${bar.padEnd(40)}|\n`;
  }
  return out;
}

/**
 * The sum of two histograms whose bounds are prefixes of one another (log2 histograms of different extent,
 * or the same linear layout): used to keep cumulative totals across intervals for exporters.
 */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  const [long, short] = a.bounds.length >= b.bounds.length ? [a, b] : [b, a];
  if (short.bounds.some((x, i) => long.bounds[i] !== x)) throw new RangeError('mergeHistograms: bucket bounds differ');
  const counts = long.counts.slice();
  short.counts.forEach((v, i) => {
    if (i < short.bounds.length || long.bounds.length === short.bounds.length) counts[i]! += v;
    // The narrower one's overflow bucket spans several of the wider one's buckets: it must be empty.
    else if (v !== 0) throw new RangeError('mergeHistograms: overflow bucket of the narrower histogram is not empty');
  });
  return { unit: long.unit, bounds: long.bounds.slice(), counts, sum: a.sum + b.sum, count: a.count + b.count, sumExact: a.sumExact && b.sumExact };
}
