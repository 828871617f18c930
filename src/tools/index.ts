/**
 * Observability tools built on the tracing language (execsnoop, opensnoop, killsnoop, tcpstates, tcplife,
 * biosnoop, threadsnoop, naptime, pidpersec, syscount, biolatency, runqlat, profile, offcputime, cpudist, runqlen,
 * bitesize, statsnoop, syncsnoop, oomkill), flame graphs, and exports
 * fleets collect: Prometheus exposition, OTLP/JSON metrics, pprof.
 */
export { execsnoop, execsnoopScript, type ExecEvent } from './execsnoop.js';
export { opensnoop, opensnoopScript, type OpenEvent } from './opensnoop.js';
export { killsnoop, killsnoopScript, type KillEvent } from './killsnoop.js';
export { tcpstates, tcpstatesScript, type TcpStateEvent } from './tcpstates.js';
export { tcplife, tcplifeScript, type TcpLifeEvent } from './tcplife.js';
export { biosnoop, biosnoopScript, type BioEvent } from './biosnoop.js';
export { threadsnoop, threadsnoopScript, type ThreadEvent } from './threadsnoop.js';
export { naptime, naptimeScript, type NapEvent } from './naptime.js';
export { pidpersec, pidpersecScript } from './pidpersec.js';
export { signalName, tcpStateName, blockDeviceName, TCP_STATES } from './names.js';
export { syscount, syscountScript, syscallName, type SyscallCount } from './syscount.js';
export { biolatency, biolatencyScript } from './biolatency.js';
export { runqlat, runqlatScript } from './runqlat.js';
export type { LatencyOptions } from './latency.js';
export { profile, profileScript, type ProfileOptions, type ProfileResult, type ProfileStack, type ProfileFrame } from './profile.js';
export { foldedStacks, flameGraphSvg, type FlameGraphOptions } from './flamegraph.js';
export { offcputime, offcputimeScript, offcputimeText, type OffCpuOptions, type OffCpuResult, type OffCpuStack } from './offcputime.js';
export { cpudist, cpudistScript, type CpudistOptions } from './cpudist.js';
export { runqlen, runqlenScript, runqueueExpr, type RunqlenOptions, type RunqlenResult } from './runqlen.js';
export { bitesize, bitesizeScript, bitesizeText, type BiteSize } from './bitesize.js';
export { statsnoop, statsnoopScript, type StatEvent } from './statsnoop.js';
export { syncsnoop, syncsnoopScript, type SyncEvent } from './syncsnoop.js';
export { oomkill, oomkillScript, oomkillLine, type OomEvent } from './oomkill.js';
export { StackResolver, kernelFrame } from './stacks.js';
export { fromLog2, fromLinear, cumulative, histogramText, mergeHistograms, type Histogram } from './histogram.js';
export type { ToolOptions } from './runner.js';
export { readMappings, resolveUser, type UserMapping, type UserFrame } from './usym.js';
export { syscountMetrics, latencyMetrics, eventCountMetrics, type Metric, type Labels } from './export/metrics.js';
export { prometheusText, escapeLabelValue, PROMETHEUS_CONTENT_TYPE } from './export/prometheus.js';
export { serveMetrics, parseListenAddress, type MetricsServer } from './export/prom-server.js';
export { otlpMetrics, writeOtlpFile, postOtlp, checkOtlpUrl, type OtlpTimes } from './export/otlp.js';
export { pprofBytes, pprofMessage, decodePprof, pprofType } from './export/pprof.js';
export { PROFILE_PROTO_URL } from './export/pprof.js';
