/**
 * Network attachments against the real kernel: XDP (native and generic) and tcx ingress/egress on a veth
 * pair whose peer lives in a network namespace this test creates; cgroup skb egress/ingress and sock_create on
 * a fresh cgroup v2 directory; a socket filter on a UDP socket; sk_lookup in the test netns. Traffic is UDP
 * sent by python3. Everything (links, netns, veth, cgroup) is removed at the end.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { KernelError } from '../../src/errors.js';
import { AttachType, MapType, ProgType } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns, type KernelProgram } from '../../src/kernel/load/program.js';
import { attachXdp } from '../../src/kernel/link/xdp.js';
import { attachTcx } from '../../src/kernel/link/tcx.js';
import { attachCgroup } from '../../src/kernel/link/cgroup.js';
import { attachSocketFilter } from '../../src/kernel/link/socket-filter.js';
import { attachSkLookup } from '../../src/kernel/link/sk-lookup.js';
import { ifNameToIndex, socket, bindInet, recvNonBlocking, closeFd, AF_INET, SOCK_DGRAM } from '../../src/kernel/sys/net.js';
import { counterProgram, hasTool, makeCgroup, makeVethNetns, python3, readU64, run, u32, udpFromNetns, udpToNetns, waitFor, type VethNetns } from './fixtures.js';

const closers: { close(): void }[] = [];
let net: VethNetns | undefined;
let netError = '';

before(() => {
  if (!hasTool('ip')) {
    netError = 'iproute2 (ip) not installed';
    return;
  }
  try {
    net = makeVethNetns('net');
  } catch (e) {
    netError = `cannot create netns/veth: ${(e as Error).message}`;
  }
});
after(() => {
  for (const c of closers.reverse()) c.close();
  net?.cleanup();
});

function counter(type: number, r0: number, expectedAttachType?: number): { prog: KernelProgram; count(): bigint } {
  const map = KernelMap.create({ name: 'bk_net_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  closers.push(map);
  const prog = loadInsns(type, counterProgram(map.fd, { r0 }), { name: 'bk_net', expectedAttachType });
  closers.push(prog);
  return { prog, count: () => readU64(map.lookup(u32(0))) };
}

const needNet = (t: { skip(msg: string): void }): boolean => {
  if (!net) t.skip(netError || 'no netns');
  else if (!python3) t.skip('python3 not installed');
  return !!net && !!python3;
};

test('XDP on a veth (native, then generic): counts packets, reports the mode, detaches', (t) => {
  if (!needNet(t)) return;
  for (const mode of ['native', 'generic'] as const) {
    const { prog, count } = counter(ProgType.XDP, 2 /* XDP_PASS */);
    const link = attachXdp(prog, net!.host, { mode: mode === 'native' ? 'auto' : 'generic' });
    assert.equal(link.mode, mode);
    assert.equal(link.ifindex, ifNameToIndex(net!.host));
    assert.equal(link.info().details.ifindex, link.ifindex);
    udpFromNetns(net!, 5);
    assert.ok(count() >= 5n, `${mode}: ${count()} packets`);
    link.close();
    const before = count();
    udpFromNetns(net!, 3);
    assert.equal(count(), before, 'no counting after detach');
  }
});

test('XDP on a missing interface is a typed error', () => {
  const { prog } = counter(ProgType.XDP, 2);
  assert.throws(() => attachXdp(prog, 'bpfkit-nope0'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENODEV');
});

test('tcx ingress and egress on a veth', async (t) => {
  if (!needNet(t)) return;
  const ing = counter(ProgType.SCHED_CLS, 0 /* TCX_PASS */, 46);
  const eg = counter(ProgType.SCHED_CLS, 0, 47);
  let l1;
  try {
    l1 = attachTcx(ing.prog, net!.host, 'ingress', { mode: 'tcx' });
  } catch (e) {
    if (e instanceof KernelError && e.errnoName === 'EINVAL') return void t.skip(`tcx not supported by this kernel: ${e.message}`);
    throw e;
  }
  const l2 = attachTcx(eg.prog, net!.host, 'egress', { mode: 'tcx' });
  assert.equal(l1.info().typeName, 'tcx');
  assert.equal(l1.info().details.attach_type, 'tcx_ingress');
  udpFromNetns(net!, 4);
  await udpToNetns(net!, 3);
  assert.ok(ing.count() >= 4n, `ingress ${ing.count()}`);
  await waitFor(() => eg.count() >= 3n, 1000);
  assert.ok(eg.count() >= 3n, `egress ${eg.count()}`);
  l1.close();
  l2.close();
  const before = ing.count();
  udpFromNetns(net!, 2);
  assert.equal(ing.count(), before);
});

test('cgroup skb egress/ingress and sock_create on a fresh cgroup v2 directory', async (t) => {
  if (!python3) return void t.skip('python3 not installed');
  const cg = makeCgroup('net');
  if (!cg) return void t.skip('no cgroup2 mount');
  try {
    const egress = counter(ProgType.CGROUP_SKB, 1, AttachType.CGROUP_INET_EGRESS);
    const ingress = counter(ProgType.CGROUP_SKB, 1, AttachType.CGROUP_INET_INGRESS);
    const sock = counter(ProgType.CGROUP_SOCK, 1, AttachType.CGROUP_INET_SOCK_CREATE);
    const links = [attachCgroup(egress.prog, cg.path), attachCgroup(ingress.prog, cg.path), attachCgroup(sock.prog, cg.path)];
    // A child that joins the cgroup, then sends 5 UDP datagrams to itself over loopback.
    const code = `import socket\nr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nr.bind(('127.0.0.1', 0))\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(5): s.sendto(b'x', r.getsockname())\nfor _ in range(5): r.recv(10)\n`;
    const r = run('sh', ['-c', `echo $$ > ${cg.path}/cgroup.procs && exec ${python3} -c "$0"`, code]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(egress.count() >= 5n, `egress ${egress.count()}`);
    assert.ok(ingress.count() >= 5n, `ingress ${ingress.count()}`);
    assert.ok(sock.count() >= 2n, `sock_create ${sock.count()}`);
    assert.equal(links[0]!.kind, 'cgroup');
    for (const l of links) l.close();
    const before = egress.count();
    const r2 = run('sh', ['-c', `echo $$ > ${cg.path}/cgroup.procs && exec ${python3} -c "$0"`, code]);
    assert.equal(r2.status, 0);
    assert.equal(egress.count(), before);
  } finally {
    cg.cleanup();
  }
});

test('cgroup attach to a missing directory is a typed ENOENT', () => {
  const { prog } = counter(ProgType.CGROUP_SKB, 1, AttachType.CGROUP_INET_EGRESS);
  assert.throws(() => attachCgroup(prog, '/sys/fs/cgroup/bpfkit-no-such-dir'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
});

test('socket filter on a UDP socket: drops while attached, delivers after detach', async () => {
  const { prog, count } = counter(ProgType.SOCKET_FILTER, 0 /* keep 0 bytes: drop */);
  const fd = socket(AF_INET, SOCK_DGRAM);
  const sender = createSocket('udp4');
  try {
    const port = bindInet(fd, '127.0.0.1', 0);
    const link = attachSocketFilter(prog, fd);
    const send = (n: number) =>
      Promise.all(Array.from({ length: n }, () => new Promise<void>((res, rej) => sender.send('bpfkit', port, '127.0.0.1', (e) => (e ? rej(e) : res())))));
    await send(3);
    await waitFor(() => count() >= 3n, 1000);
    assert.equal(count(), 3n);
    assert.equal(recvNonBlocking(fd), undefined, 'filtered out');
    link.close();
    await send(1);
    let got: Buffer | undefined;
    await waitFor(() => (got = recvNonBlocking(fd)) !== undefined, 1000);
    assert.equal(got?.toString(), 'bpfkit');
    assert.equal(count(), 3n);
  } finally {
    sender.close();
    closeFd(fd);
  }
});

test('sk_lookup in the test netns', (t) => {
  if (!needNet(t)) return;
  const { prog, count } = counter(ProgType.SK_LOOKUP, 1 /* SK_PASS */, AttachType.SK_LOOKUP);
  const link = attachSkLookup(prog, `/var/run/netns/${net!.ns}`);
  assert.equal(link.info().typeName, 'netns');
  const r = net!.exec([python3!, '-c', "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(3): s.sendto(b'x', ('127.0.0.1', 9))\n"]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(count() >= 3n, `lookups ${count()}`);
  link.close();
});
