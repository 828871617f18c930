/**
 * OpenTelemetry metrics as an OTLP/JSON ExportMetricsServiceRequest: counters as monotonic cumulative sums,
 * gauges, histograms as explicit-bucket histograms (bounds are inclusive upper bounds, as OTLP defines).
 * 64-bit integers are JSON strings and enums integers (protobuf JSON mapping). Written to a file, or POSTed to
 * an http://127.0.0.1 URL only.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { UsageError, BpfkitError } from '../../errors.js';
import type { Labels, Metric } from './metrics.js';

/** AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE */
const CUMULATIVE = 2;

/** Times of the export window. */
export interface OtlpTimes {
  start: Date;
  end: Date;
  serviceName?: string;
}

const nanos = (d: Date) => (BigInt(d.getTime()) * 1_000_000n).toString();
const attrs = (l: Labels) => Object.entries(l).map(([key, v]) => ({ key, value: { stringValue: v } }));

/** The OTLP/JSON request body (an object; JSON.stringify it). */
export function otlpMetrics(metrics: readonly Metric[], t: OtlpTimes): unknown {
  const startTimeUnixNano = nanos(t.start);
  const timeUnixNano = nanos(t.end);
  const out = metrics.map((m) => {
    const base = { name: m.name, description: m.help, unit: m.unit ?? '' };
    if (m.kind === 'histogram') {
      return {
        ...base,
        histogram: {
          aggregationTemporality: CUMULATIVE,
          dataPoints: m.points.map((p) => ({
            attributes: attrs(p.labels),
            startTimeUnixNano,
            timeUnixNano,
            count: String(p.hist.count),
            sum: p.hist.sum,
            bucketCounts: p.hist.counts.map(String),
            explicitBounds: p.hist.bounds,
          })),
        },
      };
    }
    const dataPoints = m.points.map((p) => ({
      attributes: attrs(p.labels),
      startTimeUnixNano,
      timeUnixNano,
      ...(Number.isInteger(p.value) ? { asInt: String(p.value) } : { asDouble: p.value }),
    }));
    return m.kind === 'counter' ? { ...base, sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints } } : { ...base, gauge: { dataPoints } };
  });
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: t.serviceName ?? 'bpfkit' } }] },
        scopeMetrics: [{ scope: { name: 'bpfkit', version: '0.1.0' }, metrics: out }],
      },
    ],
  };
}

/** Write the OTLP/JSON payload to a file. */
export function writeOtlpFile(path: string, metrics: readonly Metric[], t: OtlpTimes): void {
  writeFileSync(path, JSON.stringify(otlpMetrics(metrics, t)) + '\n');
}

/** Check an OTLP endpoint: http:// on 127.0.0.1 only. Returns the URL. */
export function checkOtlpUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--otlp-url: not a URL: "${url}"`);
  }
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') throw new UsageError(`--otlp-url must be http://127.0.0.1[:port]/path (local collectors only), not "${url}"`);
  return u;
}

/** POST the OTLP/JSON payload (Content-Type application/json); resolves with the HTTP status, rejects on non-2xx. */
export async function postOtlp(url: string, metrics: readonly Metric[], t: OtlpTimes): Promise<number> {
  const u = checkOtlpUrl(url);
  const body = JSON.stringify(otlpMetrics(metrics, t));
  return new Promise<number>((resolve, reject) => {
    const req = request(u, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const s = res.statusCode ?? 0;
        if (s >= 200 && s < 300) resolve(s);
        else reject(new BpfkitError('EOTLP', `OTLP POST to ${u.href}: HTTP ${s}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new BpfkitError('EOTLP', `OTLP POST to ${u.href}: ${err.message}`)));
    req.end(body);
  });
}
