/**
 * The XDP firewall: rule validation, the generated program accepted by bpfkit's verifier and the kernel's,
 * verdict and counter parity between the kernel (BPF_PROG_TEST_RUN), the userspace runtime and a plain
 * TypeScript reference evaluator over generated packets and hand-made malformed ones, live `update()`, and
 * real UDP traffic on a veth pair into a test netns (dropped port does not arrive, another does).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { UsageError } from '../../src/errors.js';
import { ProgType } from '../../src/isa/uapi.js';
import { verify } from '../../src/verifier/index.js';
import { possibleCpus } from '../../src/kernel/sys/fs.js';
import { compileFirewall, loadFirewallKernel, loadFirewallUserspace, type FirewallAction, type FirewallRule, type KernelFirewall } from '../../src/net/firewall/index.js';
import { generatePackets } from '../fixtures/packets.js';
import { withCpu } from '../parity/affinity.js';
import { hasTool, makeVethNetns, python3, waitFor, type VethNetns } from '../kernel/fixtures.js';

const root = process.getuid?.() === 0;
const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) c.close();
});

// ---- reference evaluator -------------------------------------------------------------------------------------

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };
function inCidr(addr: number, cidr: string | undefined): boolean {
  if (cidr === undefined) return true;
  const [a, l] = cidr.split('/');
  const len = l === undefined ? 32 : Number(l);
  const net = a!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const div = 2 ** (32 - len);
  return Math.floor(addr / div) === Math.floor(net / div);
}

/** Rule index hit (rules.length… means default = 64), or 'pass-uncounted' for non-IPv4. */
function reference(rules: FirewallRule[], pkt: Uint8Array): number | 'uncounted' {
  const DEF = 64;
  const be16 = (o: number) => (pkt[o]! << 8) | pkt[o + 1]!;
  const be32 = (o: number) => ((pkt[o]! << 24) >>> 0) + (pkt[o + 1]! << 16) + (pkt[o + 2]! << 8) + pkt[o + 3]!;
  if (pkt.length < 14) return DEF;
  let type = be16(12);
  let off = 14;
  for (let tags = 0; tags < 2 && (type === 0x8100 || type === 0x88a8); tags++) {
    if (off + 4 > pkt.length) return DEF;
    type = be16(off + 2);
    off += 4;
  }
  if (type !== 0x0800) return 'uncounted';
  if (off + 20 > pkt.length) return DEF;
  if (pkt[off]! >> 4 !== 4) return DEF;
  const ihl = (pkt[off]! & 15) * 4;
  if (ihl < 20 || off + ihl > pkt.length) return DEF;
  const proto = pkt[off + 9]!;
  const src = be32(off + 12);
  const dst = be32(off + 16);
  let dport: number | undefined;
  if ((proto === 6 || proto === 17) && (be16(off + 6) & 0x1fff) === 0) {
    if (off + ihl + 4 > pkt.length) return DEF;
    dport = be16(off + ihl + 2);
  }
  const i = rules.findIndex((r) => {
    if (!inCidr(src, r.src) || !inCidr(dst, r.dst)) return false;
    if (r.proto !== undefined && (typeof r.proto === 'string' ? PROTO[r.proto] : r.proto) !== proto) return false;
    if (r.dport !== undefined) {
      if (dport === undefined) return false;
      const [lo, hi] = typeof r.dport === 'number' ? [r.dport, r.dport] : r.dport;
      if (dport < lo || dport > hi) return false;
    }
    return true;
  });
  return i < 0 ? DEF : i;
}

const RULE_SETS: { name: string; rules: FirewallRule[]; def: FirewallAction }[] = [
  { name: 'empty, default drop', rules: [], def: 'drop' },
  {
    name: 'mixed',
    def: 'pass',
    rules: [
      { action: 'pass', src: '10.0.0.1/32', proto: 'tcp', dport: 22 },
      { action: 'drop', proto: 'tcp', dport: 22 },
      { action: 'drop', src: '192.168.1.0/24', dst: '8.8.8.8' },
      { action: 'pass', proto: 'udp', dport: [1024, 65535] },
      { action: 'drop', proto: 'udp' },
      { action: 'drop', proto: 'icmp', dst: '10.0.0.0/8' },
      { action: 'drop', proto: 132 },
    ],
  },
  {
    name: 'allow-list',
    def: 'drop',
    rules: [
      { action: 'pass', dport: [80, 443] },
      { action: 'pass', dst: '192.168.0.0/16', dport: 53 },
      { action: 'pass', src: '10.0.0.0/8' },
      { action: 'pass', src: '172.16.0.0/12', dst: '0.0.0.0/0', proto: 'icmp' },
      { action: 'drop', src: '10.0.1.0/24' },
      { action: 'pass', dport: 0 },
    ],
  },
  {
    name: '64 rules',
    def: 'pass',
    rules: Array.from({ length: 64 }, (_, i): FirewallRule => (i === 63 ? { action: 'drop', proto: 'udp' } : i % 3 === 0 ? { action: 'drop', proto: 'tcp', dport: [i * 1000, i * 1000 + 999] } : i % 3 === 1 ? { action: i % 2 ? 'drop' : 'pass', dst: `${i}.0.0.0/${i % 33}` } : { action: 'drop', src: `192.168.1.${i}` })),
  },
];

/** Generated packets plus hand-made malformed ones. */
function corpus(seed: number): Uint8Array[] {
  // Both BPF_PROG_TEST_RUN and the runtime refuse XDP frames shorter than an Ethernet header.
  const pkts = generatePackets(260, seed)
    .map((r) => r.data)
    .filter((p) => p.length >= 14);
  const eth = (type: number, body: number[]) => Uint8Array.from([...Array(12).fill(0x02), type >> 8, type & 255, ...body]);
  const ip = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 8, 8, 8, 8, 0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0];
  pkts.push(
    eth(0x8100, [0, 5]), // truncated VLAN tag
    eth(0x8100, [0, 5, 0x88, 0xa8, 0, 6, 0x08]), // truncated second tag
    eth(0x8100, [0, 5, 0x08, 0x00, ...ip]), // VLAN + UDP 53
    eth(0x88a8, [0, 5, 0x81, 0x00, 0, 6, 0x08, 0x00, ...ip]), // QinQ + UDP 53
    eth(0x0800, ip.slice(0, 19)), // short IPv4
    eth(0x0800, [0x46, ...ip.slice(1)]), // IHL beyond the packet
    eth(0x0800, [0x44, ...ip.slice(1)]), // IHL < 5
    eth(0x0800, [0x65, ...ip.slice(1)]), // version 6 in an IPv4 frame
    eth(0x0800, ip.slice(0, 22)), // UDP header cut before the port
    eth(0x0800, [...ip.slice(0, 9), 6, ...ip.slice(10)]), // TCP 53
    eth(0x86dd, Array(40).fill(0)), // IPv6: passed
    eth(0x0800, [...ip.slice(0, 9), 6, 0, 0, 10, 0, 0, 1, ...ip.slice(16, 22), 0, 22, 0, 0]), // TCP 22 from 10.0.0.1
    eth(0x0800, [...ip.slice(0, 9), 6, 0, 0, 10, 0, 0, 2, ...ip.slice(16, 22), 0, 22, 0, 0]), // TCP 22 from 10.0.0.2
  );
  return pkts;
}

// ---- tests ---------------------------------------------------------------------------------------------------

test('rules are validated with clear errors', () => {
  assert.throws(() => compileFirewall([{ action: 'drop', src: '2001:db8::/32' }]), (e: unknown) => e instanceof UsageError && /IPv6/.test(e.message));
  assert.throws(() => compileFirewall([{ action: 'drop', src: '10.0.0.0/33' }]), /rule #0\.src/);
  assert.throws(() => compileFirewall([{ action: 'drop', proto: 'icmp', dport: 1 }]), /dport needs proto tcp or udp/);
  assert.throws(() => compileFirewall([{ action: 'drop', dport: [10, 5] }]), /rule #0\.dport/);
  assert.throws(() => compileFirewall([{ action: 'reject' as FirewallAction }]), /action/);
  assert.throws(() => compileFirewall(Array(65).fill({ action: 'drop' })), /at most 64/);
});

test("the generated program passes bpfkit's verifier and the kernel's", () => {
  const fw = compileFirewall(RULE_SETS[1]!.rules);
  const r = verify({ insns: fw.insns, type: ProgType.XDP, references: fw.program.references, name: 'xdp_firewall' }, { maps: fw.maps });
  assert.ok(r.ok, r.errors.map(String).join('\n'));
  if (!root) return; // (the kernel half needs root; the parity tests below skip with that reason)
  const k = loadFirewallKernel(RULE_SETS[1]!.rules); // throws KernelError with the verifier log if refused
  closers.push(k);
  assert.equal(k.program.type, ProgType.XDP);
  k.close();
});

test('userspace verdicts and counters equal the reference evaluator', () => {
  for (const [si, set] of RULE_SETS.entries()) {
    const fw = loadFirewallUserspace(set.rules, { defaultAction: set.def });
    const want = { rules: set.rules.map(() => ({ packets: 0n, bytes: 0n })), default: { packets: 0n, bytes: 0n } };
    for (const [pi, pkt] of corpus(100 + si).entries()) {
      const ref = reference(set.rules, pkt);
      const action = ref === 'uncounted' ? 'pass' : ref === 64 ? set.def : set.rules[ref]!.action;
      const got = fw.run(pkt).retval;
      assert.equal(got, action === 'drop' ? 1 : 2, `${set.name} packet #${pi} ${Buffer.from(pkt.subarray(0, 40)).toString('hex')}: ref ${ref}`);
      if (ref !== 'uncounted') {
        const c = ref === 64 ? want.default : want.rules[ref]!;
        c.packets++;
        c.bytes += BigInt(pkt.length);
      }
    }
    assert.deepEqual(fw.counters(), want, set.name);
    const hit = want.rules.filter((c) => c.packets > 0n).length;
    assert.ok(hit >= Math.min(set.rules.length, 3), `${set.name}: the corpus hits only ${hit} rules`);
    if (set.rules.length) assert.ok(want.rules.at(-1)!.packets > 0n, `${set.name}: the last rule (highest bit) never hit`);
    assert.ok(want.default.packets > 0n, `${set.name}: the default never hit`);
  }
});

test('kernel and userspace give identical verdicts and counters (BPF_PROG_TEST_RUN)', { skip: root ? false : 'needs root' }, () => {
  const ncpus = possibleCpus().length;
  let runs = 0;
  for (const [si, set] of RULE_SETS.entries()) {
    const k = loadFirewallKernel(set.rules, { defaultAction: set.def });
    closers.push(k);
    const u = loadFirewallUserspace(set.rules, { defaultAction: set.def, ncpus, cpu: 0 });
    withCpu(0, () => {
      for (const [pi, pkt] of corpus(100 + si).entries()) {
        const kret = k.program.testRun({ data: pkt }).retval;
        runs++;
        assert.equal(kret, u.run(pkt).retval, `${set.name} packet #${pi}`);
      }
    });
    assert.deepEqual(k.counters(), u.counters(), set.name);
    // Same per-CPU layout too.
    const kraw = [...k.collection.map('fw_stats').entries()].map(([a, b]) => Buffer.from([...a, ...b]).toString('hex'));
    const uraw = [...(u.collection.maps['fw_stats']!.entries() as IterableIterator<[Uint8Array, Uint8Array]>)].map(([a, b]) => Buffer.from([...a, ...b]).toString('hex'));
    assert.deepEqual(kraw, uraw, `${set.name}: per-CPU counters`);
    k.close();
  }
  assert.ok(runs >= 4 * 200, `only ${runs} runs`);
});

test('update() swaps rules atomically in both backends', { skip: root ? false : 'needs root' }, () => {
  const udp53 = Uint8Array.from(Buffer.from('02020202020202020202020208004500001c000000004011000' + '00a00000108080808303900350008' + '0000', 'hex'));
  const k = loadFirewallKernel([{ action: 'drop', proto: 'udp', dport: 53 }]);
  closers.push(k);
  const u = loadFirewallUserspace([{ action: 'drop', proto: 'udp', dport: 53 }]);
  for (const fw of [{ run: (p: Uint8Array) => k.program.testRun({ data: p }).retval, f: k }, { run: (p: Uint8Array) => u.run(p).retval, f: u }]) {
    assert.equal(fw.run(udp53), 1);
    fw.f.update([{ action: 'pass', proto: 'udp', dport: 53 }], { defaultAction: 'drop' });
    assert.equal(fw.run(udp53), 2);
    assert.equal(fw.f.counters().rules[0]!.packets, 1n, 'counters restart with the new rules');
    fw.f.update([]);
    assert.equal(fw.run(udp53), 1, 'empty rules → default drop (kept from the last update)');
    assert.equal(fw.f.counters().default.packets, 1n);
  }
  k.close();
});

test('real traffic on a veth pair: dropped port does not arrive, another does; update() is live', { skip: !root ? 'needs root' : !python3 ? 'python3 not installed' : !hasTool('ip') ? 'iproute2 missing' : false }, async () => {
  let net: VethNetns | undefined;
  const socks: Socket[] = [];
  try {
    net = makeVethNetns('fwl', { quiet: true });
    const got = new Map<number, number>();
    for (const port of [9998, 9999]) {
      const s = createSocket('udp4');
      socks.push(s);
      s.on('message', () => got.set(port, (got.get(port) ?? 0) + 1));
      await new Promise<void>((res) => s.bind(port, net!.hostIp, () => res()));
    }
    const fw: KernelFirewall = loadFirewallKernel([{ action: 'drop', proto: 'udp', dport: 9999 }], { iface: net.host, defaultAction: 'pass' });
    closers.push(fw);
    const send = (port: number, n: number) => {
      const r = net!.exec([python3!, '-c', `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(${n}): s.sendto(b'bpfkit', ('${net!.hostIp}', ${port}))\n`]);
      assert.equal(r.status, 0, r.stderr);
    };
    send(9999, 5);
    send(9998, 5);
    assert.ok(await waitFor(() => got.get(9998) === 5), `9998 got ${got.get(9998)}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.get(9999) ?? 0, 0, 'dropped port received nothing');
    const c = fw.counters();
    assert.equal(c.rules[0]!.packets, 5n);
    assert.equal(c.default.packets, 5n);
    assert.equal(c.rules[0]!.bytes, 5n * 48n, 'eth 14 + ip 20 + udp 8 + 6 bytes');
    fw.update([{ action: 'drop', proto: 'udp', dport: 9998 }]);
    send(9999, 3);
    send(9998, 3);
    assert.ok(await waitFor(() => got.get(9999) === 3), `9999 got ${got.get(9999)}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.get(9998), 5, 'newly dropped port got nothing more');
    assert.equal(fw.counters().rules[0]!.packets, 3n);
    fw.close();
  } finally {
    for (const s of socks) s.close();
    net?.cleanup();
  }
});
