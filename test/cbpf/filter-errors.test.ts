/**
 * Invalid filter expressions give one-line CbpfErrors with the position of the offending token (libpcap's
 * messages where libpcap has one), names never touch the network, and a fuzzer of random and mutated
 * expressions gets only valid programs or CbpfErrors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileFilter, validateFilter, runClassic } from '../../src/cbpf/index.js';
import { CbpfError } from '../../src/errors.js';
import { generatePackets, writePcap } from '../fixtures/packets.js';
import { mulberry32 } from '../fixtures/random.js';
import { FILTER_CORPUS } from './corpus.js';

function err(expr: string): CbpfError {
  try {
    compileFilter(expr);
  } catch (e) {
    assert.ok(e instanceof CbpfError, `${expr}: ${(e as Error)?.stack}`);
    return e;
  }
  assert.fail(`${expr}: compiled`);
}

test('syntax errors carry the 1-based position of the offending token', () => {
  assert.equal(err('tcp and').message, 'syntax error: unexpected end of expression at position 8');
  assert.equal(err('tcp and and').position, 9);
  assert.equal(err('host').position, 5);
  assert.equal(err('ip[2:2 > 5').position, 8);
  assert.equal(err('(tcp').position, 5);
  assert.equal(err('tcp)').position, 4);
  assert.equal(err('port 80 80').position, 9);
  assert.equal(err('tcp $').message, "illegal character '$' at position 5");
  assert.equal(err('TCP').position, 1, 'keywords are case-sensitive, as in libpcap');
  assert.match(err('tcp 80').message, /syntax error near '80' at position 5/);
});

test('semantic errors use libpcap messages', () => {
  assert.match(err('host foo.invalid').message, /^unknown host 'foo.invalid' at position 6$/);
  assert.match(err('port 70000').message, /illegal port number 70000 > 65535/);
  assert.match(err('port nosuchservice').message, /unknown port 'nosuchservice'/);
  assert.match(err('net 10.0.0.1/8').message, /non-network bits set in "10.0.0.1\/8"/);
  assert.match(err('net 10.0.0.0/33').message, /mask length must be <= 32/);
  assert.match(err('host 10.0.0.0/8').message, /Mask syntax for networks only/);
  assert.match(err('tcp host 1.2.3.4').message, /'tcp' modifier applied to host/);
  assert.match(err('ip6 host 1.2.3.4').message, /'ip6' modifier applied to ip host/);
  assert.match(err('port 1.2.3.4').message, /'port' modifier applied to ip host/);
  assert.match(err('ip[1:3] = 1').message, /data size must be 1, 2, or 4/);
  assert.match(err('ip[0] / 0 = 1').message, /division by zero/);
  assert.match(err('ip[0] % 0 = 1').message, /modulus by zero/);
  assert.match(err('ip[0] << 32 = 1').message, /shift by more than 31 bits/);
  assert.match(err('vlan 5000').message, /VLAN tag 5000 greater than maximum 4095/);
  assert.match(err('0777777777777').message, /overflows 32 bits/);
  assert.match(err('ip proto 09').message, /non-octal digit/);
  assert.match(err('ether proto \\foo').message, /unknown ether proto 'foo'/);
  assert.match(err('ip proto \\foo').message, /unknown ip proto 'foo'/);
  assert.match(err('tcp src proto 6').message, /syntax error near 'proto' at position 9/);
  assert.match(err('arp proto 6').message, /arp does not encapsulate another protocol/);
  assert.match(err('host 00:11:22:33:44:55').message, /ethernet address used in non-ether expression/);
  assert.match(err('00:11:22:33:44:55').message, /syntax error near/);
  assert.match(err('2 * 3 = 7').message, /expression rejects all packets/);
  assert.match(err('ip broadcast').message, /netmask not known/);
  assert.match(err('inbound').message, /not supported by bpfkit/);
  assert.match(err('ip protochain 6').message, /'protochain' is not supported/);
  for (const e of [err('tcp and'), err('host foo.invalid')]) assert.ok(!e.message.includes('\n'), 'one line');
});

test('host names come from /etc/hosts only', () => {
  // localhost is in /etc/hosts on every test machine; a name that only DNS could know is an error, not a lookup.
  const prog = compileFilter('host localhost');
  validateFilter(prog);
  const t0 = Date.now();
  assert.throws(() => compileFilter('host www.example.com'), /unknown host 'www.example.com'/);
  assert.ok(Date.now() - t0 < 500, 'no network wait');
});

const WORDS = [
  'tcp', 'udp', 'ip', 'ip6', 'arp', 'icmp', 'host', 'net', 'port', 'portrange', 'src', 'dst', 'and', 'or', 'not', '!',
  '&&', '||', '(', ')', '[', ']', ':', '=', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '&', '|', '^', '<<',
  '>>', 'len', 'less', 'greater', 'vlan', 'ether', 'broadcast', 'multicast', 'proto', 'mask', '80', '0x800', '10.0.0.1',
  '10.0.0.0/8', '2001:db8::1', '00:11:22:33:44:55', 'tcpflags', 'tcp-syn', 'icmp-echo', '1', '2', '4', '1000-2000',
  'http', '\\tcp', 'byte', 'localhost', 'sctp', 'gateway', 'protochain', 'inbound', '$', '09', '99999999999',
];

test('fuzz: thousands of random and mutated expressions give a valid program or a CbpfError', () => {
  const rnd = mulberry32(1234);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const pkts = generatePackets(20, 3);
  let compiled = 0;
  const tryOne = (expr: string) => {
    try {
      const prog = compileFilter(expr);
      validateFilter(prog);
      for (const p of pkts) runClassic(prog, p.data);
      compiled++;
    } catch (e) {
      if (!(e instanceof CbpfError)) throw new Error(`${JSON.stringify(expr)}: ${(e as Error)?.stack ?? e}`);
      assert.ok(!e.message.includes('\n'));
    }
  };
  for (let i = 0; i < 3000; i++) {
    const n = 1 + Math.floor(rnd() * 8);
    tryOne(Array.from({ length: n }, () => pick(WORDS)).join(rnd() < 0.8 ? ' ' : ''));
  }
  for (let i = 0; i < 3000; i++) {
    let s = pick(FILTER_CORPUS);
    const edits = 1 + Math.floor(rnd() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rnd() * (s.length + 1));
      const r = rnd();
      if (r < 0.33) s = s.slice(0, at) + s.slice(at + 1);
      else if (r < 0.66) s = s.slice(0, at) + pick(WORDS) + s.slice(at);
      else s = s.slice(0, at) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + s.slice(at);
    }
    tryOne(s);
  }
  assert.ok(compiled > 150, `${compiled} fuzzed expressions compiled`);
});

test('bpfkit filter CLI: compile formats, errors, and run over a pcap', () => {
  const bin = resolve('bin/bpfkit.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  const d = run('filter', 'compile', 'ip');
  assert.equal(d.status, 0, d.stderr);
  assert.equal(d.stdout, '(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n');
  assert.equal(run('filter', 'compile', '-dd', 'ip').stdout, '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n');
  assert.equal(run('filter', 'compile', '-ddd', 'ip').stdout, '4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n');
  const e = run('filter', 'compile', '--ebpf', 'ip');
  assert.match(e.stdout, /r0 = \*\(u16 \*\)skb\[12\]/);
  const bad = run('filter', 'compile', 'tcp and');
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'error: syntax error: unexpected end of expression at position 8\n');
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-filter-cli-'));
  try {
    const pkts = generatePackets(300, 8);
    writeFileSync(join(dir, 'in.pcap'), writePcap(pkts));
    const r = run('filter', 'run', 'udp port 53', join(dir, 'in.pcap'), '-w', join(dir, 'out.pcap'));
    assert.equal(r.status, 0, r.stderr);
    const nums = r.stdout.trim().split('\n').filter(Boolean).map(Number);
    const prog = compileFilter('udp port 53');
    const want = pkts.map((p, i) => [p, i + 1] as const).filter(([p]) => runClassic(prog, p.data, { wireLen: p.origLen ?? p.data.length }) !== 0).map(([, i]) => i);
    assert.deepEqual(nums, want);
    assert.ok(want.length > 0);
    const out = readFileSync(join(dir, 'out.pcap'));
    assert.equal(out.readUInt32LE(0), 0xa1b2c3d4);
    const r2 = run('filter', 'run', '--engine', 'ebpf', 'udp port 53', join(dir, 'in.pcap'));
    assert.equal(r2.stdout, r.stdout);
    const asmFile = join(dir, 'p.s');
    writeFileSync(asmFile, 'ldh [12]\njeq #0x800, y, n\ny: ret #1\nn: ret #0\n');
    assert.equal(run('filter', 'asm', asmFile).stdout, '4\n40 0 0 12\n21 0 1 2048\n6 0 0 1\n6 0 0 0\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
