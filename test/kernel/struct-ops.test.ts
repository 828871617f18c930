/**
 * struct_ops against the real kernel: a TCP congestion control "bpfkit_cc" (Reno through the kernel's
 * tcp_reno_* kfuncs) registered as tcp_congestion_ops — from hand-assembled programs (link and map-update
 * registration) and from a C object compiled at test time (test/kernel/progs/struct_ops_cc.bpf.c): visible in
 * /proc/sys/net/ipv4/tcp_available_congestion_control while registered, used by a real TCP connection, gone
 * after close. Skips with the kernel's reason when it refuses struct_ops programs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelError } from '../../src/errors.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { PseudoCall } from '../../src/isa/opcodes.js';
import { kernelBtf } from '../../src/kernel/load/kernel-btf.js';
import type { KernelProgram } from '../../src/kernel/load/program.js';
import { loadStructOpsProgram, registerStructOps, structOpsType, type StructOpsLink } from '../../src/kernel/link/struct-ops.js';
import { loadStructOpsObject, readStructOps } from '../../src/kernel/link/struct-ops-object.js';
import { hasTool, readU64, run, u32, waitFor } from './fixtures.js';

const CC = 'bpfkit_cc';
const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const available = () => (readFileSync(AVAILABLE, 'utf8').trim().split(/\s+/));
const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find(existsSync);
const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) c.close();
});

const root = process.getuid?.() === 0;
const noBtf = existsSync('/sys/kernel/btf/vmlinux') ? undefined : 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
const noTcp = existsSync(AVAILABLE) ? undefined : `no ${AVAILABLE}`;

/** A kfunc call (src = BPF_PSEUDO_KFUNC_CALL, imm = the function's vmlinux BTF id). */
function kfunc(name: string): Insn {
  const [id] = kernelBtf().findIdsByName(name, 'func');
  assert.ok(id, `kfunc ${name} in the kernel's BTF`);
  return insn(0x85, 0, PseudoCall.KFUNC, 0, id);
}

/** r1 = ctx[0] (struct sock *sk); r0 = kfunc(sk); exit */
const oneArg = (fn: string): Insn[] => [insn(0x79, 1, 1, 0, 0), kfunc(fn), insn(0x95)];
/** cong_avoid(sk, ack, acked): tcp_reno_cong_avoid(ctx[0], ctx[1], ctx[2]) */
const congAvoid = (): Insn[] => [insn(0xbf, 6, 1), insn(0x79, 1, 6, 0, 0), insn(0x79, 2, 6, 8, 0), insn(0x79, 3, 6, 16, 0), kfunc('tcp_reno_cong_avoid'), insn(0xb7, 0, 0, 0, 0), insn(0x95)];

let refused: string | undefined;
/** The three Reno programs, or undefined (and `refused` says why) when the kernel will not load them. */
function renoPrograms(): Record<string, KernelProgram> | undefined {
  try {
    const p = {
      ssthresh: loadStructOpsProgram(oneArg('tcp_reno_ssthresh'), 'tcp_congestion_ops', 'ssthresh', { name: 'bk_cc_ssthresh' }),
      cong_avoid: loadStructOpsProgram(congAvoid(), 'tcp_congestion_ops', 'cong_avoid', { name: 'bk_cc_avoid' }),
      undo_cwnd: loadStructOpsProgram(oneArg('tcp_reno_undo_cwnd'), 'tcp_congestion_ops', 'undo_cwnd', { name: 'bk_cc_undo' }),
    };
    closers.push(...Object.values(p));
    return p;
  } catch (e) {
    if (e instanceof KernelError && ['EPERM', 'EINVAL', 'ENOTSUPP', 'EOPNOTSUPP'].includes(e.errnoName) && !/processed \d+ insns/.test(e.log ?? '')) {
      refused = `the kernel refuses struct_ops programs here: ${e.message}`;
      return undefined;
    }
    throw e;
  }
}

/** Open a loopback TCP connection with congestion control `cc`, push 4 MiB through it; prints the cc in use. */
function tcpTransfer(cc: string): { status: number; stdout: string; stderr: string } {
  const code = [
    'import socket, sys, threading',
    "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)",
    'c = socket.socket()',
    `c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'${cc}')`,
    'c.connect(srv.getsockname()); a, _ = srv.accept()',
    'def drain():',
    '    while a.recv(1 << 16): pass',
    't = threading.Thread(target=drain); t.start()',
    "c.sendall(b'x' * (4 << 20))",
    "print(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b'\\0')[0].decode())",
    'c.close(); t.join(); a.close(); srv.close()',
  ].join('\n');
  return run(python!, ['-c', code], { timeout: 20000 });
}

test('struct_ops type layout from the kernel BTF (tcp_congestion_ops)', { skip: noBtf }, () => {
  const t = structOpsType('tcp_congestion_ops');
  const btf = kernelBtf();
  assert.equal(btf.nameOf(t.typeId), 'tcp_congestion_ops');
  assert.equal(btf.nameOf(t.valueTypeId), 'bpf_struct_ops_tcp_congestion_ops');
  assert.equal(t.valueSize, btf.sizeOf(t.valueTypeId));
  assert.ok(t.dataOffset > 0 && t.dataOffset + btf.sizeOf(t.typeId) <= t.valueSize);
  const ss = t.members.find((m) => m.name === 'ssthresh');
  const name = t.members.find((m) => m.name === 'name');
  assert.deepEqual(ss && { func: ss.func, size: ss.size, index: ss.index, offset: ss.offset }, { func: true, size: 8, index: 0, offset: 0 });
  assert.deepEqual(name && { func: name.func, size: name.size }, { func: false, size: 16 });
  assert.throws(() => structOpsType('task_struct'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && /not a struct_ops type/.test(e.message));
  assert.throws(() => structOpsType('bpfkit_no_such_ops'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
});

test('tcp_congestion_ops "bpfkit_cc" from assembled programs: registered through a link, used by TCP, gone after close', { skip: noBtf ?? noTcp ?? (root ? false : 'needs root') }, async (t) => {
  const progs = renoPrograms();
  if (!progs) return void t.skip(refused!);
  assert.ok(!available().includes(CC), `${CC} already registered by someone else`);
  const link = registerStructOps('tcp_congestion_ops', { programs: progs, data: { name: CC }, mapName: 'bk_cc' });
  closers.push(link);
  try {
    assert.equal(link.kind, 'struct_ops');
    assert.ok(link.bpfLink, 'link mode');
    assert.equal(link.bpfLink!.info().typeName, 'struct_ops');
    assert.ok(available().includes(CC), `${CC} in ${AVAILABLE}`);
    if (python) {
      const r = tcpTransfer(CC);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), CC, 'the connection used bpfkit_cc');
    } else t.diagnostic('python3 missing: no TCP transfer');
    // The same name twice: the kernel says EEXIST (names are global).
    assert.throws(
      () => registerStructOps('tcp_congestion_ops', { programs: progs, data: { name: CC }, mapName: 'bk_cc2' }),
      (e: unknown) => e instanceof KernelError && e.errnoName === 'EEXIST' && e.command === 'LINK_CREATE',
    );
  } finally {
    link.close();
  }
  assert.ok(await waitFor(() => !available().includes(CC), 2000), `${CC} still registered after close`);
  assert.equal(link.closed, true);
});

test('struct_ops without a link (map update registers, delete unregisters) and refused values', { skip: noBtf ?? noTcp ?? (root ? false : 'needs root') }, async (t) => {
  const progs = renoPrograms();
  if (!progs) return void t.skip(refused!);
  const link: StructOpsLink = registerStructOps('tcp_congestion_ops', { programs: progs, data: { name: CC }, link: false, mapName: 'bk_cc_nolink' });
  closers.push(link);
  try {
    assert.equal(link.bpfLink, undefined);
    assert.ok(available().includes(CC));
  } finally {
    link.close();
  }
  assert.ok(await waitFor(() => !available().includes(CC), 2000));
  // tcp_congestion_ops needs undo_cwnd: the kernel refuses the value.
  const { ssthresh, cong_avoid } = progs;
  assert.throws(
    () => registerStructOps('tcp_congestion_ops', { programs: { ssthresh: ssthresh!, cong_avoid: cong_avoid! }, data: { name: CC } }),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL' && e.command === 'MAP_UPDATE_ELEM',
  );
  // bpfkit's own checks: unknown members, a name too long.
  assert.throws(() => registerStructOps('tcp_congestion_ops', { programs: { nope: ssthresh! } }), (e: unknown) => e instanceof KernelError && /no member nope/.test(e.message));
  assert.throws(() => registerStructOps('tcp_congestion_ops', { programs: progs, data: { name: 'x'.repeat(16) } }), (e: unknown) => e instanceof KernelError && /does not fit/.test(e.message));
  assert.ok(!available().includes(CC));
});

test('struct_ops from a C object (.struct_ops.link): bpfkit_cc registered, counts cong_avoid calls, gone after close', { skip: noBtf ?? noTcp ?? (root ? false : 'needs root') }, async (t) => {
  if (!hasTool('clang')) return void t.skip('clang not installed');
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return void t.skip('libbpf-dev headers not installed');
  if (!renoPrograms()) return void t.skip(refused!);
  const src = new URL('../../../test/kernel/progs/struct_ops_cc.bpf.c', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-so-'));
  try {
    const obj = join(dir, 'struct_ops_cc.bpf.o');
    const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
    const cc = run('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', src, '-o', obj], { timeout: 60000 });
    assert.equal(cc.status, 0, cc.stderr);
    const [v] = readStructOps(new Uint8Array(readFileSync(obj)));
    assert.deepEqual(
      { name: v?.name, type: v?.typeName, link: v?.link, programs: v?.programs, ccName: Buffer.from(v?.data.name ?? []).toString().replace(/\0+$/, '') },
      { name: 'bk_cc', type: 'tcp_congestion_ops', link: true, programs: { ssthresh: 'bk_cc_ssthresh', cong_avoid: 'bk_cc_cong_avoid', undo_cwnd: 'bk_cc_undo_cwnd' }, ccName: CC },
    );
    const o = loadStructOpsObject(obj);
    closers.push(o);
    try {
      assert.ok(available().includes(CC));
      assert.deepEqual([...o.links.keys()], ['bk_cc']);
      if (python) {
        const r = tcpTransfer(CC);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), CC);
        const bss = o.collection.maps.get('.bss')!;
        assert.ok(readU64(bss.lookup(u32(0))) > 0n, 'the BPF cong_avoid ran for the connection');
      } else t.diagnostic('python3 missing: no TCP transfer');
    } finally {
      o.close();
    }
    assert.ok(await waitFor(() => !available().includes(CC), 2000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
