/**
 * The main check of the filter compiler: over a generated capture of 1500 varied packets, every expression of
 * the corpus (>= 200) selects exactly the packets `tcpdump -r FILE -w OUT EXPR` selects, run both by the classic
 * interpreter and by the eBPF translation in the userspace VM. Also: instruction counts never above
 * `tcpdump -d`, and the -d/-dd/-ddd text identical to tcpdump's for simple expressions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, runClassic, classicToEbpf, EbpfFilterRunner, formatDump, formatDumpC, formatDumpDecimal } from '../../src/cbpf/index.js';
import { readPcap, writePcap } from '../../src/pcap/index.js';
import { generatePackets } from '../fixtures/packets.js';
import { FILTER_CORPUS } from './corpus.js';

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const skip = hasTcpdump ? false : 'tcpdump is not installed';

const SIMPLE = [
  'ip', 'ip6', 'arp', 'tcp', 'udp', 'icmp', 'not tcp', 'host 10.0.0.1', 'src host 10.0.0.1', 'net 10.0.0.0/8',
  'port 80', 'tcp port 80', 'udp dst port 53', 'portrange 1000-2000', 'ether host 00:11:22:33:44:55', 'ether broadcast',
  'less 100', 'greater 1000', 'ip proto 17', 'vlan 10', 'ip[2:2] > 576', 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0',
  'icmp[icmptype] = icmp-echo', 'ip6 host 2001:db8::1', 'tcp and (port 80 or port 443)', 'host 10.0.0.1 or 10.0.0.2',
];

test('the corpus is large enough', () => {
  assert.ok(FILTER_CORPUS.length >= 200, `${FILTER_CORPUS.length} expressions`);
  assert.equal(new Set(FILTER_CORPUS).size, FILTER_CORPUS.length, 'no duplicates');
});

test('every corpus expression selects the same packets as tcpdump (cBPF interpreter and eBPF VM)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-equiv-'));
  try {
    const pkts = generatePackets(1500, 42);
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcap');
    writeFileSync(input, writePcap(pkts));
    const failures: string[] = [];
    for (const expr of FILTER_CORPUS) {
      execFileSync('tcpdump', ['-r', input, '-w', output, '--', expr], { stdio: ['ignore', 'ignore', 'pipe'] });
      const want = new Set(readPcap(new Uint8Array(readFileSync(output))).records.map((r) => r.ts));
      const prog = compileFilter(expr);
      const ebpf = new EbpfFilterRunner(classicToEbpf(prog));
      const gotC: number[] = [];
      const gotE: number[] = [];
      for (const p of pkts) {
        const wireLen = p.origLen ?? p.data.length;
        if (runClassic(prog, p.data, { wireLen }) !== 0) gotC.push(p.ts);
        if (ebpf.run(p.data, { wireLen }) !== 0) gotE.push(p.ts);
      }
      const same = (got: number[]) => got.length === want.size && got.every((t) => want.has(t));
      if (!same(gotC)) failures.push(`cBPF ${expr}: tcpdump ${want.size}, bpfkit ${gotC.length}`);
      if (!same(gotE)) failures.push(`eBPF ${expr}: tcpdump ${want.size}, bpfkit ${gotE.length}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function tcpdumpDump(dir: string, flag: string, expr: string): string {
  return execFileSync('tcpdump', ['-r', join(dir, 'e.pcap'), flag, '--', expr], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

test('instruction counts are at most tcpdump -d for every corpus expression; simple ones print identically', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-count-'));
  try {
    writeFileSync(join(dir, 'e.pcap'), writePcap([]));
    const over: string[] = [];
    for (const expr of FILTER_CORPUS) {
      const mine = compileFilter(expr).length;
      const theirs = tcpdumpDump(dir, '-d', expr).trim().split('\n').length;
      if (mine > theirs) over.push(`${expr}: ${mine} > ${theirs}`);
    }
    assert.deepEqual(over, []);
    for (const expr of SIMPLE) {
      const prog = compileFilter(expr);
      assert.equal(formatDump(prog), tcpdumpDump(dir, '-d', expr), `-d ${expr}`);
      assert.equal(formatDumpC(prog), tcpdumpDump(dir, '-dd', expr), `-dd ${expr}`);
      assert.equal(formatDumpDecimal(prog), tcpdumpDump(dir, '-ddd', expr), `-ddd ${expr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('other link types: raw IP and Linux cooked captures match tcpdump', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-dlt-'));
  try {
    const eth = generatePackets(800, 5).filter((p) => p.data.length > 14 && p.origLen === undefined);
    const cases: { linktype: number; records: { data: Uint8Array; ts: number }[] }[] = [
      { linktype: 101, records: eth.filter((p) => ((p.data[12]! << 8) | p.data[13]!) === 0x0800 || ((p.data[12]! << 8) | p.data[13]!) === 0x86dd).map((p) => ({ data: p.data.slice(14), ts: p.ts })) },
      {
        linktype: 113,
        records: eth.map((p) => {
          const sll = new Uint8Array(16 + p.data.length - 14);
          sll[1] = 0; // packet type: to us
          sll[3] = 1; // ARPHRD_ETHER
          sll[5] = 6;
          sll.set(p.data.slice(6, 12), 6);
          sll[14] = p.data[12]!;
          sll[15] = p.data[13]!;
          sll.set(p.data.slice(14), 16);
          return { data: sll, ts: p.ts };
        }),
      },
    ];
    const exprs = ['ip', 'ip6', 'tcp', 'udp port 53', 'host 10.0.0.1', 'tcp[tcpflags] & tcp-syn != 0', 'ip[9] = 17', 'net 192.168.1.0/24', 'icmp6', 'not ip', 'portrange 1-1023', 'arp'];
    for (const c of cases) {
      writeFileSync(join(dir, 'in.pcap'), writePcap(c.records, { linktype: c.linktype }));
      for (const expr of exprs) {
        if (c.linktype === 101 && expr === 'arp') continue;
        execFileSync('tcpdump', ['-r', join(dir, 'in.pcap'), '-w', join(dir, 'out.pcap'), '--', expr], { stdio: 'ignore' });
        const want = readPcap(new Uint8Array(readFileSync(join(dir, 'out.pcap')))).records.map((r) => r.ts);
        const prog = compileFilter(expr, { linktype: c.linktype });
        const got = c.records.filter((r) => runClassic(prog, r.data) !== 0).map((r) => r.ts);
        assert.deepEqual(got, want, `linktype ${c.linktype}: ${expr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
