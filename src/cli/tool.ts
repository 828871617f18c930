/**
 * `bpfkit tool <name> [--duration S] [--pid P] [--json] [--interval S]`: observability tools built on the tracing
 * language — execsnoop, opensnoop, syscount, biolatency, runqlat, profile (`--flamegraph F`, `--folded [F]`,
 * `--pprof F`, `--hz N`) — with exports: `--prometheus :PORT` (/metrics on 127.0.0.1), `--prometheus-file F`,
 * `--otlp-file F`, `--otlp-url http://127.0.0.1:PORT/v1/metrics`. Ctrl-C stops and reports.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { biolatency } from '../tools/biolatency.js';
import { execsnoop, type ExecEvent } from '../tools/execsnoop.js';
import { eventCountMetrics, latencyMetrics, syscountMetrics, type Metric } from '../tools/export/metrics.js';
import { checkOtlpUrl, postOtlp, writeOtlpFile } from '../tools/export/otlp.js';
import { pprofBytes } from '../tools/export/pprof.js';
import { parseListenAddress, serveMetrics, type MetricsServer } from '../tools/export/prom-server.js';
import { prometheusText } from '../tools/export/prometheus.js';
import { flameGraphSvg, foldedStacks } from '../tools/flamegraph.js';
import { histogramText, mergeHistograms, type Histogram } from '../tools/histogram.js';
import type { LatencyOptions } from '../tools/latency.js';
import { opensnoop, type OpenEvent } from '../tools/opensnoop.js';
import { profile } from '../tools/profile.js';
import { runqlat } from '../tools/runqlat.js';
import { syscount, type SyscallCount } from '../tools/syscount.js';

const TOOLS = ['execsnoop', 'opensnoop', 'syscount', 'biolatency', 'runqlat', 'profile'] as const;
type ToolName = (typeof TOOLS)[number];

interface ToolCliOptions {
  duration?: string;
  pid?: string;
  json?: boolean;
  interval?: string;
  hz?: string;
  flamegraph?: string;
  folded?: string | boolean;
  pprof?: string;
  prometheus?: string;
  prometheusFile?: string;
  otlpFile?: string;
  otlpUrl?: string;
}

const out = (s: string) => process.stdout.write(s);

function num(v: string | undefined, what: string, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`tool: ${what} wants a positive ${integer ? 'integer' : 'number'}, not "${v}"`);
  return n;
}

/** Write a file atomically (textfile collectors may read it at any time). */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function register(program: Command): void {
  program
    .command('tool')
    .description(`observability tools on the tracing language: ${TOOLS.join(', ')}`)
    .argument('<name>', TOOLS.join(' | '))
    .option('--duration <s>', 'stop after S seconds (default: until Ctrl-C)')
    .option('--pid <pid>', 'only this process')
    .option('--json', 'JSON lines output')
    .option('--interval <s>', 'syscount/biolatency/runqlat: report (and reset) every S seconds')
    .option('--hz <n>', 'profile: samples per second per CPU (default 99)')
    .option('--flamegraph <file>', 'profile: write an SVG flame graph')
    .option('--folded [file]', 'profile: folded stacks to FILE (or stdout)')
    .option('--pprof <file>', 'profile: write a gzipped pprof profile')
    .option('--prometheus <addr>', 'serve /metrics on 127.0.0.1 (:PORT)')
    .option('--prometheus-file <file>', 'write the Prometheus exposition to FILE (each interval and at the end)')
    .option('--otlp-file <file>', 'write OTLP/JSON metrics to FILE at the end')
    .option('--otlp-url <url>', 'POST OTLP/JSON metrics to http://127.0.0.1:PORT/... at the end')
    .action(async (name: string, o: ToolCliOptions) => {
      if (!(TOOLS as readonly string[]).includes(name)) throw new UsageError(`tool: unknown tool "${name}" (one of ${TOOLS.join(', ')})`);
      const tool = name as ToolName;
      const duration = num(o.duration, '--duration');
      const pid = num(o.pid, '--pid', true);
      let interval = num(o.interval, '--interval');
      const hz = num(o.hz, '--hz', true);
      const profileOnly = o.flamegraph ?? o.folded ?? o.pprof ?? o.hz;
      if (profileOnly !== undefined && tool !== 'profile') throw new UsageError('tool: --hz, --flamegraph, --folded and --pprof are for profile only');
      if (interval !== undefined && !['syscount', 'biolatency', 'runqlat'].includes(tool)) throw new UsageError('tool: --interval is for syscount, biolatency and runqlat');
      const wantsMetrics = o.prometheus !== undefined || o.prometheusFile !== undefined || o.otlpFile !== undefined || o.otlpUrl !== undefined;
      if (wantsMetrics && tool === 'profile') throw new UsageError('tool: profile exports with --pprof, --folded or --flamegraph, not metrics');
      const port = o.prometheus !== undefined ? parseListenAddress(o.prometheus) : undefined;
      if (o.otlpUrl !== undefined) checkOtlpUrl(o.otlpUrl);
      // A live endpoint needs fresh data: histogram/count tools then report every 5 s unless told otherwise.
      if (port !== undefined && interval === undefined && ['syscount', 'biolatency', 'runqlat'].includes(tool)) interval = 5;

      const ac = new AbortController();
      const stop = () => ac.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const start = new Date();
      let metrics: Metric[] = [];
      let server: MetricsServer | undefined;
      const published = () => {
        if (o.prometheusFile) writeAtomic(o.prometheusFile, prometheusText(metrics));
      };
      try {
        if (port !== undefined) {
          server = await serveMetrics(port, () => prometheusText(metrics));
          process.stderr.write(`serving http://127.0.0.1:${server.port}/metrics\n`);
        }
        const base = { duration, pid, signal: ac.signal };
        switch (tool) {
          case 'execsnoop':
          case 'opensnoop': {
            const perComm = new Map<string, number>();
            const mname = tool === 'execsnoop' ? 'bpfkit_execs_total' : 'bpfkit_opens_total';
            const help = tool === 'execsnoop' ? 'execve calls, per resulting command' : 'openat calls, per command';
            if (!o.json) out(tool === 'execsnoop' ? `${'TIME'.padEnd(12)} ${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'RET'.padStart(4)} ${'COMM'.padEnd(16)} ARGS\n` : `${'TIME'.padEnd(12)} ${'PID'.padStart(7)} ${'COMM'.padEnd(16)} ${'FD'.padStart(4)} ${'ERR'.padStart(4)} PATH\n`);
            const count = (comm: string) => {
              perComm.set(comm, (perComm.get(comm) ?? 0) + 1);
              metrics = eventCountMetrics(mname, help, perComm);
            };
            const hhmmss = (d: Date) => d.toISOString().slice(11, 23);
            if (tool === 'execsnoop') {
              await execsnoop({
                ...base,
                onEvent: (e: ExecEvent) => {
                  count(e.comm);
                  if (o.json) out(JSON.stringify({ ...e, time: e.time.toISOString() }) + '\n');
                  else out(`${hhmmss(e.time)} ${String(e.pid).padStart(7)} ${String(e.ppid).padStart(7)} ${String(e.ret).padStart(4)} ${e.comm.padEnd(16)} ${e.args.join(' ')}\n`);
                },
              });
            } else {
              await opensnoop({
                ...base,
                onEvent: (e: OpenEvent) => {
                  count(e.comm);
                  if (o.json) out(JSON.stringify({ ...e, time: e.time.toISOString() }) + '\n');
                  else out(`${hhmmss(e.time)} ${String(e.pid).padStart(7)} ${e.comm.padEnd(16)} ${String(e.fd).padStart(4)} ${String(e.errno).padStart(4)} ${e.path}\n`);
                },
              });
            }
            break;
          }
          case 'syscount': {
            const total = new Map<string, SyscallCount>();
            const report = (c: SyscallCount[]) => {
              for (const x of c) {
                const t = total.get(x.name);
                total.set(x.name, { ...x, count: (t?.count ?? 0) + x.count });
              }
              metrics = syscountMetrics([...total.values()]);
              published();
              if (o.json) out(JSON.stringify({ time: new Date().toISOString(), syscalls: c }) + '\n');
              else out(`${'SYSCALL'.padEnd(24)} ${'COUNT'.padStart(10)}\n` + c.map((x) => `${x.name.padEnd(24)} ${String(x.count).padStart(10)}\n`).join('') + '\n');
            };
            const last = await syscount({ ...base, interval, onInterval: report });
            report(last);
            break;
          }
          case 'biolatency':
          case 'runqlat': {
            let total: Histogram | undefined;
            const report = (h: Histogram) => {
              total = total ? mergeHistograms(total, h) : h;
              metrics = latencyMetrics(tool, total);
              published();
              if (o.json) out(JSON.stringify({ time: new Date().toISOString(), unit: h.unit, bounds: h.bounds, counts: h.counts, sum: h.sum, count: h.count }) + '\n');
              else out(`${tool === 'biolatency' ? 'block I/O' : 'run-queue'} latency (us):\n${histogramText(h)}\n`);
            };
            const lo: LatencyOptions = { ...base, interval, onInterval: report };
            report(tool === 'biolatency' ? await biolatency(lo) : await runqlat(lo));
            break;
          }
          case 'profile': {
            const r = await profile({ ...base, hz });
            const folded = foldedStacks(r.stacks);
            if (o.flamegraph) writeFileSync(o.flamegraph, flameGraphSvg(folded, { title: `bpfkit profile, ${r.hz} Hz` }));
            if (o.pprof) writeFileSync(o.pprof, pprofBytes(r));
            if (typeof o.folded === 'string') writeFileSync(o.folded, folded);
            const toStdout = o.folded === true || (!o.flamegraph && !o.pprof && o.folded === undefined);
            if (o.json) out(JSON.stringify({ hz: r.hz, totalSamples: r.totalSamples, durationNs: r.durationNs, stacks: r.stacks.map((s) => ({ comm: s.comm, pid: s.pid, count: s.count, frames: s.frames.map((f) => ({ address: '0x' + f.address.toString(16), name: f.name, kernel: f.kernel, module: f.module })) })) }) + '\n');
            else if (toStdout) out(folded);
            else process.stderr.write(`${r.totalSamples} samples, ${r.stacks.length} distinct stacks\n`);
            break;
          }
        }
        published();
        const t = { start, end: new Date() };
        if (o.otlpFile) writeOtlpFile(o.otlpFile, metrics, t);
        if (o.otlpUrl) await postOtlp(o.otlpUrl, metrics, t);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await server?.close();
      }
    });
}
