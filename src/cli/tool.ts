/**
 * `bpfkit tool <name> [--duration S] [--pid P] [--json] [--interval S]`: observability tools built on the tracing
 * language — execsnoop, opensnoop, killsnoop, tcpstates, tcplife, biosnoop, threadsnoop, naptime (event lines),
 * pidpersec, syscount, biolatency, runqlat, profile (`--flamegraph F`, `--folded [F]`,
 * `--pprof F`, `--hz N`), offcputime (`--flamegraph F`, `--folded [F]`), cpudist (`--offcpu`), runqlen (`--hz N`),
 * bitesize, statsnoop, syncsnoop, oomkill — with exports: `--prometheus :PORT` (/metrics on 127.0.0.1), `--prometheus-file F`,
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
import { biosnoop } from '../tools/biosnoop.js';
import { killsnoop } from '../tools/killsnoop.js';
import { naptime } from '../tools/naptime.js';
import { pidpersec } from '../tools/pidpersec.js';
import { tcplife } from '../tools/tcplife.js';
import { tcpstates } from '../tools/tcpstates.js';
import { threadsnoop } from '../tools/threadsnoop.js';
import { bitesize, bitesizeText } from '../tools/bitesize.js';
import { cpudist } from '../tools/cpudist.js';
import { offcputime, offcputimeText } from '../tools/offcputime.js';
import { oomkill, oomkillLine } from '../tools/oomkill.js';
import { runqlen } from '../tools/runqlen.js';
import { statsnoop } from '../tools/statsnoop.js';
import { syncsnoop } from '../tools/syncsnoop.js';

const TOOLS = ['execsnoop', 'opensnoop', 'killsnoop', 'tcpstates', 'tcplife', 'biosnoop', 'threadsnoop', 'naptime', 'pidpersec', 'syscount', 'biolatency', 'runqlat', 'profile',
  'offcputime', 'cpudist', 'runqlen', 'bitesize', 'statsnoop', 'syncsnoop', 'oomkill'] as const;
/** Tools with --interval. */
const INTERVAL_TOOLS = ['syscount', 'biolatency', 'runqlat', 'pidpersec', 'cpudist'];
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
  offcpu?: boolean;
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
    .option('--interval <s>', 'syscount/biolatency/runqlat/pidpersec/cpudist: report (and reset) every S seconds')
    .option('--hz <n>', 'profile/runqlen: samples per second per CPU (default 99)')
    .option('--flamegraph <file>', 'profile/offcputime: write an SVG flame graph')
    .option('--folded [file]', 'profile/offcputime: folded stacks to FILE (or stdout)')
    .option('--offcpu', 'cpudist: off-CPU time per switch instead of on-CPU time')
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
      const profileOnly = o.pprof;
      if (profileOnly !== undefined && tool !== 'profile') throw new UsageError('tool: --pprof is for profile only');
      if ((o.flamegraph ?? o.folded) !== undefined && tool !== 'profile' && tool !== 'offcputime') throw new UsageError('tool: --flamegraph and --folded are for offcputime and profile only');
      if (o.hz !== undefined && tool !== 'profile' && tool !== 'runqlen') throw new UsageError('tool: --hz is for profile and runqlen only');
      if (o.offcpu && tool !== 'cpudist') throw new UsageError('tool: --offcpu is for cpudist only');
      if (interval !== undefined && !INTERVAL_TOOLS.includes(tool)) throw new UsageError(`tool: --interval is for ${INTERVAL_TOOLS.join(', ')}`);
      const wantsMetrics = o.prometheus !== undefined || o.prometheusFile !== undefined || o.otlpFile !== undefined || o.otlpUrl !== undefined;
      if (wantsMetrics && (tool === 'profile' || tool === 'offcputime')) throw new UsageError(`tool: ${tool} exports with ${tool === 'profile' ? '--pprof, ' : ''}--folded or --flamegraph, not metrics`);
      const port = o.prometheus !== undefined ? parseListenAddress(o.prometheus) : undefined;
      if (o.otlpUrl !== undefined) checkOtlpUrl(o.otlpUrl);
      // A live endpoint needs fresh data: histogram/count tools then report every 5 s unless told otherwise.
      if (port !== undefined && interval === undefined && INTERVAL_TOOLS.includes(tool)) interval = 5;

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
          case 'killsnoop':
          case 'tcpstates':
          case 'tcplife':
          case 'biosnoop':
          case 'threadsnoop':
          case 'naptime':
          case 'statsnoop':
          case 'syncsnoop':
          case 'oomkill': {
            await runEventTool(tool, base, !!o.json, (m) => {
              metrics = m;
              published();
            });
            break;
          }
          case 'pidpersec': {
            let total = 0;
            let last = Date.now();
            const report = (n: number, rate: number) => {
              total += n;
              last = Date.now();
              metrics = [{ kind: 'counter', name: 'bpfkit_forks_total', help: 'new processes and threads (sched_process_fork)', unit: '1', points: [{ labels: {}, value: total }] }];
              published();
              const now = new Date();
              if (o.json) out(JSON.stringify({ time: now.toISOString(), forks: n, perSecond: rate }) + '\n');
              else out(`${now.toISOString().slice(11, 19)} PIDs/sec: ${rate}\n`);
            };
            const all = await pidpersec({ ...base, interval: interval ?? 1, onInterval: report });
            // Forks of the last, partial interval.
            if (all > total) report(all - total, Math.round(((all - total) * 1000) / Math.max(1, Date.now() - last)));
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
          case 'offcputime': {
            const r = await offcputime({ ...base, onReady: () => process.stderr.write('Tracing off-CPU time (us)... Hit Ctrl-C to end.\n') });
            const folded = foldedStacks(r.stacks);
            if (o.flamegraph) writeFileSync(o.flamegraph, flameGraphSvg(folded, { title: 'bpfkit offcputime (us)' }));
            if (typeof o.folded === 'string') writeFileSync(o.folded, folded);
            if (o.json) out(JSON.stringify({ totalUs: r.totalUs, durationNs: r.durationNs, stacks: r.stacks.map((s) => ({ comm: s.comm, pid: s.pid, us: s.count, ns: s.ns, frames: s.frames.map((f) => ({ address: '0x' + f.address.toString(16), name: f.name, kernel: f.kernel, module: f.module })) })) }) + '\n');
            else if (o.folded === true) out(folded);
            else if (!o.flamegraph && o.folded === undefined) out(offcputimeText(r));
            else process.stderr.write(`${r.totalUs} us off-CPU, ${r.stacks.length} distinct stacks\n`);
            break;
          }
          case 'cpudist': {
            let total: Histogram | undefined;
            const what = o.offcpu ? 'off-CPU' : 'on-CPU';
            const report = (h: Histogram) => {
              total = total ? mergeHistograms(total, h) : h;
              metrics = [{ kind: 'histogram', name: o.offcpu ? 'bpfkit_offcpu_time_microseconds' : 'bpfkit_oncpu_time_microseconds', help: `${what} time per context switch, in microseconds`, unit: 'us', points: [{ labels: {}, hist: total }] }];
              published();
              if (o.json) out(JSON.stringify({ time: new Date().toISOString(), offcpu: !!o.offcpu, unit: h.unit, bounds: h.bounds, counts: h.counts, sum: h.sum, count: h.count }) + '\n');
              else out(`${what} time (us):\n${histogramText(h)}\n`);
            };
            report(await cpudist({ ...base, interval, offcpu: !!o.offcpu, onInterval: report }));
            break;
          }
          case 'runqlen': {
            const r = await runqlen({ ...base, hz });
            metrics = [{ kind: 'histogram', name: 'bpfkit_runqueue_length', help: 'Sampled CPU run-queue length (tasks waiting)', unit: '1', points: [...r.perCpu].map(([cpu, hist]) => ({ labels: { cpu: String(cpu) }, hist })) }];
            if (o.json) out(JSON.stringify({ hz: r.hz, occupancy: r.occupancy, bounds: r.all.bounds, counts: r.all.counts, count: r.all.count, perCpu: Object.fromEntries([...r.perCpu].map(([c, h]) => [c, { counts: h.counts, count: h.count }])) }) + '\n');
            else out(`run-queue length (samples at ${r.hz} Hz):\n${histogramText(r.all)}\nrunqocc: ${(100 * r.occupancy).toFixed(2)}%\n`);
            break;
          }
          case 'bitesize': {
            const r = await bitesize({ ...base, onReady: () => process.stderr.write('Tracing block I/O sizes... Hit Ctrl-C to end.\n') });
            metrics = [{ kind: 'histogram', name: 'bpfkit_block_io_size_bytes', help: 'Block I/O request sizes at issue, per command', unit: 'By', points: r.map((x) => ({ labels: { comm: x.comm, pid: String(x.pid) }, hist: x.hist })) }];
            if (o.json) out(JSON.stringify(r.map((x) => ({ pid: x.pid, comm: x.comm, unit: x.hist.unit, bounds: x.hist.bounds, counts: x.hist.counts, sum: x.hist.sum, count: x.hist.count }))) + '\n');
            else out(bitesizeText(r) || '(no block I/O)\n');
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

type EventTool = 'killsnoop' | 'tcpstates' | 'tcplife' | 'biosnoop' | 'threadsnoop' | 'naptime' | 'statsnoop' | 'syncsnoop' | 'oomkill';

/** Metric of each event tool: a per-comm counter of its events. */
const EVENT_METRIC: Record<EventTool, [string, string]> = {
  killsnoop: ['bpfkit_kills_total', 'kill() calls, per sending command'],
  tcpstates: ['bpfkit_tcp_state_changes_total', 'TCP state changes, per command in whose context they ran'],
  tcplife: ['bpfkit_tcp_connections_total', 'closed TCP connections, per command'],
  biosnoop: ['bpfkit_block_requests_total', 'completed block I/O requests, per issuing command'],
  threadsnoop: ['bpfkit_threads_created_total', 'pthread_create() calls, per command'],
  naptime: ['bpfkit_sleeps_total', 'nanosleep()/clock_nanosleep() calls, per command'],
  statsnoop: ['bpfkit_stat_calls_total', 'stat-family system calls, per command'],
  syncsnoop: ['bpfkit_sync_calls_total', 'sync/fsync/fdatasync/syncfs/sync_file_range/msync calls, per command'],
  oomkill: ['bpfkit_oom_kills_total', 'OOM kills, per victim command'],
};

/** Columns like bpftrace's (killsnoop, tcplife, threadsnoop) and bcc's (tcpstates, biosnoop) tools. */
async function runEventTool(tool: EventTool, base: { duration?: number; pid?: number; signal: AbortSignal; onReady?: () => void }, json: boolean, publish: (m: Metric[]) => void): Promise<void> {
  const perComm = new Map<string, number>();
  const emit = (e: { comm: string; time: Date }, line: string) => {
    perComm.set(e.comm, (perComm.get(e.comm) ?? 0) + 1);
    publish(eventCountMetrics(EVENT_METRIC[tool][0], EVENT_METRIC[tool][1], perComm));
    out(json ? JSON.stringify({ ...e, time: e.time.toISOString() }, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n' : line + '\n');
  };
  // Like bpftrace's tools: say on stderr when every probe is attached (scripts wait for it).
  base = { ...base, onReady: () => process.stderr.write(`Tracing ${tool}... Hit Ctrl-C to end.\n`) };
  const t = (d: Date) => d.toISOString().slice(11, 23);
  const l = (v: unknown, n: number) => String(v).padEnd(n);
  const r = (v: unknown, n: number) => String(v).padStart(n);
  const header = (s: string) => {
    if (!json) out(s + '\n');
  };
  switch (tool) {
    case 'killsnoop':
      header(`${l('TIME', 15)} ${r('PID', 7)} ${l('COMM', 16)} ${r('SIG', 4)} ${r('TPID', 6)} RESULT`);
      return killsnoop({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 15)} ${r(e.pid, 7)} ${l(e.comm, 16)} ${r(e.signal, 4)} ${r(e.targetPid, 6)} ${r(e.result, 6)}`) });
    case 'tcpstates':
      header(`${l('SKADDR', 16)} ${l('C-PID', 6)} ${l('C-COMM', 16)} ${l('LADDR', 15)} ${l('LPORT', 5)} ${l('RADDR', 15)} ${l('RPORT', 5)} ${l('OLDSTATE', 11)} -> ${l('NEWSTATE', 11)} MS`);
      return tcpstates({ ...base, onEvent: (e) => emit(e, `${l(e.skaddr, 16)} ${l(e.pid, 6)} ${l(e.comm, 16)} ${l(e.saddr, 15)} ${l(e.sport, 5)} ${l(e.daddr, 15)} ${l(e.dport, 5)} ${l(e.oldState, 11)} -> ${l(e.newState, 11)} ${e.ms.toFixed(3)}`) });
    case 'tcplife':
      header(`${l('PID', 5)} ${l('COMM', 10)} ${l('LADDR', 15)} ${l('LPORT', 5)} ${l('RADDR', 15)} ${l('RPORT', 5)} ${r('TX_KB', 5)} ${r('RX_KB', 5)} MS`);
      return tcplife({ ...base, onEvent: (e) => emit(e, `${l(e.pid, 5)} ${l(e.comm.slice(0, 10), 10)} ${l(e.saddr, 15)} ${l(e.sport, 5)} ${l(e.daddr, 15)} ${l(e.dport, 6)} ${r(Math.floor(e.txBytes / 1024), 5)} ${r(Math.floor(e.rxBytes / 1024), 5)} ${Math.floor(e.ms)}`) });
    case 'biosnoop':
      header(`${l('TIME', 12)} ${l('COMM', 16)} ${l('PID', 7)} ${l('DISK', 9)} ${l('T', 4)} ${l('SECTOR', 12)} ${l('BYTES', 8)} ${r('LAT(ms)', 8)}`);
      return biosnoop({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 12)} ${l(e.comm, 16)} ${l(e.pid, 7)} ${l(e.disk, 9)} ${l(e.rwbs, 4)} ${l(e.sector, 12)} ${l(e.bytes, 8)} ${r(e.ms.toFixed(3), 8)}`) });
    case 'threadsnoop':
      header(`${l('TIME', 15)} ${r('PID', 7)} ${l('COMM', 16)} FUNC`);
      return threadsnoop({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 15)} ${r(e.pid, 7)} ${l(e.comm, 16)} ${e.func}`) });
    case 'naptime':
      header(`${l('TIME', 12)} ${l('PPID', 6)} ${l('PCOMM', 16)} ${l('PID', 6)} ${l('COMM', 16)} SECONDS`);
      return naptime({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 12)} ${l(e.ppid, 6)} ${l(e.pcomm, 16)} ${l(e.pid, 6)} ${l(e.comm, 16)} ${e.absolute ? `@${e.sec}.${String(e.nsec).padStart(9, '0')}` : `${e.sec}.${String(Math.floor(e.nsec / 1e6)).padStart(3, '0')}`}`) });
    case 'statsnoop':
      header(`${l('TIME', 12)} ${r('PID', 7)} ${l('COMM', 16)} ${r('RET', 4)} ${r('ERR', 3)} ${l('SYSCALL', 10)} PATH`);
      return statsnoop({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 12)} ${r(e.pid, 7)} ${l(e.comm, 16)} ${r(e.ret < 0 ? -1 : e.ret, 4)} ${r(e.errno, 3)} ${l(e.syscall, 10)} ${e.path}`) });
    case 'syncsnoop':
      header(`${l('TIME', 12)} ${r('PID', 7)} ${l('COMM', 16)} ${r('FD', 4)} EVENT`);
      return syncsnoop({ ...base, onEvent: (e) => emit(e, `${l(t(e.time), 12)} ${r(e.pid, 7)} ${l(e.comm, 16)} ${r(e.fd, 4)} ${e.syscall}`) });
    case 'oomkill':
      return oomkill({ ...base, onEvent: (e) => emit({ ...e, comm: e.comm ?? '?' }, oomkillLine(e)) });
  }
}
