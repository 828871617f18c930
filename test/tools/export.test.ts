/** Exporters: Prometheus exposition (strictly parsed), the /metrics endpoint, OTLP/JSON, histogram conversion. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { eventCountMetrics, latencyMetrics, syscountMetrics, type Metric } from '../../src/tools/export/metrics.js';
import { checkOtlpUrl, otlpMetrics, postOtlp, writeOtlpFile } from '../../src/tools/export/otlp.js';
import { parseListenAddress, serveMetrics } from '../../src/tools/export/prom-server.js';
import { prometheusText, PROMETHEUS_CONTENT_TYPE } from '../../src/tools/export/prometheus.js';
import { cumulative, fromLinear, fromLog2, histogramText, mergeHistograms } from '../../src/tools/histogram.js';
import { checkHistograms, parsePrometheus } from './prom-parse.js';

// log2 buckets: [0]=1 value 0... index: 0 neg, 1 zero, 2 [1], 3 [2,4), 4 [4,8), 5 [8,16)
const log2 = fromLog2([0n, 1n, 2n, 0n, 3n, 1n], 'us', 40n);

test('fromLog2: inclusive bounds of bpftrace buckets, counts, sum', () => {
  assert.deepEqual(log2.bounds, [-1, 0, 1, 3, 7, 15]);
  assert.deepEqual(log2.counts, [0, 1, 2, 0, 3, 1, 0]);
  assert.equal(log2.count, 7);
  assert.equal(log2.sum, 40);
  assert.deepEqual(cumulative(log2), [0, 1, 3, 3, 6, 7, 7]);
  assert.equal(histogramText(log2).split('\n')[0]!.startsWith('[0] '), true);
  assert.match(histogramText(log2), /^\[4, 8\)\s+3 \|@{40}/m);
});

test('fromLinear: lhist(0, 100, 10) buckets with under/overflow', () => {
  const h = fromLinear([1n, 2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 4n, 5n], { min: 0, max: 100, step: 10 }, 'ms');
  assert.deepEqual(h.bounds, [-1, 9, 19, 29, 39, 49, 59, 69, 79, 89, 99]);
  assert.deepEqual(h.counts, [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5]);
  assert.equal(h.count, 12);
  assert.equal(h.sumExact, false);
});

test('mergeHistograms: log2 histograms of different extent add up', () => {
  const a = fromLog2([0n, 1n, 1n], 'us', 1n);
  const m = mergeHistograms(a, log2);
  assert.deepEqual(m.bounds, log2.bounds);
  assert.deepEqual(m.counts, [0, 2, 3, 0, 3, 1, 0]);
  assert.equal(m.count, 9);
  assert.equal(m.sum, 41);
  assert.throws(() => mergeHistograms(log2, fromLinear([1n], { min: 0, max: 10, step: 5 }, 'us')), RangeError);
});

const sample: Metric[] = [
  ...syscountMetrics([{ nr: 0, name: 'read', count: 12 }, { nr: 39, name: 'getpid', count: 3 }]),
  ...latencyMetrics('runqlat', log2),
  ...eventCountMetrics('bpfkit_opens_total', 'opens\nwith "newline" and \\ backslash', new Map([['we"ird\\co\nmm', 2]])),
  { kind: 'gauge', name: 'bpfkit_test_gauge', help: 'g', points: [{ labels: { a: 'x', b: 'y' }, value: 1.5 }, { labels: { a: 'z', b: '' }, value: -Infinity }] },
  { kind: 'histogram', name: 'bpfkit_test_hist', help: 'two series', points: [{ labels: { disk: 'vda' }, hist: log2 }, { labels: { disk: 'vdb' }, hist: fromLog2([], 'us', 0n) }] },
];

test('prometheusText: strictly parseable; histograms cumulative ending in +Inf = _count; escapes round-trip', () => {
  const text = prometheusText(sample);
  const doc = parsePrometheus(text);
  assert.equal(doc.types.get('bpfkit_syscalls_total'), 'counter');
  assert.equal(doc.types.get('bpfkit_runqueue_latency_microseconds'), 'histogram');
  assert.equal(checkHistograms(doc), 3);
  const v = (name: string, labels: Record<string, string>) => doc.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
  assert.equal(v('bpfkit_syscalls_total', { syscall: 'read' }), 12);
  assert.equal(v('bpfkit_opens_total', { comm: 'we"ird\\co\nmm' }), 2);
  assert.equal(v('bpfkit_test_gauge', { a: 'z', b: '' }), -Infinity);
  assert.equal(v('bpfkit_runqueue_latency_microseconds_bucket', { le: '7' }), 6);
  assert.equal(v('bpfkit_runqueue_latency_microseconds_bucket', { le: '+Inf' }), 7);
  assert.equal(v('bpfkit_runqueue_latency_microseconds_sum', {}), 40);
  assert.equal(v('bpfkit_test_hist_count', { disk: 'vdb' }), 0);
  assert.equal(doc.help.get('bpfkit_opens_total'), 'opens\\nwith "newline" and \\\\ backslash');
  assert.ok(!text.includes('\n\n'));
});

test('prometheusText: bad names are refused', () => {
  assert.throws(() => prometheusText([{ kind: 'gauge', name: '1bad', help: '', points: [] }]), /bad metric name/);
  assert.throws(() => prometheusText([{ kind: 'gauge', name: 'ok', help: '', points: [{ labels: { 'a-b': 'x' }, value: 1 }] }]), /bad label name/);
  assert.throws(() => prometheusText([{ kind: 'histogram', name: 'h', help: '', points: [{ labels: { le: '1' }, hist: log2 }] }]), /le/);
});

test('serveMetrics: /metrics on 127.0.0.1 answers the current exposition; other paths 404', async () => {
  let metrics: Metric[] = syscountMetrics([{ nr: 0, name: 'read', count: 1 }]);
  const srv = await serveMetrics(0, () => prometheusText(metrics));
  try {
    const r1 = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    assert.equal(parsePrometheus(await r1.text()).samples[0]!.value, 1);
    metrics = sample;
    const r2 = await fetch(`http://127.0.0.1:${srv.port}/metrics`);
    assert.equal(checkHistograms(parsePrometheus(await r2.text())), 3);
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await srv.close();
  }
  assert.equal(parseListenAddress(':9100'), 9100);
  assert.equal(parseListenAddress('127.0.0.1:9100'), 9100);
  assert.throws(() => parseListenAddress('0.0.0.0:9100'), /127\.0\.0\.1 only/);
  assert.throws(() => parseListenAddress('example.com:80'));
});

test('otlpMetrics: counters as monotonic cumulative sums, histograms as explicit buckets', () => {
  const start = new Date(1_700_000_000_000);
  const end = new Date(1_700_000_005_000);
  const body = otlpMetrics(sample, { start, end }) as any;
  const rm = body.resourceMetrics[0];
  assert.deepEqual(rm.resource.attributes, [{ key: 'service.name', value: { stringValue: 'bpfkit' } }]);
  const ms = rm.scopeMetrics[0].metrics;
  const sys = ms.find((m: any) => m.name === 'bpfkit_syscalls_total');
  assert.equal(sys.sum.isMonotonic, true);
  assert.equal(sys.sum.aggregationTemporality, 2);
  assert.deepEqual(sys.sum.dataPoints[0], { attributes: [{ key: 'syscall', value: { stringValue: 'read' } }], startTimeUnixNano: '1700000000000000000', timeUnixNano: '1700000005000000000', asInt: '12' });
  const h = ms.find((m: any) => m.name === 'bpfkit_runqueue_latency_microseconds');
  assert.equal(h.unit, 'us');
  const dp = h.histogram.dataPoints[0];
  assert.deepEqual(dp.explicitBounds, [-1, 0, 1, 3, 7, 15]);
  assert.deepEqual(dp.bucketCounts, ['0', '1', '2', '0', '3', '1', '0']);
  assert.equal(dp.bucketCounts.length, dp.explicitBounds.length + 1);
  assert.equal(dp.count, '7');
  assert.equal(dp.sum, 40);
  const g = ms.find((m: any) => m.name === 'bpfkit_test_gauge');
  assert.equal(g.gauge.dataPoints[0].asDouble, 1.5);
});

test('OTLP: written to a file and POSTed to a local collector; other hosts refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-otlp-'));
  const got: { path?: string; type?: string; body: string }[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url, type: req.headers['content-type'], body });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const t = { start: new Date(), end: new Date() };
    writeOtlpFile(join(dir, 'm.json'), sample, t);
    const fromFile = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    assert.equal(fromFile.resourceMetrics[0].scopeMetrics[0].metrics.length, sample.length);
    const port = (srv.address() as AddressInfo).port;
    assert.equal(await postOtlp(`http://127.0.0.1:${port}/v1/metrics`, sample, t), 200);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.path, '/v1/metrics');
    assert.equal(got[0]!.type, 'application/json');
    assert.deepEqual(JSON.parse(got[0]!.body), JSON.parse(JSON.stringify(otlpMetrics(sample, t))));
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => checkOtlpUrl('http://example.com/v1/metrics'), /127\.0\.0\.1/);
  assert.throws(() => checkOtlpUrl('https://127.0.0.1/v1/metrics'), /127\.0\.0\.1/);
  assert.throws(() => checkOtlpUrl('http://localhost:4318/v1/metrics'), /127\.0\.0\.1/);
  await assert.rejects(postOtlp('http://10.0.0.1:4318/v1/metrics', sample, { start: new Date(), end: new Date() }), /127\.0\.0\.1/);
});
