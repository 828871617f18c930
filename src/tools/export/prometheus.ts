/**
 * Prometheus text exposition format (version 0.0.4): `# HELP`/`# TYPE` lines, samples with escaped label
 * values, histograms as cumulative `_bucket{le="..."}` series ending in `+Inf`, plus `_sum` and `_count`.
 */
import { UsageError } from '../../errors.js';
import { cumulative } from '../histogram.js';
import type { Labels, Metric } from './metrics.js';

/** The Content-Type of the exposition. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value escaped for the exposition (backslash, double quote, newline). */
export const escapeLabelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** HELP text escaped (backslash, newline). */
export const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample value: integers as such, floats in JS form, and +Inf/-Inf/NaN. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (!pairs.length) return '';
  for (const [k] of pairs) if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new UsageError(`prometheus: bad label name "${k}"`);
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** The exposition text of these metric families. */
export function prometheusText(metrics: readonly Metric[]): string {
  let out = '';
  for (const m of metrics) {
    if (!METRIC_NAME.test(m.name)) throw new UsageError(`prometheus: bad metric name "${m.name}"`);
    out += `# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.kind}\n`;
    if (m.kind === 'histogram') {
      for (const p of m.points) {
        if (Object.hasOwn(p.labels, 'le')) throw new UsageError(`prometheus: histogram ${m.name} cannot have a label named le`);
        const cum = cumulative(p.hist);
        p.hist.bounds.forEach((b, i) => (out += `${m.name}_bucket${labelText(p.labels, ['le', formatValue(b)])} ${cum[i]}\n`));
        out += `${m.name}_bucket${labelText(p.labels, ['le', '+Inf'])} ${p.hist.count}\n`;
        out += `${m.name}_sum${labelText(p.labels)} ${formatValue(p.hist.sum)}\n`;
        out += `${m.name}_count${labelText(p.labels)} ${p.hist.count}\n`;
      }
    } else for (const p of m.points) out += `${m.name}${labelText(p.labels)} ${formatValue(p.value)}\n`;
  }
  return out;
}
