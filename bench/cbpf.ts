/**
 * Classic BPF benchmarks: instruction counts of bpfkit's filter compiler next to `tcpdump -d` for simple
 * expressions, and filter throughput (packets/s) of the classic interpreter and of the eBPF translation in the
 * userspace VM, next to tcpdump filtering the same capture file (`tcpdump -r FILE -w /dev/null EXPR`, which
 * includes tcpdump's file reading; bpfkit's numbers are over packets already in memory).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicToEbpf, compileFilter, EbpfFilterRunner, runClassic } from '../src/cbpf/index.js';
import { readPcap, writePcap } from '../src/pcap/index.js';
import { generatePackets } from '../test/fixtures/packets.js';
import { result, timeIt, type BenchResult } from './harness.js';

const COUNT_EXPRS = [
  'ip', 'ip6', 'arp', 'tcp', 'udp', 'icmp', 'host 10.0.0.1', 'src net 10.0.0.0/8', 'tcp port 80', 'port 53',
  'portrange 1000-2000', 'ether host 00:11:22:33:44:55', 'ether broadcast', 'vlan 10 and ip', 'ip[2:2] > 576',
  'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0', 'icmp[icmptype] = icmp-echo', 'ip6 host 2001:db8::1',
  'tcp and (port 80 or port 443)', 'not port 22 and host 192.168.1.1', 'len > 100 and len < 500', 'udp port 53 or tcp port 53',
];
const SPEED_EXPRS = ['ip', 'tcp port 80', 'host 10.0.0.1 and not port 22', 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0'];

/** Run the classic BPF benchmarks. */
export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bench-cbpf-'));
  try {
    const empty = join(dir, 'e.pcap');
    writeFileSync(empty, writePcap([]));
    for (const expr of COUNT_EXPRS) {
      const mine = compileFilter(expr).length;
      const theirs = hasTcpdump
        ? execFileSync('tcpdump', ['-r', empty, '-d', '--', expr], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n').length
        : undefined;
      out.push(result({ subject: 'cbpf', case: expr, metric: 'instructions', value: mine, unit: 'insns', ...(theirs !== undefined ? { reference: { name: 'tcpdump -d', value: theirs } } : { notes: 'tcpdump not installed' }) }));
    }
    const pkts = generatePackets(20000, 77);
    const file = join(dir, 'p.pcap');
    writeFileSync(file, writePcap(pkts));
    const recs = readPcap(writePcap(pkts)).records;
    for (const expr of SPEED_EXPRS) {
      const prog = compileFilter(expr);
      let tcpdumpPps: number | undefined;
      if (hasTcpdump) {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = process.hrtime.bigint();
          execFileSync('tcpdump', ['-r', file, '-w', '/dev/null', '--', expr], { stdio: 'ignore' });
          times.push(Number(process.hrtime.bigint() - t0));
        }
        times.sort((a, b) => a - b);
        tcpdumpPps = recs.length / (times[2]! / 1e9);
      }
      const ref = tcpdumpPps !== undefined ? { reference: { name: 'tcpdump -r (incl. file read, process start)', value: tcpdumpPps } } : {};
      const tc = timeIt(() => {
        let n = 0;
        for (const r of recs) if (runClassic(prog, r.data, { wireLen: r.origLen }) !== 0) n++;
        return n;
      }, { warmup: 2, trials: 7, minTrialMs: 50 });
      out.push(result({ subject: 'cbpf', case: `${expr} (cBPF interpreter)`, metric: 'throughput (median)', value: recs.length / (tc.median / 1e9), unit: 'pkt/s', ...ref }));
      const runner = new EbpfFilterRunner(classicToEbpf(prog));
      const te = timeIt(() => {
        let n = 0;
        for (const r of recs) if (runner.run(r.data, { wireLen: r.origLen }) !== 0) n++;
        return n;
      }, { warmup: 2, trials: 7, minTrialMs: 50 });
      out.push(result({ subject: 'cbpf', case: `${expr} (eBPF in the VM)`, metric: 'throughput (median)', value: recs.length / (te.median / 1e9), unit: 'pkt/s', ...ref }));
    }
    const tcomp = timeIt(() => compileFilter('host 10.0.0.1 and (port 80 or port 443) and not net 192.168.0.0/16'), { warmup: 5, trials: 11 });
    out.push(result({ subject: 'cbpf', case: 'compile host/port/net expression', metric: 'time (median)', value: tcomp.median / 1e3, unit: 'us' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
