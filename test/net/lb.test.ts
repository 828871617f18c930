/**
 * The XDP load balancer end to end: the generated program accepted by bpfkit's verifier and the kernel's;
 * decision, output-packet (IPIP bytes, checksums, DSR MACs), conntrack and counter parity between the kernel
 * (BPF_PROG_TEST_RUN), bpfkit's userspace runtime and the TypeScript reference evaluator over a few hundred
 * generated packets, across a live backend update (existing flows stick, flows of a removed backend move);
 * and real UDP traffic on a veth pair into a test netns: datagrams sent to the VIP come back IPIP-encapsulated
 * (or DSR-rewritten) to the backend the reference predicts, byte for byte, and stay there after backend changes;
 * and the `bpfkit xdp-lb` command attached for real (counters printed, SIGHUP reload, detached at exit).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { ProgType } from '../../src/isa/uapi.js';
import { verify } from '../../src/verifier/index.js';
import { possibleCpus } from '../../src/kernel/sys/fs.js';
import { compileLb, flowHash, flowKey, ipv4Checksum, LB_NO_SLOT, loadLbKernel, loadLbUserspace, type KernelLoadBalancer, type LbConfig, type LbDecision, type LbReference } from '../../src/net/lb/index.js';
import { mulberry32 } from '../fixtures/random.js';
import { withCpu } from '../parity/affinity.js';
import { hasTool, makeVethNetns, python3, run, type VethNetns } from '../kernel/fixtures.js';

const root = process.getuid?.() === 0;
const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) c.close();
});

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

// ---- configurations and packets -------------------------------------------------------------------------------

const CONFIG_A: LbConfig = {
  ringSize: 4099,
  vips: [
    { address: '192.0.2.10', protocol: 'udp', port: 53, backends: [{ address: '198.51.100.1' }, { address: '198.51.100.2', weight: 2 }, { address: '198.51.100.3' }] },
    { address: '192.0.2.10', protocol: 'tcp', port: 443, tunnelSource: '203.0.113.1', backends: [{ address: '198.51.100.4' }, { address: '198.51.100.5' }, { address: '198.51.100.6', weight: 0 }] },
    { address: '192.0.2.11', protocol: 'tcp', port: 80, mode: 'dsr', backends: [{ address: '198.51.100.7', mac: '02:00:00:00:00:07' }, { address: '198.51.100.8', mac: '02:00:00:00:00:08', weight: 3 }] },
    { address: '192.0.2.12', protocol: 'udp', port: 9000, backends: [] },
  ],
};

/** CONFIG_A after a change: a UDP backend removed and one added, a TCP weight changed, a VIP added, one removed. */
const CONFIG_B: LbConfig = {
  ringSize: 4099,
  gatewayMac: '02:aa:bb:cc:dd:ee',
  tunnelSource: '203.0.113.9',
  vips: [
    { address: '192.0.2.10', protocol: 'udp', port: 53, backends: [{ address: '198.51.100.1' }, { address: '198.51.100.3' }, { address: '198.51.100.9', weight: 2 }] },
    { address: '192.0.2.10', protocol: 'tcp', port: 443, tunnelSource: '203.0.113.1', backends: [{ address: '198.51.100.4', weight: 5 }, { address: '198.51.100.5' }, { address: '198.51.100.6', weight: 0 }] },
    { address: '192.0.2.11', protocol: 'tcp', port: 80, mode: 'dsr', backends: [{ address: '198.51.100.7', mac: '02:00:00:00:00:17' }, { address: '198.51.100.8', mac: '02:00:00:00:00:08', weight: 3 }] },
    { address: '192.0.2.13', protocol: 'udp', port: 53, backends: [{ address: '198.51.100.10' }] },
  ],
};

interface Flow {
  src: number[];
  dst: number[];
  proto: number;
  sport: number;
  dport: number;
}

function frame(f: Flow, opts: { tos?: number; payload?: number; ttl?: number; frag?: number; ihl?: number; ethType?: number; vlan?: boolean } = {}): Uint8Array {
  const l4 = f.proto === 6 ? 20 : 8;
  const payload = opts.payload ?? 6;
  const ihl = opts.ihl ?? 5;
  const ip = new Uint8Array(ihl * 4 + l4 + payload);
  const dv = new DataView(ip.buffer);
  ip[0] = 0x40 | ihl;
  ip[1] = opts.tos ?? 0;
  dv.setUint16(2, ip.length);
  dv.setUint16(4, 0x1234);
  dv.setUint16(6, opts.frag ?? 0x4000);
  ip[8] = opts.ttl ?? 64;
  ip[9] = f.proto;
  ip.set(f.src, 12);
  ip.set(f.dst, 16);
  dv.setUint16(10, ipv4Checksum(ip.subarray(0, ihl * 4)));
  const o = ihl * 4;
  dv.setUint16(o, f.sport);
  dv.setUint16(o + 2, f.dport);
  if (f.proto === 17) dv.setUint16(o + 4, 8 + payload);
  else ip[o + 12] = 0x50;
  for (let i = 0; i < payload; i++) ip[o + l4 + i] = i;
  const eth = [0x02, 0x11, 0x11, 0x11, 0x11, 0x11, 0x02, 0x22, 0x22, 0x22, 0x22, 0x22];
  const type = opts.ethType ?? 0x0800;
  const head = opts.vlan ? [...eth, 0x81, 0x00, 0x00, 0x05, type >> 8, type & 255] : [...eth, type >> 8, type & 255];
  return Uint8Array.from([...head, ...ip]);
}

const VIP_TARGETS: [number[], number, number][] = [
  [[192, 0, 2, 10], 17, 53],
  [[192, 0, 2, 10], 6, 443],
  [[192, 0, 2, 11], 6, 80],
  [[192, 0, 2, 12], 17, 9000],
  [[192, 0, 2, 13], 17, 53],
];

/** Flows to the VIPs (and near misses), each sent 1-3 times, plus packets the balancer must pass. */
function corpus(seed: number, flows: Flow[]): Uint8Array[] {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const out: Uint8Array[] = [];
  for (const f of flows) {
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) out.push(frame(f, { tos: pick([0, 0x10, 0xb8]), payload: Math.floor(rnd() * 200), ttl: 1 + Math.floor(rnd() * 255) }));
  }
  const f = flows[0]!;
  out.push(
    frame({ ...f, dport: 54 }), // not a VIP port
    frame({ ...f, dst: [192, 0, 2, 99] }), // not a VIP address
    frame({ ...f, proto: f.proto === 6 ? 17 : 6 }), // other protocol on the VIP port
    frame(f, { frag: 0x2000 }), // first fragment (MF): not handled
    frame(f, { frag: 0x0010 }), // later fragment
    frame(f, { ihl: 6 }), // IP options
    frame(f, { vlan: true }), // tagged
    frame(f, { ethType: 0x86dd }), // not IPv4
    frame(f).subarray(0, 37), // cut before the ports
    Uint8Array.from([...frame(f).subarray(0, 14), 0x45, ...new Uint8Array(19)]).subarray(0, 30), // short IPv4
  );
  // Shuffle (deterministically) so flows interleave.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function makeFlows(seed: number, n: number): Flow[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const [dst, proto, dport] = VIP_TARGETS[Math.floor(rnd() * VIP_TARGETS.length)]!;
    return { src: [10, Math.floor(rnd() * 256), Math.floor(rnd() * 256), 1 + Math.floor(rnd() * 254)], dst, proto, sport: 1024 + Math.floor(rnd() * 64000), dport };
  });
}

// ---- tests -------------------------------------------------------------------------------------------------------

test("the generated program passes bpfkit's verifier and the kernel's", () => {
  const lb = compileLb(CONFIG_A);
  const r = verify({ insns: lb.insns, type: ProgType.XDP, references: lb.program.references, name: 'xdp_lb' }, { maps: lb.maps });
  assert.ok(r.ok, r.errors.map(String).join('\n'));
  if (!root) return; // (the kernel half needs root; the kernel tests below skip with that reason)
  const k = loadLbKernel(CONFIG_A); // throws KernelError with the verifier log if refused
  closers.push(k);
  assert.equal(k.program.type, ProgType.XDP);
  k.close();
});

/** Checks on a reference decision that do not depend on the other engines: the encapsulation is well formed. */
function checkDecision(d: LbDecision, input: Uint8Array): void {
  if (d.action !== 'tx') return;
  const out = d.packet;
  if (d.vip!.endsWith('/tcp') && d.vip!.startsWith('192.0.2.11')) {
    assert.equal(out.length, input.length);
    assert.deepEqual(out.subarray(12), input.subarray(12), 'DSR leaves everything after the MACs alone');
    assert.deepEqual(out.subarray(6, 12), input.subarray(0, 6));
    return;
  }
  assert.equal(out.length, input.length + 20);
  assert.deepEqual(out.subarray(34), input.subarray(14), 'the inner packet is the original IPv4 packet');
  assert.equal(ipv4Checksum(out.subarray(14, 34)), 0, 'outer checksum verifies');
  assert.equal(out[23], 4, 'IPIP');
  assert.equal((out[16]! << 8) | out[17]!, ((input[16]! << 8) | input[17]!) + 20);
  assert.equal(out.subarray(30, 34).join('.'), d.backend);
}

test('userspace runtime and reference agree on every decision and byte, across a live update', () => {
  const u = loadLbUserspace(CONFIG_A);
  const ref = u.reference();
  const flows = makeFlows(1, 150);
  for (const [phase, pkts] of [corpus(11, flows), corpus(12, [...flows, ...makeFlows(2, 60)])].entries()) {
    if (phase === 1) u.update(CONFIG_B);
    for (const [i, p] of pkts.entries()) {
      const d = ref.run(p);
      checkDecision(d, p);
      const r = u.run(p);
      assert.equal(r.retval, d.retval, `phase ${phase} packet #${i} ${hex(p.subarray(0, 42))}: ${d.reason}`);
      assert.equal(hex(r.packet!), hex(d.packet), `phase ${phase} packet #${i}`);
    }
    assert.deepEqual(u.stats(), ref.stats(), `phase ${phase} counters`);
  }
});

/** Run a corpus through kernel, userspace and reference; returns the reference decisions. */
function tripleRun(k: KernelLoadBalancer, u: ReturnType<typeof loadLbUserspace>, ref: LbReference, pkts: Uint8Array[], tag: string): LbDecision[] {
  return withCpu(0, () =>
    pkts.map((p, i) => {
      const d = ref.run(p);
      checkDecision(d, p);
      const kr = k.program.testRun({ data: p });
      const ur = u.run(p);
      const where = `${tag} packet #${i} ${hex(p.subarray(0, 42))} (${d.reason}${d.backend ? ' → ' + d.backend : ''})`;
      assert.equal(kr.retval, d.retval, `kernel, ${where}`);
      assert.equal(ur.retval, d.retval, `userspace, ${where}`);
      assert.equal(hex(kr.data!), hex(d.packet), `kernel bytes, ${where}`);
      assert.equal(hex(ur.packet!), hex(d.packet), `userspace bytes, ${where}`);
      return d;
    }),
  );
}

const ctDump = (m: { entries(): IterableIterator<[Uint8Array, Uint8Array]> }) => [...m.entries()].map(([a, b]) => `${hex(a)}=${hex(b)}`).sort();

test('kernel (BPF_PROG_TEST_RUN), userspace and reference: identical verdicts, packets, conntrack and counters; flows stick across updates', { skip: root ? false : 'needs root' }, () => {
  const ncpus = possibleCpus().length;
  const k = loadLbKernel(CONFIG_A);
  closers.push(k);
  const u = loadLbUserspace(CONFIG_A, { ncpus, cpu: 0 });
  const ref = u.reference();
  const flows = makeFlows(3, 160);
  const p1 = corpus(21, flows);
  const d1 = tripleRun(k, u, ref, p1, 'phase 1');
  assert.ok(p1.length >= 300, `only ${p1.length} packets`);
  const kinds = new Set(d1.map((d) => d.reason));
  for (const r of ['not-vip', 'not-handled', 'no-backend', 'conntrack', 'maglev']) assert.ok(kinds.has(r as LbDecision['reason']), `phase 1 never hit ${r}`);
  assert.deepEqual(k.stats(), u.stats(), 'kernel and userspace counters');
  assert.deepEqual(u.stats(), ref.stats(), 'userspace and reference counters');
  assert.deepEqual(ctDump(k.collection.map('lb_ct')), ctDump(u.collection.maps['lb_ct']!), 'conntrack contents');

  // Backend of each flow before the update.
  const flowBackend = (f: Flow) => {
    const d = ref.run(frame(f)); // (also a packet the engines must see, to keep conntrack and counters equal)
    k.program.testRun({ data: frame(f) });
    u.run(frame(f));
    return d;
  };
  const before = withCpu(0, () => flows.map(flowBackend));
  k.update(CONFIG_B);
  u.update(CONFIG_B);
  // Fresh Maglev placement under CONFIG_B, ignoring conntrack: some surviving flows would move without it.
  let wouldMove = 0;
  const after1 = withCpu(0, () => flows.map(flowBackend));
  flows.forEach((f, i) => {
    const b = before[i]!;
    const a = after1[i]!;
    if (b.action !== 'tx') return;
    const removed = b.backend === '198.51.100.2'; // the backend CONFIG_B drops
    if (removed) {
      assert.notEqual(a.backend, b.backend, `flow #${i} left its removed backend`);
      assert.equal(a.reason, 'maglev');
    } else {
      assert.equal(a.backend, b.backend, `flow #${i} ${JSON.stringify(f)} stays on ${b.backend}`);
      assert.equal(a.reason, 'conntrack');
      const st = u.control.vipFor(((f.dst[0]! << 24) | (f.dst[1]! << 16) | (f.dst[2]! << 8) | f.dst[3]!) >>> 0, f.dport, f.proto)!;
      const fresh = st.table[flowHash(flowKey(frame(f), 14)) % 4099]!;
      if (fresh !== LB_NO_SLOT && u.control.slots.get(fresh)!.addr !== ((198 << 24) | (51 << 16) | (100 << 8) | Number(b.backend!.split('.')[3])) >>> 0) wouldMove++;
    }
  });
  assert.ok(wouldMove > 0, 'the update changes the table for some surviving flows (else stickiness is untested)');
  assert.ok(before.some((b) => b.backend === '198.51.100.2'), 'some flows were on the removed backend');
  // Phase 2: old and new flows mixed, through all three after the update.
  const noBackendBefore = k.stats().noBackend.packets;
  assert.ok(noBackendBefore > 0n);
  tripleRun(k, u, ref, corpus(22, [...flows, ...makeFlows(4, 80)]), 'phase 2');
  assert.deepEqual(k.stats(), u.stats(), 'kernel and userspace counters after the update');
  assert.deepEqual(u.stats(), ref.stats(), 'userspace and reference counters after the update');
  assert.deepEqual(ctDump(k.collection.map('lb_ct')), ctDump(u.collection.maps['lb_ct']!), 'conntrack contents after the update');
  const s = k.stats();
  assert.equal(s.vips.length, 4);
  assert.ok(s.vips.find((v) => v.vip === '192.0.2.13:53/udp')!.counter.packets > 0n, 'the added VIP got traffic');
  assert.equal(s.noBackend.packets, noBackendBefore, 'no drops for lack of backends once the empty VIP is gone');
  // Same per-CPU layout too.
  const raw = (m: { entries(): IterableIterator<[Uint8Array, Uint8Array]> }) => [...m.entries()].filter(([, v]) => v.some((x) => x)).map(([a, b]) => hex(a) + hex(b));
  assert.deepEqual(raw(k.collection.map('lb_stats')), raw(u.collection.maps['lb_stats']!), 'per-CPU counters');
  // Updates that cannot apply leave everything as it was.
  assert.throws(() => k.update({ ...CONFIG_B, ringSize: 1021 }), (e: unknown) => e instanceof UsageError && /ringSize: cannot change/.test(e.message));
  assert.equal(k.stats().vips.length, 4);
  k.close();
});

// ---- real traffic --------------------------------------------------------------------------------------------

/**
 * Python run inside the netns: an AF_PACKET socket on the peer end, then one UDP datagram to VIP:PORT from each
 * given source port, then every incoming IPv4 frame (up to one per datagram, 3 s at most) printed as hex.
 */
const CAPTURE_PY = `
import socket, sys, time, binascii
iface, vip, port, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(p) for p in sys.argv[4].split(',')]
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
cap.bind((iface, 0))
cap.settimeout(0.2)
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('', p))
    s.sendto(b'bpfkit-lb', (vip, port))
    s.close()
got, deadline = 0, time.time() + 3
while got < len(ports) and time.time() < deadline:
    try:
        data, addr = cap.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING or data[12:14] != b'\\x08\\x00':
        continue
    print(binascii.hexlify(data).decode())
    got += 1
`;

const macOf = (dev: string, ns?: string) => run('ip', [...(ns ? ['-n', ns] : []), '-o', 'link', 'show', dev]).stdout.match(/link\/ether ([0-9a-f:]{17})/)![1]!;
const macBytes = (m: string) => m.split(':').map((h) => parseInt(h, 16));
const ipBytes = (s: string) => s.split('.').map(Number);

test('real traffic on a veth pair: VIP datagrams come back IPIP/DSR to the predicted backend, byte for byte; flows stick', { skip: !root ? 'needs root' : !python3 ? 'python3 not installed' : !hasTool('ip') ? 'iproute2 missing' : false }, async () => {
  let net: VethNetns | undefined;
  try {
    net = makeVethNetns('xlb', { quiet: true });
    const VIP = '192.0.2.50';
    const DSR_VIP = '192.0.2.51';
    for (const v of [VIP, DSR_VIP]) {
      const r = run('ip', ['-n', net.ns, 'route', 'add', `${v}/32`, 'via', net.hostIp, 'dev', net.peer]);
      assert.equal(r.status, 0, r.stderr);
    }
    const backends = (addrs: string[]) => addrs.map((a) => ({ address: a }));
    const cfg = (udp: string[]): LbConfig => ({
      ringSize: 1021,
      vips: [
        { address: VIP, protocol: 'udp', port: 7777, backends: backends(udp) },
        { address: DSR_VIP, protocol: 'udp', port: 7778, mode: 'dsr', backends: [{ address: '198.51.100.31', mac: '02:00:00:00:00:31' }, { address: '198.51.100.32', mac: '02:00:00:00:00:32' }] },
      ],
    });
    const three = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
    // Native XDP on veth transmits XDP_TX frames to the peer only when the peer runs NAPI (GRO or its own XDP);
    // generic XDP always works on veth, so use it here: the program and maps are the same.
    const lb = loadLbKernel(cfg(three), { iface: net.host, mode: 'generic' });
    closers.push(lb);
    const ref = lb.reference();
    const hostMac = macBytes(macOf(net.host));
    const peerMac = macBytes(macOf(net.peer, net.ns));
    const send = (vip: string, port: number, sports: number[]): string[] => {
      const r = net!.exec([python3!, '-c', CAPTURE_PY, net!.peer, vip, String(port), sports.join(',')]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    /** What the reference makes of the datagram the kernel received (the original frame rebuilt). */
    const expect = (vip: string, port: number, sport: number, inner: Uint8Array) => {
      const original = Uint8Array.from([...hostMac, ...peerMac, 0x08, 0x00, ...inner]);
      assert.deepEqual([...inner.subarray(12, 20)], [...ipBytes(net!.peerIp), ...ipBytes(vip)]);
      assert.equal((inner[20]! << 8) | inner[21]!, sport);
      assert.equal((inner[22]! << 8) | inner[23]!, port);
      return ref.run(original);
    };
    const sportsA = Array.from({ length: 16 }, (_, i) => 41000 + i);
    const round = (vip: string, port: number, sports: number[], dsr = false) => {
      const frames = send(vip, port, sports).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
      assert.equal(frames.length, sports.length, `${sports.length} datagrams sent, ${frames.length} frames came back`);
      const bySport = new Map<number, string>();
      for (const f of frames) {
        const inner = dsr ? f.subarray(14) : f.subarray(34);
        const sport = (inner[20]! << 8) | inner[21]!;
        const d = expect(vip, port, sport, inner);
        assert.equal(d.action, 'tx');
        assert.equal(hex(f), hex(d.packet), `sport ${sport}: the frame on the wire is the reference's output`);
        if (!dsr) assert.equal(ipv4Checksum(f.subarray(14, 34)), 0);
        bySport.set(sport, d.backend!);
      }
      assert.deepEqual([...bySport.keys()].sort(), [...sports].sort());
      return bySport;
    };
    const first = round(VIP, 7777, sportsA);
    assert.ok(new Set(first.values()).size >= 2, `16 flows all went to ${[...first.values()][0]}`);
    let s = lb.stats();
    assert.equal(s.vips[0]!.counter.packets, 16n);
    assert.equal(s.newFlows.packets, 16n);
    for (const b of s.vips[0]!.backends) assert.equal(Number(b.counter.packets), [...first.values()].filter((x) => x === b.address).length, `backend ${b.address} counter`);
    assert.equal(s.vips[0]!.counter.bytes, 16n * BigInt(14 + 20 + 8 + 9));

    // Add a backend: flows already seen stay (conntrack) although the new table would move some of them.
    lb.update(cfg([...three, '198.51.100.24']));
    const again = round(VIP, 7777, sportsA);
    assert.deepEqual(again, first, 'existing flows stick to their backend after a backend was added');
    const st = lb.control.vipFor(0xc0000232, 7777, 17)!;
    const moved = sportsA.filter((p) => {
      const f = frame({ src: ipBytes(net!.peerIp), dst: ipBytes(VIP), proto: 17, sport: p, dport: 7777 });
      return lb.control.slots.get(st.table[flowHash(flowKey(f, 14)) % 1021]!)!.addr !== (0xc6336400 | Number(first.get(p)!.split('.')[3]));
    });
    assert.ok(moved.length > 0, 'the new table moves some of these flows (so stickiness was exercised)');
    const fresh = round(VIP, 7777, Array.from({ length: 24 }, (_, i) => 42000 + i));
    assert.ok([...fresh.values()].includes('198.51.100.24'), 'new flows reach the new backend');

    // Remove a backend: only its flows move.
    const victim = [...first.values()][0]!;
    lb.update(cfg([...three, '198.51.100.24'].filter((b) => b !== victim)));
    const third = round(VIP, 7777, sportsA);
    for (const [p, b] of first) {
      if (b === victim) assert.notEqual(third.get(p), victim, `flow ${p} left the removed backend`);
      else assert.equal(third.get(p), b, `flow ${p} stayed on ${b}`);
    }

    // DSR: same datagram, only the MACs change.
    const dsr = round(DSR_VIP, 7778, [43000, 43001, 43002, 43003], true);
    assert.ok([...dsr.values()].every((b) => b === '198.51.100.31' || b === '198.51.100.32'));
    s = lb.stats();
    assert.equal(s.vips[1]!.counter.packets, 4n);
    assert.equal(s.pass.packets, 0n, 'the quiet link carried nothing else');
    assert.deepEqual(s, ref.stats(), 'kernel counters equal the reference model of the same traffic');
    lb.close();
  } finally {
    net?.cleanup();
  }
});

test('bpfkit xdp-lb attaches, prints counters, reloads on SIGHUP and detaches on Ctrl-C', { skip: !root ? 'needs root' : !python3 ? 'python3 not installed' : !hasTool('ip') ? 'iproute2 missing' : false }, async () => {
  let net: VethNetns | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-lb-'));
  try {
    net = makeVethNetns('xlc', { quiet: true });
    assert.equal(run('ip', ['-n', net.ns, 'route', 'add', '192.0.2.60/32', 'via', net.hostIp, 'dev', net.peer]).status, 0);
    const file = join(dir, 'lb.json');
    const cfg = (backends: string[]): LbConfig => ({ ringSize: 1021, vips: [{ address: '192.0.2.60', protocol: 'udp', port: 7777, backends: backends.map((address) => ({ address })) }] });
    writeFileSync(file, JSON.stringify(cfg(['198.51.100.41'])));
    const child = spawn(process.execPath, [join(process.cwd(), 'bin/bpfkit.js'), 'xdp-lb', '--config', file, '-i', net.host, '--mode', 'generic', '--duration', '20', '--stats-interval', '0.3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    try {
      const until = async (cond: () => boolean, what: string) => {
        for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(cond(), `${what}; stderr: ${err}`);
      };
      await until(() => /running for 20 s/.test(err), 'attached');
      const r = net.exec([python3!, '-c', `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(5): s.sendto(b'bpfkit', ('192.0.2.60', 7777))\n`]);
      assert.equal(r.status, 0, r.stderr);
      writeFileSync(file, JSON.stringify(cfg(['198.51.100.41', '198.51.100.42'])));
      child.kill('SIGHUP');
      await until(() => /reloaded/.test(err), 'reloaded');
      writeFileSync(file, '{"vips": [{"address": "192.0.2.60"}]}');
      child.kill('SIGHUP');
      await until(() => /reload failed, keeping the old config: vips\[0\]\.protocol/.test(err), 'bad reload refused');
      child.kill('SIGINT'); // Ctrl-C
    } finally {
      const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
      await closed;
      clearTimeout(kill);
    }
    assert.equal(await closed, 0, err);
    assert.match(err, /xdp-lb: detached/);
    const last = out.trim().split('\n').slice(-4).join('\n');
    assert.match(last, /vip 192\.0\.2\.60:7777\/udp \(ipip\): 5 packets 240 bytes/);
    assert.match(last, /backend 198\.51\.100\.41 weight 1: 5 packets 240 bytes/);
    assert.match(last, /backend 198\.51\.100\.42 weight 1: 0 packets/);
    assert.match(last, /new flows 1, passed 0/);
    assert.doesNotMatch(run('ip', ['link', 'show', net.host]).stdout, /xdp/, 'detached at exit');
  } finally {
    net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
