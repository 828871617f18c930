/**
 * BPF flow dissectors for real (examples/flow_dissector.bpf.c): BPF_PROG_TEST_RUN on hand-built frames
 * returning the struct bpf_flow_keys the program filled; a netns link on a test network namespace that the
 * kernel runs for real frames sent there through an AF_PACKET socket (which dissects what it sends), counted
 * exactly; detaching. netkit links: attached for real when the kernel has netkit (this one may not: the test
 * says why it skips), typed errors otherwise.
 */
import { test, after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { MapType, ProgType } from '../../src/isa/uapi.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { loadInsns } from '../../src/kernel/load/program.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { attachFlowDissector } from '../../src/kernel/link/sk-lookup.js';
import { dissectPacket, FlowDissectorVerdict, type FlowKeys } from '../../src/kernel/link/flow-dissector.js';
import { attachNetkit, NetkitLink } from '../../src/kernel/link/netkit.js';
import { BpfLink } from '../../src/kernel/link/link.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { netkit } from '../../src/kernel/features/probe.js';
import { counterProgram, hasTool, makeVethNetns, readU64, run, u32, type VethNetns } from './fixtures.js';
import { runClient, sockClient } from './sock-fixture.js';

const OBJ = new URL('../../../examples/build/flow_dissector.bpf.o', import.meta.url).pathname;
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

let skip = '';
let c: Collection | undefined;
before(() => {
  if (process.getuid?.() !== 0) skip = 'needs root (CAP_BPF, CAP_NET_ADMIN)';
  else if (!existsSync(OBJ)) skip = 'flow_dissector.bpf.o not built (scripts/build-examples.sh needs clang and libbpf-dev)';
  else {
    c = Collection.loadFile(OBJ);
    cleanups.push(() => c?.close());
  }
});

function ready(t: TestContext): Collection | undefined {
  if (skip) t.skip(skip);
  return c;
}

const ip4 = (s: string) => s.split('.').map(Number);

/** An Ethernet frame: IPv4 (optionally with 4 option bytes, a fragment offset / MF) + a TCP/UDP/ICMP header, or IPv6. */
function frame(o: { v6?: boolean; proto?: number; src?: string; dst?: string; sport?: number; dport?: number; options?: boolean; frag?: number }): Buffer {
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...(o.v6 ? [0x86, 0xdd] : [0x08, 0x00])]);
  if (o.v6) {
    const h = Buffer.alloc(40 + 8);
    h.writeUInt32BE(0x60000000, 0);
    h.writeUInt16BE(8, 4);
    h[6] = 17;
    h[7] = 64;
    h[23] = 1; // ::1 → ::1
    h[39] = 1;
    h.writeUInt16BE(1111, 40);
    h.writeUInt16BE(2222, 42);
    h.writeUInt16BE(8, 44);
    return Buffer.concat([eth, h]);
  }
  const proto = o.proto ?? 6;
  const l4 = Buffer.alloc(proto === 6 ? 20 : 8);
  l4.writeUInt16BE(o.sport ?? 0, 0);
  l4.writeUInt16BE(o.dport ?? 0, 2);
  const opt = o.options ? Buffer.from([1, 1, 1, 0]) : Buffer.alloc(0);
  const ip = Buffer.alloc(20);
  ip[0] = 0x40 | ((20 + opt.length) / 4);
  ip.writeUInt16BE(20 + opt.length + l4.length, 2);
  ip.writeUInt16BE(o.frag ?? 0, 6);
  ip[8] = 64;
  ip[9] = proto;
  ip.set(ip4(o.src ?? '10.1.2.3'), 12);
  ip.set(ip4(o.dst ?? '10.4.5.6'), 16);
  return Buffer.concat([eth, ip, opt, l4]);
}

const stats = (col: Collection) => [0, 1, 2].map((k) => readU64(col.map('dissect_calls').lookup(u32(k))));

test('flow dissector test runs: the keys the program fills, per packet shape', (t) => {
  const col = ready(t);
  if (!col) return;
  const prog = col.program('dissect_ipv4');
  const before = stats(col);
  const base: FlowKeys = { nhoff: 14, thoff: 34, addrProto: 0x0800, isFrag: false, isFirstFrag: false, isEncap: false, ipProto: 6, nProto: 0x0800, sport: 40000, dport: 80, src: '10.1.2.3', dst: '10.4.5.6', flags: 0, flowLabel: 0 };
  const tcp = dissectPacket(prog, frame({ sport: 40000, dport: 80 }));
  assert.equal(tcp.retval, FlowDissectorVerdict.OK);
  assert.deepEqual(tcp.keys, base);
  // IP options move the transport header.
  const udp = dissectPacket(prog, frame({ proto: 17, sport: 53, dport: 5353, options: true, src: '192.168.0.1', dst: '192.168.0.2' }));
  assert.deepEqual(udp.keys, { ...base, thoff: 38, ipProto: 17, sport: 53, dport: 5353, src: '192.168.0.1', dst: '192.168.0.2' });
  // First fragment (MF): ports; a later fragment: addresses only.
  assert.deepEqual(dissectPacket(prog, frame({ sport: 1, dport: 2, frag: 0x2000 })).keys, { ...base, sport: 1, dport: 2, isFrag: true, isFirstFrag: true });
  assert.deepEqual(dissectPacket(prog, frame({ sport: 1, dport: 2, frag: 100 })).keys, { ...base, sport: 0, dport: 0, isFrag: true });
  // ICMP: no ports.
  assert.deepEqual(dissectPacket(prog, frame({ proto: 1 })).keys, { ...base, ipProto: 1, sport: 0, dport: 0 });
  // IPv6: refused; the kernel's initial keys come back.
  const v6 = dissectPacket(prog, frame({ v6: true }));
  assert.equal(v6.retval, FlowDissectorVerdict.DROP);
  assert.deepEqual([v6.keys.nhoff, v6.keys.nProto, v6.keys.addrProto, v6.keys.src], [14, 0x86dd, 0, undefined]);
  const after = stats(col);
  assert.deepEqual(after.map((v, i) => v - before[i]!), [6n, 5n, 1n]);
  // Bad input is a typed error.
  assert.throws(() => dissectPacket(prog, new Uint8Array(10)), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
});

let net: VethNetns | undefined;
test('flow dissector on a test netns: runs for real frames sent there, exactly; one per netns; detach', async (t) => {
  const col = ready(t);
  if (!col) return;
  if (!hasTool('ip')) return void t.skip('iproute2 (ip) not installed');
  const cl = sockClient();
  if ('skip' in cl) return void t.skip(cl.skip);
  net = makeVethNetns('fdis', { quiet: true });
  cleanups.push(() => net?.cleanup());
  const nsPath = `/run/netns/${net.ns}`;
  const prog = col.program('dissect_ipv4');
  const link = attachBySection(prog, { netns: nsPath });
  assert.ok(link instanceof BpfLink);
  try {
    const info = link.info();
    assert.equal(info.typeName, 'netns');
    assert.deepEqual(info.details, { netns_ino: statSync(nsPath).ino, attach_type: 'flow_dissector' });
    // One flow dissector per netns (a second link: E2BIG, "too many programs").
    assert.throws(() => attachFlowDissector(prog, nsPath), (e: unknown) => e instanceof KernelError && e.errnoName === 'E2BIG' && e.command === 'LINK_CREATE');
    const before = stats(col);
    // AF_PACKET sends dissect each frame (to find its transport header).
    const send = async (f: Buffer, n: number) => assert.equal((await runClient(cl.path, ['frame', net!.peer, f.toString('hex'), String(n)], { netns: net!.ns })).value, 'sent');
    await send(frame({ proto: 17, sport: 1000, dport: 2000, src: net.peerIp, dst: net.hostIp }), 3);
    await send(frame({ v6: true }), 2);
    assert.deepEqual(stats(col).map((v, i) => v - before[i]!), [5n, 3n, 2n]);
  } finally {
    const id = link.id;
    link.close();
    assert.equal(tryOpenById('link', id), undefined, 'netns link still exists');
  }
  const before = stats(col);
  assert.equal((await runClient(cl.path, ['frame', net.peer, frame({ proto: 17 }).toString('hex'), '2'], { netns: net.ns })).value, 'sent');
  assert.deepEqual(stats(col), before, 'still dissecting after detach');
});

test('netkit links: typed errors; a real attach where the kernel and iproute2 have netkit', async (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root');
  const map = KernelMap.create({ name: 'bk_netkit', type: 2 /* ARRAY */, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  cleanups.push(() => map.close());
  const prog = loadInsns(ProgType.SCHED_CLS, counterProgram(map.fd, { r0: 0 /* NETKIT_PASS */ }), { name: 'bk_netkit' });
  cleanups.push(() => prog.close());
  const nk = netkit();
  // lo is no netkit device: ENXIO with netkit, EINVAL (the attach type refused) without.
  assert.throws(
    () => attachNetkit(prog, 'lo', 'primary'),
    (e: unknown) => e instanceof KernelError && e.errnoName === (nk.ok ? 'ENXIO' : 'EINVAL') && /netkit/.test(e.message),
  );
  assert.throws(() => attachNetkit(prog, 'bk-no-such-if', 'peer'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENODEV');
  if (!nk.ok) return void t.skip(`no real netkit attach: ${nk.reason}`);
  if (!/netkit/.test(run('ip', ['link', 'help']).stderr + run('ip', ['link', 'help']).stdout)) return void t.skip(`the kernel has netkit but this iproute2 (${run('ip', ['-V']).stdout.trim()}) cannot create netkit devices`);
  // (Only reached on kernels with CONFIG_NETKIT and iproute2 >= 6.7.)
  const name = `bknk${process.pid % 100000}`;
  const peer = `${name}p`;
  const r = run('ip', ['link', 'add', name, 'type', 'netkit', 'peer', 'name', peer]);
  if (r.status !== 0) return void t.skip(`ip link add type netkit: ${r.stderr.trim()}`);
  cleanups.push(() => void run('ip', ['link', 'del', name]));
  const links = [attachNetkit(prog, name, 'primary'), attachNetkit(prog, name, 'peer')];
  try {
    assert.ok(links.every((l) => l instanceof NetkitLink));
    assert.deepEqual(links.map((l) => l.target), [`${name} primary`, `${name} peer`]);
    for (const l of links) assert.equal(l.info().typeName, 'netkit');
  } finally {
    for (const l of links) l.close();
  }
});

test('netns attach to a missing namespace file is a typed ENOENT naming it (flow dissector)', () => {
  const map = KernelMap.create({ name: 'bk_fd_nons', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  const prog = loadInsns(ProgType.FLOW_DISSECTOR, counterProgram(map.fd), { name: 'bk_fd_nons' });
  try {
    assert.throws(
      () => attachFlowDissector(prog, '/nonexistent/bpfkit-netns'),
      (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && /\/nonexistent\/bpfkit-netns/.test(e.message),
    );
  } finally {
    prog.close();
    map.close();
  }
});
