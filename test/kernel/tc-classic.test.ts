/**
 * Classic tc (clsact qdisc + direct-action cls_bpf over rtnetlink) against the real kernel, on a veth pair
 * whose peer lives in a test netns: counters on ingress and egress, iproute2's `tc` seeing the filters while
 * attached and not after, the qdisc removed only when bpfkit created it, explicit priority/handle, EEXIST,
 * `mode` selection in attachTcx. Also the netlink constant table against the C headers (gcc) and netlink
 * error reporting. Everything (links, qdiscs, netns, veth) is removed at the end.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelError } from '../../src/errors.js';
import { insn } from '../../src/isa/insn.js';
import { MapType, ProgType } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns, type KernelProgram } from '../../src/kernel/load/program.js';
import { attachTcClassic, deleteClsact, ensureClsact, hasClsact, listTcFilters, TcClassicLink } from '../../src/kernel/link/tc-classic.js';
import { attachTcx } from '../../src/kernel/link/tcx.js';
import { tcx } from '../../src/kernel/features/probe.js';
import { NL, NL_SIZES } from '../../src/kernel/sys/netlink-consts.js';
import { NetlinkMessage, withRtnetlink } from '../../src/kernel/sys/netlink.js';
import { counterProgram, hasTool, makeVethNetns, python3, readU64, run, u32, udpFromNetns, udpToNetns, waitFor, type VethNetns } from './fixtures.js';

const closers: { close(): void }[] = [];
let net: VethNetns | undefined;
let netError = '';

before(() => {
  if (process.getuid?.() !== 0) {
    netError = 'needs root (CAP_NET_ADMIN) for netns, veth and tc';
    return;
  }
  if (!hasTool('ip')) {
    netError = 'iproute2 (ip) not installed';
    return;
  }
  try {
    net = makeVethNetns('tcc', { quiet: true });
  } catch (e) {
    netError = `cannot create netns/veth: ${(e as Error).message}`;
  }
});
after(() => {
  for (const c of closers.reverse()) {
    try {
      c.close();
    } catch {
      /* the veth goes below anyway */
    }
  }
  if (net && hasClsact(net.host)) deleteClsact(net.host);
  net?.cleanup();
});

function counter(): { prog: KernelProgram; count(): bigint } {
  const map = KernelMap.create({ name: 'bk_tcc_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  closers.push(map);
  const prog = loadInsns(ProgType.SCHED_CLS, counterProgram(map.fd, { r0: 0 /* TC_ACT_OK */ }), { name: 'bk_tcc' });
  closers.push(prog);
  return { prog, count: () => readU64(map.lookup(u32(0))) };
}

const tcShow = (dir: 'ingress' | 'egress') => run('tc', ['filter', 'show', 'dev', net!.host, dir]);
const qdiscShow = () => run('tc', ['qdisc', 'show', 'dev', net!.host]).stdout;

function needNet(t: { skip(msg: string): void }): boolean {
  if (!net) t.skip(netError || 'no netns');
  else if (!python3) t.skip('python3 not installed');
  else if (!hasTool('tc')) t.skip('iproute2 tc not installed');
  return !!net && !!python3 && hasTool('tc');
}

test('netlink constants and struct sizes match the C headers (gcc)', { skip: hasTool('gcc') ? false : 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-nl-'));
  try {
    const names = Object.keys(NL);
    let c = '#include <sys/socket.h>\n#include <linux/netlink.h>\n#include <linux/rtnetlink.h>\n#include <linux/pkt_sched.h>\n#include <linux/pkt_cls.h>\n#include <linux/if_ether.h>\n#include <stdio.h>\nint main(void) {\n';
    for (const n of names) c += `  printf("%s %lld\\n", "${n}", (long long)(${n}));\n`;
    for (const s of Object.keys(NL_SIZES)) c += `  printf("%s %d\\n", "${s.replace(' ', '_')}", (int)sizeof(${s}));\n`;
    writeFileSync(join(dir, 'nl.c'), c + '  return 0;\n}\n');
    const cc = run('gcc', ['-w', '-o', join(dir, 'nl'), join(dir, 'nl.c')], { timeout: 60000 });
    assert.equal(cc.status, 0, cc.stderr.slice(0, 2000));
    const got = new Map(run(join(dir, 'nl'), []).stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    for (const n of names) assert.equal(Number(got.get(n)), NL[n as keyof typeof NL], n);
    for (const [s, size] of Object.entries(NL_SIZES)) assert.equal(Number(got.get(s.replace(' ', '_'))), size, s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netlink errors are KernelErrors with the errno name and the kernel message', (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root (CAP_NET_ADMIN)');
  // A filter on an interface index that does not exist.
  const bad = 0x7ffffff0;
  assert.throws(
    () =>
      withRtnetlink((s) =>
        s.request(
          new NetlinkMessage(NL.RTM_NEWQDISC, NL.NLM_F_CREATE | NL.NLM_F_EXCL)
            .bytes(Buffer.from([0, 0, 0, 0, 0xf0, 0xff, 0xff, 0x7f, 0, 0, 0xff, 0xff, 0xf1, 0xff, 0xff, 0xff, 0, 0, 0, 0]))
            .str(NL.TCA_KIND, 'clsact'),
          'RTM_NEWQDISC',
          `ifindex ${bad}`,
        ),
      ),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'ENODEV' && e.command === 'RTM_NEWQDISC' && /RTM_NEWQDISC: ENODEV/.test(e.message),
  );
  assert.throws(() => listTcFilters('bpfkit-nope0', 'ingress'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENODEV');
  // The kernel's extended-ACK text becomes the hint.
  if (net) {
    assert.throws(
      () => deleteClsact(net!.host),
      (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && /qdisc/i.test(e.hint ?? '') && e.message.includes(e.hint!),
    );
  }
});

test('classic tc on ingress and egress: counts packets, tc lists the filters, close removes filters and qdisc', async (t) => {
  if (!needNet(t)) return;
  assert.equal(hasClsact(net!.host), false);
  const ing = counter();
  const eg = counter();
  const l1 = attachTcx(ing.prog, net!.host, 'ingress', { mode: 'classic' });
  closers.push(l1);
  const l2 = attachTcx(eg.prog, net!.host, 'egress', { mode: 'classic' });
  closers.push(l2);
  assert.ok(l1 instanceof TcClassicLink);
  assert.equal(l1.mode, 'classic');
  assert.equal(l1.createdQdisc, true);
  assert.equal(l2.createdQdisc, false);
  assert.match(qdiscShow(), /qdisc clsact ffff:/);

  try {
    await traffic(ing, eg, l1, l2);
  } finally {
    l1.close();
    l2.close();
  }
});

/** The body of the test above (links closed by the caller whatever happens). */
async function traffic(ing: ReturnType<typeof counter>, eg: ReturnType<typeof counter>, l1: TcClassicLink, l2: TcClassicLink): Promise<void> {
  // The quiet veth carries only what we send, plus the ICMP port-unreachable answers (nothing listens on 9999):
  // those of the host go out through egress, those of the netns come in through ingress.
  udpFromNetns(net!, 4);
  await waitFor(() => ing.count() >= 4n, 1000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ing.count(), 4n, 'ingress');
  const base = eg.count();
  await udpToNetns(net!, 3);
  await waitFor(() => eg.count() >= base + 3n, 1000);
  assert.equal(eg.count() - base, 3n, 'egress');

  // What iproute2 sees, and what bpfkit lists.
  const shown = tcShow('ingress');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`pref ${l1.priority} bpf .*handle 0x${l1.handle.toString(16)} bk_tcc:\\[${ing.prog.id}\\] direct-action`));
  assert.match(tcShow('egress').stdout, new RegExp(`bk_tcc:\\[${eg.prog.id}\\] direct-action`));
  const [f] = listTcFilters(net!.host, 'ingress');
  assert.deepEqual(
    { kind: f?.kind, progId: f?.progId, directAction: f?.directAction, protocol: f?.protocol, priority: f?.priority, handle: f?.handle, tag: f?.tag },
    { kind: 'bpf', progId: ing.prog.id, directAction: true, protocol: NL.ETH_P_ALL, priority: l1.priority, handle: l1.handle, tag: ing.prog.info().tag },
  );
  assert.equal(l2.filter()?.progId, eg.prog.id);

  l1.close();
  assert.equal(tcShow('ingress').stdout.trim(), '', 'ingress filter gone');
  assert.match(qdiscShow(), /clsact/, 'qdisc stays while the egress filter is attached');
  const before = ing.count();
  udpFromNetns(net!, 2);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ing.count(), before, 'no counting after close');
  l2.close();
  assert.equal(tcShow('egress').stdout.trim(), '');
  assert.doesNotMatch(qdiscShow(), /clsact/, 'the clsact qdisc bpfkit created is gone');
  assert.equal(l1.filter(), undefined);
  l1.close(); // idempotent
}

test('classic tc keeps a clsact qdisc it did not create, and other filters', (t) => {
  if (!needNet(t)) return;
  const add = run('tc', ['qdisc', 'add', 'dev', net!.host, 'clsact']);
  assert.equal(add.status, 0, add.stderr);
  try {
    assert.equal(ensureClsact(net!.host), false, 'already there');
    const a = counter();
    const link = attachTcClassic(a.prog, net!.host, 'ingress', { priority: 7, handle: 3 });
    closers.push(link);
    assert.deepEqual([link.priority, link.handle, link.createdQdisc], [7, 3, false]);
    // The same priority and handle again: EEXIST; with replace: swapped in place.
    const b = counter();
    assert.throws(() => attachTcClassic(b.prog, net!.host, 'ingress', { priority: 7, handle: 3 }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EEXIST');
    const again = attachTcClassic(b.prog, net!.host, 'ingress', { priority: 7, handle: 3, replace: true });
    assert.equal(listTcFilters(net!.host, 'ingress').length, 1);
    assert.equal(again.filter()?.progId, b.prog.id);
    // A second filter at another priority survives closing the first.
    const other = attachTcClassic(a.prog, net!.host, 'ingress', { priority: 9 });
    closers.push(other);
    link.close();
    assert.deepEqual(listTcFilters(net!.host, 'ingress').map((f) => f.priority), [9]);
    other.close();
    assert.match(qdiscShow(), /clsact/, 'not ours: stays');
  } finally {
    run('tc', ['qdisc', 'del', 'dev', net!.host, 'clsact']);
  }
});

test('attachTcx modes: auto uses tcx when the kernel has it (features.tcx), classic when asked; bad programs are typed errors', (t) => {
  if (!needNet(t)) return;
  const c = counter();
  const auto = attachTcx(c.prog, net!.host, 'ingress');
  closers.push(auto);
  try {
    // The probe and the fallback agree: tcx where the kernel has it, classic tc elsewhere.
    const has = tcx();
    assert.equal(auto.mode, has.ok ? 'tcx' : 'classic', has.reason);
    assert.equal(auto.kind, has.ok ? 'tcx' : 'tc');
  } finally {
    auto.close();
  }
  // A socket filter is no tc program: the kernel refuses it (and the qdisc created for it is removed).
  const sf = loadInsns(ProgType.SOCKET_FILTER, [insn(0xb7, 0, 0, 0, 0), insn(0x95)], { name: 'bk_tcc_sf' });
  closers.push(sf);
  assert.throws(() => attachTcx(sf, net!.host, 'egress', { mode: 'classic' }), (e: unknown) => e instanceof KernelError && e.command === 'RTM_NEWTFILTER' && e.errnoName === 'EINVAL');
  assert.doesNotMatch(qdiscShow(), /clsact/);
  // In auto mode LINK_CREATE refuses it with EINVAL, taken as "no tcx": the classic path runs and fails too.
  assert.throws(
    () => attachTcx(sf, net!.host, 'ingress'),
    (e: unknown) => e instanceof KernelError && e.command === 'RTM_NEWTFILTER' && /after tcx failed with EINVAL/.test(e.message),
  );
  assert.doesNotMatch(qdiscShow(), /clsact/);
});
