/**
 * The bpftool-style CLI commands end to end (bin/bpfkit.js) against the real kernel and bpftool 7.1:
 * prog dump xlated (text identical to bpftool's, per-instruction opcodes), prog dump jited, prog pin/detach,
 * map create/pin/freeze/getnext and queue/stack ops, link pin/detach, net list (XDP, tcx, classic tc on a veth
 * in a test netns), cgroup show/tree, btf list, perf list, and one-line errors for bad arguments.
 * Everything (pins named bpfkit-test-<pid>-*, links, netns, veth, cgroup) is removed at the end.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachType, MapType, ProgType, Uapi } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns, type KernelProgram } from '../../src/kernel/load/program.js';
import { attachXdp } from '../../src/kernel/link/xdp.js';
import { attachTcx } from '../../src/kernel/link/tcx.js';
import { attachCgroup } from '../../src/kernel/link/cgroup.js';
import { attachTracepoint } from '../../src/kernel/link/tracepoint.js';
import { bpf } from '../../src/kernel/sys/bpf.js';
import { counterProgram, hasTool, makeCgroup, makeVethNetns, run } from './fixtures.js';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../../examples/build/', import.meta.url).pathname;
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { timeout: 60000 });
const PIN = `/sys/fs/bpf/bpfkit-test-${process.pid}-bt`;
const noBpftool = hasTool('bpftool') ? false : 'bpftool not installed';
const bpftoolJson = <T>(...args: string[]): T => {
  const r = run('bpftool', ['-j', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
};
/** Run the CLI, expect success, parse its JSON. */
const cliJson = <T>(...args: string[]): T => {
  const r = cli(...args, '--json');
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};
/** Expect a one-line `error: ...` and a non-zero exit. */
const fails = (re: RegExp, ...args: string[]) => {
  const r = cli(...args);
  assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
  assert.match(r.stderr, /^error: [^\n]+\n$/, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, re);
};

const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) {
    try {
      c.close();
    } catch {
      /* already gone */
    }
  }
  rmSync(PIN, { recursive: true, force: true });
});

/** A counter program (named bk_…) on a fresh array map; closed after the file. */
function counter(type: number, name: string, expectedAttachType?: number): KernelProgram {
  const map = KernelMap.create({ name: 'bk_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  closers.push(map);
  const prog = loadInsns(type, counterProgram(map.fd), { name, expectedAttachType });
  closers.push(prog);
  return prog;
}

test('prog dump xlated: bpftool text byte for byte, same instructions and opcodes as bpftool JSON', { skip: noBpftool }, (t) => {
  const obj = `${EXAMPLES}count_calls.bpf.o`;
  if (!existsSync(obj)) return void t.skip('examples not built');
  const load = cliJson<{ programs: { id: number; name: string }[] }>('prog', 'load', obj, '--pin', `${PIN}/cc`);
  const p = load.programs.find((x) => x.name === 'count_openat')!;
  const path = `${PIN}/cc/count_openat`;
  // Plain text, with --opcodes and with --linum: exactly bpftool's (helper names, map[id:N], BTF lines).
  for (const [ours, theirs] of [[[], []], [['--opcodes'], ['opcodes']], [['--linum'], ['linum']]] as const) {
    const mine = cli('prog', 'dump', 'xlated', String(p.id), ...ours);
    assert.equal(mine.status, 0, mine.stderr);
    const ref = run('bpftool', ['prog', 'dump', 'xlated', 'id', String(p.id), ...theirs]);
    assert.equal(mine.stdout, ref.stdout, `dump xlated ${ours.join(' ')}`);
  }
  assert.match(cli('prog', 'dump', 'xlated', path).stdout, /call bpf_get_current_pid_tgid#\d+\n[\s\S]*r1 = map\[id:\d+\]/);
  // JSON: one entry per instruction (lddw = one), same disassembly and opcode bytes as bpftool's JSON.
  const mine = cliJson<{ pc: number; disasm: string; code: number; opcodes: string }[]>('prog', 'dump', 'xlated', path);
  const ref = bpftoolJson<{ disasm: string; opcodes: { code: string; imm: string[] } }[]>('prog', 'dump', 'xlated', 'id', String(p.id), 'opcodes');
  assert.equal(mine.length, ref.length);
  mine.forEach((m, i) => {
    assert.equal(m.disasm, ref[i]!.disasm, `insn ${i}`);
    assert.equal(m.code, Number(ref[i]!.opcodes.code), `opcode of insn ${i}`);
  });
  // jited: no disassembler, raw bytes on request.
  fails(/not supported \(needs an x86 disassembler\)/, 'prog', 'dump', 'jited', String(p.id));
  const tmp = mkdtempSync(join(tmpdir(), 'bpfkit-bt-'));
  try {
    const r = cli('prog', 'dump', 'jited', String(p.id), '--raw', join(tmp, 'jit.bin'));
    assert.equal(r.status, 0, r.stderr);
    const show = cliJson<{ jitedLen: number }>('prog', 'show', String(p.id));
    assert.equal(statSync(join(tmp, 'jit.bin')).size, show.jitedLen);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // prog pin: a second pin of the same program.
  assert.equal(cli('prog', 'pin', String(p.id), `${PIN}/again`).status, 0);
  assert.equal(cliJson<{ id: number }>('prog', 'show', `${PIN}/again`).id, p.id);
});

test('map create, pin, getnext, freeze; queue and stack ops', () => {
  fails(/'nosuch' is not a map type/, 'map', 'create', `${PIN}/m`, 'type', 'nosuch', 'key', '4', 'value', '4', 'entries', '1');
  fails(/missing 'entries'/, 'map', 'create', `${PIN}/m`, 'type', 'hash', 'key', '4', 'value', '4');
  const h = cliJson<{ id: number; typeName: string; name: string; keySize: number; maxEntries: number }>('map', 'create', `${PIN}/h`, 'type', 'hash', 'key', '4', 'value', '8', 'entries', '8', 'name', 'bk_h');
  assert.deepEqual([h.typeName, h.name, h.keySize, h.maxEntries], ['hash', 'bk_h', 4, 8]);
  assert.equal(cli('map', 'pin', String(h.id), `${PIN}/h2`).status, 0);
  assert.equal(cliJson<{ id: number }[]>('map', 'dump', `${PIN}/h2`).length, 0);
  fails(/the map is empty/, 'map', 'getnext', `${PIN}/h`);
  for (const k of ['01000000', '02000000']) assert.equal(cli('map', 'update', `${PIN}/h`, '--key', k, '--value', '0000000000000000').status, 0);
  const first = cliJson<{ key: null; next_key: string }>('map', 'getnext', `${PIN}/h`);
  const second = cliJson<{ key: string; next_key: string }>('map', 'getnext', `${PIN}/h`, '--key', first.next_key);
  assert.deepEqual([first.next_key, second.next_key].sort(), ['01000000', '02000000']);
  fails(/no key after .* last one/, 'map', 'getnext', `${PIN}/h`, '--key', second.next_key);
  // freeze: user-space updates refused afterwards (EPERM), reads still fine.
  assert.equal(cli('map', 'freeze', `${PIN}/h`).status, 0);
  fails(/^error: MAP_UPDATE_ELEM: EPERM/, 'map', 'update', `${PIN}/h`, '--key', '01000000', '--value', '0100000000000000');
  assert.equal(cliJson<unknown[]>('map', 'dump', `${PIN}/h`).length, 2);
  fails(/needs a queue or stack/, 'map', 'pop', `${PIN}/h`);

  assert.equal(cli('map', 'create', `${PIN}/q`, 'type', 'queue', 'key', '0', 'value', '4', 'entries', '4', 'name', 'bk_q').status, 0);
  for (const v of ['01000000', '02000000']) assert.equal(cli('map', 'enqueue', `${PIN}/q`, '--value', v).status, 0);
  assert.equal(cli('map', 'push', `${PIN}/q`, '--value', '03000000').status, 0);
  fails(/4/, 'map', 'push', `${PIN}/q`, '--value', '0102');
  assert.match(cli('map', 'peek', `${PIN}/q`).stdout, /^value: 01 00 00 00\n$/);
  assert.equal(cliJson<{ value: string }>('map', 'dequeue', `${PIN}/q`).value, '01000000');
  assert.equal(cliJson<{ value: string }>('map', 'pop', `${PIN}/q`).value, '02000000');
  assert.equal(cliJson<{ value: string }>('map', 'pop', `${PIN}/q`).value, '03000000');
  fails(/is empty/, 'map', 'pop', `${PIN}/q`);

  assert.equal(cli('map', 'create', `${PIN}/s`, 'type', 'stack', 'key', '0', 'value', '4', 'entries', '4', 'name', 'bk_s').status, 0);
  for (const v of ['01000000', '02000000']) assert.equal(cli('map', 'push', `${PIN}/s`, '--value', v).status, 0);
  assert.equal(cliJson<{ value: string }>('map', 'pop', `${PIN}/s`).value, '02000000'); // LIFO
  assert.equal(cliJson<{ value: string | null }>('map', 'peek', `${PIN}/s`).value, '01000000');
});

test('net list: XDP, tcx and classic tc on a veth; agrees with bpftool net', { skip: noBpftool || (hasTool('ip') ? false : 'iproute2 not installed') }, (t) => {
  let net;
  try {
    net = makeVethNetns('bt');
  } catch (e) {
    return void t.skip(`cannot create netns/veth: ${(e as Error).message}`);
  }
  try {
    const xdp = counter(ProgType.XDP, 'bk_bt_xdp');
    const tcx = counter(ProgType.SCHED_CLS, 'bk_bt_tcx');
    const tc = counter(ProgType.SCHED_CLS, 'bk_bt_tc');
    const l1 = attachXdp(xdp, net.host);
    closers.push(l1);
    const l2 = attachTcx(tcx, net.host, 'ingress', { mode: 'tcx' });
    closers.push(l2);
    const l3 = attachTcx(tc, net.host, 'egress', { mode: 'classic' });
    try {
      type Entry = { devname: string; ifindex: number; progId: number; attachPoint: string; linkId?: number; name: string };
      const got = cliJson<{ xdp: Entry[]; tcx: Entry[]; tc: Entry[] }>('net', 'list', 'dev', net.host);
      assert.deepEqual(got.xdp.map((e) => [e.devname, e.progId, e.attachPoint, e.name]), [[net.host, xdp.id, l1.mode === 'native' ? 'driver' : 'generic', 'bk_bt_xdp']]);
      assert.deepEqual(got.tcx.map((e) => [e.progId, e.attachPoint, e.linkId, e.name]), [[tcx.id, 'ingress', l2.id, 'bk_bt_tcx']]);
      assert.deepEqual(got.tc.map((e) => [e.progId, e.attachPoint]), [[tc.id, 'egress']]);
      const text = cli('net', 'list', '--dev', net.host).stdout;
      assert.match(text, new RegExp(`^${net.host}\\(\\d+\\)\\s+xdp/(driver|generic)\\s+${xdp.id}\\s+bk_bt_xdp`, 'm'));
      assert.match(text, new RegExp(`^${net.host}\\(\\d+\\)\\s+tcx/ingress\\s+${tcx.id}\\s+bk_bt_tcx\\s+${l2.id}$`, 'm'));
      // bpftool 7.1 lists xdp and classic tc (not tcx): same programs on the same device.
      const ref = bpftoolJson<{ xdp: { devname: string; id: number; mode: string }[]; tc: { devname: string; id: number; kind: string }[] }[]>('net', 'show', 'dev', net.host)[0]!;
      assert.deepEqual(ref.xdp.map((x) => x.id), got.xdp.map((e) => e.progId));
      assert.deepEqual(ref.tc.filter((x) => x.devname === net.host).map((x) => x.id), got.tc.map((e) => e.progId));
      // Everything, not just one device: the same entries appear in the full listing.
      const all = cliJson<{ xdp: Entry[] }>('net', 'list');
      assert.ok(all.xdp.some((e) => e.progId === xdp.id && e.devname === net.host));
    } finally {
      l3.close();
    }
    assert.deepEqual(cliJson<{ tc: unknown[] }>('net', 'list', 'dev', net.host).tc, []);
    fails(/no network interface named bk-nosuch/, 'net', 'list', 'dev', 'bk-nosuch');
    fails(/expected 'dev IF'/, 'net', 'list', 'eth0');
  } finally {
    net.cleanup();
  }
});

test('cgroup show/tree, prog detach (PROG_ATTACH), link pin/detach (cgroup link); agrees with bpftool cgroup', { skip: noBpftool }, (t) => {
  const cg = makeCgroup('bt');
  if (!cg) return void t.skip('no cgroup v2 mount');
  try {
    const legacy = counter(ProgType.CGROUP_SKB, 'bk_bt_cgleg', AttachType.CGROUP_INET_EGRESS);
    const viaLink = counter(ProgType.CGROUP_SKB, 'bk_bt_cglink', AttachType.CGROUP_INET_INGRESS);
    const dir = openSync(cg.path, 'r');
    try {
      bpf('PROG_ATTACH', { target_fd: dir, attach_bpf_fd: legacy.fd, attach_type: AttachType.CGROUP_INET_EGRESS, attach_flags: Uapi.BPF_F_ALLOW_MULTI });
    } finally {
      closeSync(dir);
    }
    const link = attachCgroup(viaLink, cg.path, AttachType.CGROUP_INET_INGRESS);
    closers.push(link);
    const linkId = (link as unknown as { id: number }).id;
    type Row = { id: number; attach_type: string; attach_flags: string; name: string };
    const show = cliJson<Row[]>('cgroup', 'show', cg.path);
    assert.deepEqual(
      show.map((r) => [r.id, r.attach_type, r.name]),
      [
        [viaLink.id, 'cgroup_inet_ingress', 'bk_bt_cglink'],
        [legacy.id, 'cgroup_inet_egress', 'bk_bt_cgleg'],
      ],
    );
    assert.equal(show[1]!.attach_flags, 'multi');
    const ref = bpftoolJson<{ id: number; attach_type: string; name: string }[]>('cgroup', 'show', cg.path);
    assert.deepEqual(ref.map((r) => [r.id, r.name]).sort(), show.map((r) => [r.id, r.name]).sort());
    // tree from the test cgroup: the same two, under its path.
    const tree = cliJson<{ cgroup: string; programs: Row[] }[]>('cgroup', 'tree', cg.path);
    assert.deepEqual(tree.map((c) => [c.cgroup, c.programs.map((p) => p.id)]), [[cg.path, [viaLink.id, legacy.id]]]);
    assert.match(cli('cgroup', 'tree', cg.path).stdout, new RegExp(`^${cg.path}\\s+${legacy.id}\\s+cgroup_inet_egress\\s+multi\\s+bk_bt_cgleg$`, 'm'));

    // prog detach: the PROG_ATTACH one goes; the link-held one cannot be detached that way.
    fails(/not attached .* with PROG_ATTACH/, 'prog', 'detach', String(viaLink.id), 'cgroup_inet_egress', cg.path);
    assert.equal(cli('prog', 'detach', String(legacy.id), 'cgroup_inet_egress', cg.path).status, 0);
    assert.deepEqual(cliJson<Row[]>('cgroup', 'show', cg.path).map((r) => r.id), [viaLink.id]);
    fails(/not detachable with BPF_PROG_DETACH .*link detach/, 'prog', 'detach', String(legacy.id), 'xdp', 'lo');
    fails(/unknown attach type/, 'prog', 'detach', String(legacy.id), 'nosuch', cg.path);

    // link pin, then link detach: the program leaves the cgroup though the link object lives on (pinned).
    assert.equal(cli('link', 'pin', String(linkId), `${PIN}/link`).status, 0);
    assert.equal(cliJson<{ id: number }>('link', 'show', `${PIN}/link`).id, linkId);
    assert.equal(cli('link', 'detach', `${PIN}/link`).status, 0);
    assert.deepEqual(cliJson<Row[]>('cgroup', 'show', cg.path), []);
    fails(/cannot open cgroup directory/, 'cgroup', 'show', `${cg.path}/nosuch`);
  } finally {
    for (const c of closers.splice(0).reverse()) c.close();
    rmSync(`${PIN}/link`, { force: true });
    cg.cleanup();
  }
});

test('btf list: vmlinux and a program BTF with its users, as bpftool lists them', { skip: noBpftool }, (t) => {
  const obj = `${EXAMPLES}xdp_proto.bpf.o`;
  if (!existsSync(obj)) return void t.skip('examples not built');
  const load = cliJson<{ programs: { id: number; btfId: number; mapIds: number[] }[] }>('prog', 'load', obj, '--pin', `${PIN}/xp`);
  const p = load.programs[0]!;
  type Row = { id: number; name: string; size: number; kernel: boolean; prog_ids: number[]; map_ids: number[] };
  const mine = cliJson<Row[]>('btf', 'list');
  const ref = bpftoolJson<Row[]>('btf', 'list');
  const pick = (rows: Row[], id: number) => rows.find((r) => r.id === id);
  for (const id of [1, p.btfId]) {
    const a = pick(mine, id)!;
    const b = pick(ref, id)!;
    assert.ok(a && b, `btf ${id} listed by both`);
    assert.deepEqual([a.name, a.size, a.kernel], [b.name ?? '', b.size, b.kernel]); // bpftool omits an empty name
  }
  assert.equal(pick(mine, 1)!.name, 'vmlinux');
  assert.deepEqual(pick(mine, p.btfId)!.prog_ids, [p.id]);
  assert.ok(pick(mine, p.btfId)!.map_ids.includes(p.mapIds[0]!));
  assert.match(cli('btf', 'list').stdout, /^1\s+vmlinux\s+\d+\s+yes/m);
});

test('perf list: a tracepoint program held by this process, as bpftool perf shows it', { skip: noBpftool }, () => {
  const prog = counter(ProgType.TRACEPOINT, 'bk_bt_tp');
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getpid');
  try {
    type Row = { pid: number; fd: number; prog_id: number; fd_type: string; name: string };
    const mine = cliJson<Row[]>('perf', 'list', '--pid', String(process.pid));
    assert.deepEqual(
      mine.map((r) => [r.prog_id, r.fd_type, r.name]),
      [[prog.id, 'tracepoint', 'sys_enter_getpid']],
    );
    const ref = bpftoolJson<{ pid: number; fd: number; prog_id: number; fd_type: string; tracepoint?: string }[]>('perf').filter((r) => r.pid === process.pid);
    assert.deepEqual(
      ref.map((r) => [r.fd, r.prog_id, r.tracepoint]),
      mine.map((r) => [r.fd, r.prog_id, r.name]),
    );
    fails(/not a process id/, 'perf', 'list', '--pid', 'x');
  } finally {
    link.close();
  }
});

test('errors: bad ids and arguments are one line with a non-zero exit', () => {
  fails(/^error: PROG_GET_FD_BY_ID: (ENOENT|EINVAL)/, 'prog', 'dump', 'xlated', '4000000000');
  fails(/give a program id or a pinned path/, 'prog', 'pin', 'abc', `${PIN}/x`);
  fails(/give a link id or a pinned path/, 'link', 'detach', 'abc');
  fails(/^error: LINK_GET_FD_BY_ID: (ENOENT|EINVAL)/, 'link', 'pin', '4000000000', `${PIN}/x`);
  fails(/give a map id or a pinned path/, 'map', 'freeze', 'abc');
  fails(/unexpected 'size'/, 'map', 'create', `${PIN}/x`, 'type', 'hash', 'size', '4');
});
