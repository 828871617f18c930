/**
 * Every example object (examples/build/*.bpf.o) end to end against the running kernel: loaded with bpfkit
 * (`Collection.loadFile`, CO-RE against the kernel's BTF), each program attached the way its section says,
 * a real event triggered (a child's exec / openat / getpid calls, packets over a veth in a test netns or over
 * loopback, a child in a fresh cgroup), the result read back from the object's maps or ring buffer and checked
 * against values known independently of bpfkit (the child's pid, packets sent, bpftool's view of the kernel
 * BTF, the kernel config), then detached — links gone from the kernel, counters still. The case table must
 * cover every object and every program in it: a new example fails the coverage test until it gets a case.
 */
import { test, after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { KernelError } from '../../src/errors.js';
import { Btf } from '../../src/btf/btf.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { KernelProgram } from '../../src/kernel/load/program.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { readKernelObject } from '../../src/kernel/load/object-file.js';
import { globalVariables } from '../../src/kernel/load/globals.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { attachTcx } from '../../src/kernel/link/tcx.js';
import { attachUsdt, UsdtLink } from '../../src/kernel/link/usdt.js';
import { BpfLink, closeLinks, type Link } from '../../src/kernel/link/link.js';
import { PerfEventLink } from '../../src/kernel/link/perf-event.js';
import { RingBuffer } from '../../src/kernel/ringbuf/reader.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { kprobes, uprobes, cgroup2Root } from '../../src/kernel/features/probe.js';
import { socket, bindInet, recvNonBlocking, closeFd, getpid, AF_INET, SOCK_DGRAM } from '../../src/kernel/sys/net.js';
import { usdtTarget } from './usdt-fixture.js';
import { dissectPacket, FlowDissectorVerdict } from '../../src/kernel/link/flow-dissector.js';
import { recvText, removeCgroup, runClient, sendAll, sockClient, startClient, tcpPair, type TcpPair } from './sock-fixture.js';
import { hasTool, makeCgroup, makeVethNetns, readU64, run, startHelper, testHelper, u32, u64, waitFor, type VethNetns } from './fixtures.js';

const EXAMPLES = new URL('../../../examples/build/', import.meta.url).pathname;
const objectPath = (name: string) => `${EXAMPLES}${name}.bpf.o`;

// ---- shared scaffolding --------------------------------------------------------------------------------------

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let net: VethNetns | undefined;
let netError = '';
before(() => {
  if (!hasTool('ip')) netError = 'iproute2 (ip) not installed';
  else {
    try {
      net = makeVethNetns('exm', { quiet: true });
      cleanups.push(() => net?.cleanup());
    } catch (e) {
      netError = `cannot create the test netns/veth: ${(e as Error).message}`;
    }
  }
});

/** The helper binary, or skip the test saying why there is none. */
function helper(t: TestContext): string | undefined {
  const h = testHelper();
  if ('skip' in h) {
    t.skip(h.skip);
    return undefined;
  }
  return h.path;
}

/** Load an example (skipping when it is not built), closed at the end of the file. */
function load(t: TestContext, name: string, opts: Parameters<typeof Collection.loadFile>[1] = {}): Collection | undefined {
  if (!existsSync(objectPath(name))) {
    t.skip(`${name}.bpf.o not built (scripts/build-examples.sh needs clang and libbpf-dev)`);
    return undefined;
  }
  const c = Collection.loadFile(objectPath(name), opts);
  cleanups.push(() => c.close());
  return c;
}

/** The kernel link ids behind `links` (BPF links, perf-event links made with BPF_LINK_CREATE). */
function kernelLinkIds(links: Link[]): number[] {
  const ids: number[] = [];
  for (const l of links) {
    if (l instanceof BpfLink) ids.push(l.id);
    else if (l instanceof PerfEventLink) {
      const i = l.info();
      if (i) ids.push(i.id);
    }
  }
  return ids;
}

/** Detach every link at once (perf events close concurrently) and check the kernel no longer has them. */
async function detach(links: Link[]): Promise<void> {
  const ids = kernelLinkIds(links);
  await closeLinks(links);
  for (const l of links) assert.ok(l.closed, `${l.kind} ${l.target} still open`);
  for (const id of ids) {
    const fd = tryOpenById('link', id);
    fd?.close();
    assert.equal(fd, undefined, `link id ${id} still exists after detach`);
  }
}

/** Run the helper with one byte of input (it waits for it), optionally inside the test netns. */
function runHelper(bin: string, args: string[], opts: { netns?: string } = {}): void {
  const r = opts.netns ? run('ip', ['netns', 'exec', opts.netns, bin, ...args], { input: 'g' }) : run(bin, args, { input: 'g' });
  assert.equal(r.status, 0, `helper ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stdout, /done/);
}

/** A UDP socket bound to ip:port (port 0 = any), closed at the end of the file. */
function udpSocket(ip: string): { fd: number; port: number } {
  const fd = socket(AF_INET, SOCK_DGRAM);
  cleanups.push(() => closeFd(fd));
  return { fd, port: bindInet(fd, ip, 0) };
}

/** Every datagram waiting on a socket. */
function drain(fd: number): Buffer[] {
  const out: Buffer[] = [];
  for (let b = recvNonBlocking(fd); b; b = recvNonBlocking(fd)) out.push(b);
  return out;
}

/** Datagrams on `fd` once `n` arrived (or after `ms`): `n` = 0 waits `ms` to be sure nothing comes. */
async function received(fd: number, n: number, ms = n ? 2000 : 100): Promise<Buffer[]> {
  const got: Buffer[] = [];
  if (n === 0) await new Promise((r) => setTimeout(r, ms));
  else await waitFor(() => (got.push(...drain(fd)), got.length >= n), ms);
  got.push(...drain(fd));
  return got;
}

const u64At = (b: Uint8Array | undefined, off = 0): bigint => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(off) : -1n);

/** A global variable's current value (little-endian unsigned), read from its data section map. */
function globalValue(c: Collection, name: string): bigint {
  const v = globalVariables(c.spec).find((g) => g.name === name);
  assert.ok(v, `no global ${name}`);
  const ms = c.spec.maps.find((m) => m.dataSection === v.section);
  assert.ok(ms, `no map for ${v.section}`);
  const raw = c.map(ms.name).lookup(u32(0));
  assert.ok(raw);
  const b = Buffer.from(raw.buffer, raw.byteOffset + v.offset, v.size);
  let x = 0n;
  for (let i = v.size - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/** Read an array/hash u64 until `ok(value)` holds (the value an event of our own just wrote may be overwritten). */
function readUntil(read: () => bigint, ok: (v: bigint) => boolean, tries = 200): bigint {
  let v = read();
  for (let i = 0; i < tries && !ok(v); i++) v = read();
  return v;
}

/** The running kernel's config (independently of src/elf/kconfig): /proc/config.gz or /boot/config-<release>. */
function kernelConfigText(): string | undefined {
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      return readFileSync(`/boot/config-${release()}`, 'utf8');
    } catch {
      return undefined;
    }
  }
}

/** Byte offset of a struct member in the kernel's BTF, from `bpftool btf dump` (or src/btf without bpftool). */
function kernelMemberOffset(struct: string, member: string): number {
  if (hasTool('bpftool')) {
    // grep stops bpftool early (the whole raw dump is ~12 MB).
    const r = run('sh', ['-c', `bpftool btf dump file /sys/kernel/btf/vmlinux format raw | grep -m1 -A2000 "STRUCT '${struct}' "`]);
    const start = r.stdout.indexOf(`STRUCT '${struct}' `);
    assert.ok(start >= 0, `bpftool: no struct ${struct}`);
    const block = r.stdout.slice(start).split('\n[')[0]!;
    const m = new RegExp(`^\\s+'${member}' type_id=\\d+ bits_offset=(\\d+)`, 'm').exec(block);
    assert.ok(m, `bpftool: no member ${struct}.${member}`);
    return Number(m[1]) / 8;
  }
  const btf = Btf.loadKernel();
  const id = btf.findIdsByName(struct, 'struct')[0]!;
  const t = btf.typeById(id);
  assert.ok(t.kind === 'struct');
  const f = t.members.find((x) => x.name === member);
  assert.ok(f);
  return f.bitOffset / 8;
}

// ---- the cases -----------------------------------------------------------------------------------------------

/** One example: what each of its programs is (attached how, or why not), and the end-to-end check. */
interface Case {
  programs: Record<string, string>;
  run(t: TestContext): Promise<void>;
}

const CASES: Record<string, Case> = {
  exec_logger: {
    programs: { handle_exec: 'tracepoint sched:sched_process_exec, events through the ring buffer' },
    async run(t) {
      const c = load(t, 'exec_logger');
      if (!c) return;
      const rb = new RingBuffer(c.map('events'));
      cleanups.push(() => rb.close());
      const links = [attachBySection(c.program('handle_exec'))];
      assert.equal(links[0]!.kind, 'tracepoint');
      // A copy of /bin/true under a name of our own: its comm and path are known.
      const dir = mkdtempSync(join(tmpdir(), 'bk-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const name = `bk_exec_${process.pid}`.slice(0, 15);
      const path = join(dir, name);
      copyFileSync('/bin/true', path);
      chmodSync(path, 0o755);
      const child = spawn(path, [], { stdio: 'ignore' });
      const status = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(status, 0);
      type Ev = { pid: number; ppid: number; uid: number; filenameLen: number; comm: string; filename: string };
      const events: Ev[] = [];
      const cstr = (b: Buffer) => b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)).toString();
      const found = await waitFor(() => {
        rb.drain((rec) => {
          const b = Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength);
          events.push({ pid: b.readUInt32LE(0), ppid: b.readUInt32LE(4), uid: b.readUInt32LE(8), filenameLen: b.readUInt32LE(12), comm: cstr(b.subarray(16, 32)), filename: cstr(b.subarray(32, 96)) });
        });
        return events.some((e) => e.pid === child.pid);
      });
      assert.ok(found, `no exec event for pid ${child.pid} among ${events.length}`);
      const ev = events.find((e) => e.pid === child.pid)!;
      assert.deepEqual(ev, { pid: child.pid!, ppid: process.pid, uid: process.getuid!(), filenameLen: path.length + 1, comm: name, filename: path });
      await detach(links);
      // Detached: another exec produces no event.
      rb.drain(() => {});
      const again = spawn(path, [], { stdio: 'ignore' });
      await new Promise((r) => again.on('close', r));
      let more = 0;
      rb.drain((rec) => void (Buffer.from(rec.buffer, rec.byteOffset, 4).readUInt32LE(0) === again.pid && more++));
      assert.equal(more, 0);
    },
  },

  count_calls: {
    programs: {
      count_kprobe: 'kprobe do_sys_openat2 (skipped without kprobes)',
      count_openat: 'tracepoint syscalls:sys_enter_openat, counts per pid',
      count_sys_enter: 'raw_tp sys_enter, counts every syscall',
    },
    async run(t) {
      const bin = helper(t);
      if (!bin) return;
      const c = load(t, 'count_calls');
      if (!c) return;
      const counts = c.map('counts');
      const N = 25;
      await t.test('count_openat (tracepoint) counts exactly the child\'s openat calls; count_sys_enter (raw_tp) sees them', async () => {
        const child = await startHelper(bin, ['openat', String(N)]);
        cleanups.push(() => child.kill());
        // Attached after the child's dynamic loader is done: only its N openat calls follow.
        const links = [attachBySection(c.program('count_openat')), attachBySection(c.program('count_sys_enter'))];
        assert.deepEqual(links.map((l) => l.kind), ['tracepoint', 'raw_tracepoint']);
        const total0 = readU64(c.map('syscalls_total').lookup(u32(0)));
        child.go();
        const r = await child.done();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(readU64(counts.lookup(u32(child.pid))), BigInt(N));
        // N openat + N close + the read and writes of the protocol, plus everything else on the machine.
        const total1 = readU64(c.map('syscalls_total').lookup(u32(0)));
        assert.ok(total1 - total0 >= BigInt(2 * N + 2), `sys_enter counted ${total1 - total0}`);
        await detach(links);
        const t0 = readU64(c.map('syscalls_total').lookup(u32(0)));
        for (let i = 0; i < 10; i++) getpid();
        assert.equal(readU64(c.map('syscalls_total').lookup(u32(0))), t0, 'raw_tp still counting after detach');
        const after = await startHelper(bin, ['openat', '3']);
        after.go();
        await after.done();
        assert.equal(counts.lookup(u32(after.pid)), undefined, 'tracepoint still counting after detach');
      });
      await t.test('count_kprobe (kprobe do_sys_openat2)', async (st) => {
        const k = kprobes();
        if (!k.ok) return void st.skip(`count_kprobe loads but cannot attach: ${k.reason}`);
        const child = await startHelper(bin, ['openat', String(N)]);
        cleanups.push(() => child.kill());
        const links = [attachBySection(c.program('count_kprobe'))];
        child.go();
        assert.equal((await child.done()).status, 0);
        // do_sys_openat2 runs once per openat.
        assert.equal(readU64(counts.lookup(u32(child.pid))), BigInt(N));
        await detach(links);
      });
    },
  },

  xdp_proto: {
    programs: { xdp_count_proto: 'XDP on the host end of a veth; traffic from the peer netns' },
    async run(t) {
      if (!net) return void t.skip(netError || 'no netns');
      const bin = helper(t);
      if (!bin) return;
      const c = load(t, 'xdp_proto');
      if (!c) return;
      const links = [attachBySection(c.program('xdp_count_proto'), { iface: net.host })];
      assert.equal(links[0]!.kind, 'xdp');
      t.diagnostic(`xdp attached: ${links[0]!.target}`);
      const UDP = 7;
      const ICMP = 4;
      runHelper(bin, ['udp', net.hostIp, '9', String(UDP), '32'], { netns: net.ns });
      runHelper(bin, ['icmp', net.hostIp, String(ICMP)], { netns: net.ns });
      const m = c.map('proto_count');
      const perProto = () => {
        const out = new Map<number, bigint>();
        for (let p = 0; p < 256; p++) {
          const sum = (m.lookupPerCpu(u32(p)) ?? []).reduce((a, v) => a + u64At(v), 0n);
          if (sum) out.set(p, sum);
        }
        return out;
      };
      await waitFor(() => (perProto().get(17) ?? 0n) >= BigInt(UDP) && (perProto().get(1) ?? 0n) >= BigInt(ICMP));
      // The veth is quiet (no IPv6, static ARP): exactly the packets sent, nothing else.
      assert.deepEqual(perProto(), new Map([[1, BigInt(ICMP)], [17, BigInt(UDP)]]));
      await detach(links);
      runHelper(bin, ['udp', net.hostIp, '9', '3', '32'], { netns: net.ns });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(perProto().get(17), BigInt(UDP), 'still counting after detach');
    },
  },

  tc_filter: {
    programs: {
      tc_drop_port: 'tcx ingress on the host end of the veth, drops UDP to the .rodata port',
      tc_count_mark: 'tcx egress on the same interface, counts packets and bytes',
    },
    async run(t) {
      if (!net) return void t.skip(netError || 'no netns');
      const bin = helper(t);
      if (!bin) return;
      const open = udpSocket(net.hostIp);
      const blocked = udpSocket(net.hostIp);
      const c = load(t, 'tc_filter', { globals: { blocked_port: blocked.port, mark_value: 0x1234 } });
      if (!c) return;
      const links = [attachBySection(c.program('tc_drop_port'), { iface: net.host }), attachTcx(c.program('tc_count_mark'), net.host, 'egress')];
      assert.deepEqual(links.map((l) => l.target), [`${net.host} ingress`, `${net.host} egress`]);
      const stats = () => {
        const v = c.map('stats').lookup(u32(0));
        return { packets: u64At(v, 0), bytes: u64At(v, 8), dropped: u64At(v, 16) };
      };
      runHelper(bin, ['udp', net.hostIp, String(open.port), '3', '10'], { netns: net.ns });
      runHelper(bin, ['udp', net.hostIp, String(blocked.port), '4', '10'], { netns: net.ns });
      const got = await received(open.fd, 3);
      assert.deepEqual(got.map((b) => b.length), [10, 10, 10]);
      assert.equal((await received(blocked.fd, 0)).length, 0, 'a datagram to the blocked port arrived');
      assert.equal(stats().dropped, 4n);
      // Egress: 5 datagrams of 20 bytes to the peer = Ethernet 14 + IPv4 20 + UDP 8 + 20 bytes each; the quiet
      // veth sends nothing else.
      runHelper(bin, ['udp', net.peerIp, '9', '5', '20']);
      await waitFor(() => stats().packets >= 5n);
      assert.deepEqual(stats(), { packets: 5n, bytes: 5n * 62n, dropped: 4n });
      await detach(links);
      runHelper(bin, ['udp', net.hostIp, String(blocked.port), '2', '10'], { netns: net.ns });
      assert.equal((await received(blocked.fd, 2)).length, 2, 'the port stays blocked after detach');
      assert.equal(stats().dropped, 4n);
    },
  },

  uprobe_getpid: {
    programs: { getpid_enter: 'uprobe libc getpid, one child', getpid_exit: 'uretprobe libc getpid, one child' },
    async run(t) {
      const u = uprobes();
      if (!u.ok) return void t.skip(u.reason ?? 'no uprobes');
      if (!existsSync('/lib/x86_64-linux-gnu/libc.so.6')) return void t.skip('the example probes /lib/x86_64-linux-gnu/libc.so.6, absent here');
      const bin = helper(t);
      if (!bin) return;
      const c = load(t, 'uprobe_getpid');
      if (!c) return;
      const N = 17;
      const child = await startHelper(bin, ['getpid', String(N)]);
      cleanups.push(() => child.kill());
      const links = [attachBySection(c.program('getpid_enter'), { pid: child.pid }), attachBySection(c.program('getpid_exit'), { pid: child.pid })];
      assert.deepEqual(links.map((l) => l.kind), ['uprobe', 'uretprobe']);
      child.go();
      assert.equal((await child.done()).status, 0);
      const m = c.map('getpid_stats');
      assert.equal(readU64(m.lookup(u32(0))), BigInt(N), 'getpid calls');
      assert.equal(readU64(m.lookup(u32(1))), BigInt(child.pid), 'last getpid return');
      await detach(links);
    },
  },

  usdt_probe: {
    programs: {
      on_tick: 'usdt bpfkit:tick auto-attached from its section (two call sites in a gcc-built PIE target)',
      on_gated: 'usdt bpfkit:gated in the target\'s shared library, behind a semaphore, attachUsdt with a USDT cookie',
    },
    async run(t) {
      const u = uprobes();
      if (!u.ok) return void t.skip(u.reason ?? 'no uprobes');
      const tg = usdtTarget();
      if ('skip' in tg) return void t.skip(tg.skip);
      const c = load(t, 'usdt_probe');
      if (!c) return;
      const rb = new RingBuffer(c.map('usdt_events'));
      cleanups.push(() => rb.close());
      const N = 3;
      // Held at "ready" until attached; go() lets it run both of its rounds.
      const child = await startHelper(tg.exe, [String(N)], { ready: /^ready sema=0$/m });
      cleanups.push(() => child.kill());
      const savedPath = process.env.PATH;
      process.env.PATH = `${tg.dir}:${savedPath ?? ''}`; // the section names the target by its bare name
      const links: Link[] = [];
      try {
        links.push(attachBySection(c.program('on_tick'), { pid: child.pid }));
      } finally {
        process.env.PATH = savedPath;
      }
      links.push(attachUsdt(c.program('on_gated'), { binary: tg.lib, provider: 'bpfkit', name: 'gated', pid: child.pid, cookie: 42n }));
      assert.deepEqual(links.map((l) => l.kind), ['usdt', 'usdt']);
      child.go();
      const { status, stdout } = await child.done();
      assert.equal(status, 0);
      assert.match(stdout, new RegExp(`done sema=1 gated=${N}\\nagain sema=1 gated=${N}`), 'semaphore set while attached');
      const events: { probe: number; pid: number; cookie: bigint; args: bigint[] }[] = [];
      rb.drain((r) => {
        const b = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
        events.push({ probe: b.readUInt32LE(0), pid: b.readUInt32LE(4), cookie: b.readBigUInt64LE(16), args: [0, 1, 2, 3].map((i) => b.readBigInt64LE(24 + i * 8)) });
      });
      assert.ok(events.every((e) => e.pid === child.pid));
      const ticks = events.filter((e) => e.probe === 1);
      const gates = events.filter((e) => e.probe === 2);
      const round = [...Array(N).keys(), 99].map(BigInt);
      assert.deepEqual(ticks.map((e) => e.args[0]), [...round, ...round], 'tick(i) from both call sites, two rounds');
      assert.ok(ticks.every((e) => e.args[2] === -7n && e.cookie === 0n));
      assert.deepEqual(
        gates.map((e) => e.args),
        [0, 1, 2, 0, 1, 2].map((v) => [BigInt(v), BigInt(-v), BigInt(200 + v), BigInt(v) << 40n]),
        'gated(v, -v, 200 + v, v << 40)',
      );
      assert.ok(gates.every((e) => e.cookie === 42n), 'bpf_usdt_cookie');
      // The call sites' perf links gone from the kernel, then the USDT links closed (spec ids freed).
      await detach((links as UsdtLink[]).flatMap((l) => l.links));
      await closeLinks(links);
      assert.ok(links.every((l) => l.closed));
    },
  },

  globals: {
    programs: { socket_globals: 'socket filter on a UDP socket (uses .rodata/.data/.bss)', use_globals: 'raw_tp sys_enter (bpf_loop, kconfig)' },
    async run(t) {
      const bin = helper(t);
      if (!bin) return;
      // .rodata set before load: multiplier 5 (default 3), threshold 0 (default 1000, so the filter drops).
      const c = load(t, 'globals', { globals: { multiplier: 5, threshold: 0 } });
      if (!c) return;
      assert.throws(() => c.map('.rodata').update(u32(0), new Uint8Array(24)), (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM', '.rodata is frozen');
      const sock = udpSocket('127.0.0.1');
      const links: Link[] = [attachBySection(c.program('socket_globals'), { socketFd: sock.fd })];
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '3', '20']);
      await waitFor(() => globalValue(c, 'calls') >= 3n);
      // accumulate(skb->len = UDP header 8 + 20): total 7 + 3 * 28 * 5, and total > threshold 0 drops.
      assert.equal(globalValue(c, 'calls'), 3n);
      assert.equal(globalValue(c, 'total'), 7n + 3n * 28n * 5n);
      assert.equal(globalValue(c, 'custom_counter'), 11n + 3n);
      assert.equal((await received(sock.fd, 0)).length, 0, 'socket_globals should drop (threshold 0)');
      await detach(links.splice(0));
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '1', '20']);
      assert.equal((await received(sock.fd, 1)).length, 1, 'delivered once detached');
      assert.equal(globalValue(c, 'calls'), 3n);

      links.push(attachBySection(c.program('use_globals')));
      assert.equal(links[0]!.kind, 'raw_tracepoint');
      for (let i = 0; i < 5; i++) getpid();
      const results = c.map('results');
      assert.equal(readU64(results.lookup(u32(0))), 6n, 'bpf_loop sum 0+1+2+3');
      const [a, b, p] = release().split(/[.-]/).map(Number);
      assert.equal(readU64(results.lookup(u32(1))), BigInt((a! << 16) + (b! << 8) + Math.min(p || 0, 255)), 'LINUX_KERNEL_VERSION');
      const config = kernelConfigText();
      const hz = Number(/^CONFIG_HZ=(\d+)$/m.exec(config ?? '')?.[1] ?? 0);
      const bpf = /^CONFIG_BPF_SYSCALL=y$/m.test(config ?? '') ? 1000000 : 0;
      if (!config) t.diagnostic('no kernel config readable: CONFIG_HZ and CONFIG_BPF_SYSCALL resolve to 0');
      assert.equal(readU64(results.lookup(u32(2))), BigInt(hz + bpf), 'CONFIG_HZ + CONFIG_BPF_SYSCALL');
      assert.equal(globalValue(c, 'last_value'), 1n, 'total > threshold 0');
      // Every call adds 6 * 5 (racing CPUs may lose an update, never produce another value).
      const calls = globalValue(c, 'calls');
      const total = globalValue(c, 'total');
      assert.ok(calls > 3n);
      assert.ok(total > 427n && (total - 427n) % 30n === 0n, `total ${total}`);
      await detach(links);
      const frozen = globalValue(c, 'calls');
      for (let i = 0; i < 5; i++) getpid();
      assert.equal(globalValue(c, 'calls'), frozen, 'still counting after detach');
    },
  },

  tailcall_mim: {
    programs: { tail_entry: 'socket filter on a UDP socket', tail_target: 'reached through the prog array (tail call)' },
    async run(t) {
      const bin = helper(t);
      if (!bin) return;
      const c = load(t, 'tailcall_mim');
      if (!c) return;
      // The map-in-map slots point at the inner maps.
      assert.equal(u64At(new Uint8Array([...(c.map('outer').lookup(u32(0)) ?? []), 0, 0, 0, 0])), BigInt(c.map('inner0').id));
      assert.equal(u64At(new Uint8Array([...(c.map('outer').lookup(u32(2)) ?? []), 0, 0, 0, 0])), BigInt(c.map('inner1').id));
      const sock = udpSocket('127.0.0.1');
      const links = [attachBySection(c.program('tail_entry'), { socketFd: sock.fd })];
      // tail_entry alone returns 0 (drop): datagrams arriving whole prove tail_target ran.
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '3', '12']);
      assert.deepEqual((await received(sock.fd, 3)).map((b) => b.length), [12, 12, 12]);
      assert.equal(readU64(c.map('inner0').lookup(u32(1))), 1n, 'tail_target wrote through outer[0]');
      assert.equal(c.map('inner1').lookup(u32(1)), undefined);
      // Without the prog array slot the tail call falls through: dropped.
      c.map('jump_table').delete(u32(1));
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '2', '12']);
      assert.equal((await received(sock.fd, 0)).length, 0);
      await detach(links);
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '1', '12']);
      assert.equal((await received(sock.fd, 1)).length, 1, 'delivered once detached');
    },
  },

  sock_cgroup: {
    programs: {
      sock_count: 'socket filter on a UDP socket, counts bytes',
      cg_ingress: 'cgroup_skb ingress on a fresh cgroup holding one child',
      cg_egress: 'cgroup_skb egress on the same cgroup',
    },
    async run(t) {
      const bin = helper(t);
      if (!bin) return;
      const c = load(t, 'sock_cgroup');
      if (!c) return;
      const stats = (k: number) => readU64(c.map('pkt_stats').lookup(u32(k)));
      await t.test('sock_count keeps every packet and counts its bytes', async () => {
        const sock = udpSocket('127.0.0.1');
        const links = [attachBySection(c.program('sock_count'), { socketFd: sock.fd })];
        runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '4', '100']);
        assert.deepEqual((await received(sock.fd, 4)).map((b) => b.length), [100, 100, 100, 100]);
        assert.equal(stats(0), 4n * (8n + 100n), 'bytes seen (UDP header + payload)');
        await detach(links);
        runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '1', '100']);
        assert.equal((await received(sock.fd, 1)).length, 1);
        assert.equal(stats(0), 4n * 108n);
      });
      await t.test('cg_ingress / cg_egress count a child\'s packets in its cgroup', async (st) => {
        if (!cgroup2Root()) return void st.skip('no cgroup v2 mount');
        const cg = makeCgroup('exm');
        if (!cg) return void st.skip('no cgroup v2 mount');
        let child: Awaited<ReturnType<typeof startHelper>> | undefined;
        try {
          const links = [attachBySection(c.program('cg_ingress'), { cgroup: cg.path }), attachBySection(c.program('cg_egress'), { cgroup: cg.path })];
          assert.deepEqual(links.map((l) => l.kind), ['cgroup', 'cgroup']);
          const sink = udpSocket('127.0.0.1');
          const { createSocket } = await import('node:dgram');
          // The child joins the cgroup before exec, so its socket belongs to it; this process stays outside.
          child = await startHelper('sh', ['-c', `echo $$ > ${cg.path}/cgroup.procs && exec "$0" "$@"`, bin, 'udpio', '127.0.0.1', String(sink.port), '5', '3']);
          child.go();
          const port = Number((await child.waitOutput(/^port (\d+)$/m))[1]);
          assert.equal((await received(sink.fd, 5)).length, 5);
          const sender = createSocket('udp4');
          for (let i = 0; i < 3; i++) await new Promise<void>((r, j) => sender.send('bpfkit', port, '127.0.0.1', (e) => (e ? j(e) : r())));
          sender.close();
          const r = await child.done();
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stdout, /^got 3$/m);
          assert.equal(stats(2), 5n, 'egress: the child\'s 5 datagrams');
          assert.equal(stats(1), 3n, 'ingress: the 3 datagrams to the child');
          await detach(links);
        } finally {
          // The cgroup can only go once its last process has.
          child?.kill();
          await child?.done();
          cg.cleanup();
        }
      });
    },
  },

  ksyms: {
    programs: { rcu_count: 'raw_tp sys_enter calling the kfuncs bpf_rcu_read_lock/unlock' },
    async run(t) {
      const c = load(t, 'ksyms');
      if (!c) return;
      const links = [attachBySection(c.program('rcu_count'))];
      const read = () => readU64(c.map('rcu_sections').lookup(u32(0)));
      const v0 = read();
      for (let i = 0; i < 20; i++) getpid();
      const v1 = read();
      // Our 20 getpid calls and the lookup itself, at least.
      assert.ok(v1 - v0 >= 21n, `rcu sections ${v1 - v0}`);
      await detach(links);
      const v2 = read();
      for (let i = 0; i < 20; i++) getpid();
      assert.equal(read(), v2, 'still counting after detach');
    },
  },

  core_flavor: {
    programs: { core_read_task: 'raw_tp sys_enter reading task_struct___local fields (CO-RE)' },
    async run(t) {
      const c = load(t, 'core_flavor');
      if (!c) return;
      const pidOffset = kernelMemberOffset('task_struct', 'pid');
      // The compiler's offsets (the local flavor) were relocated to the kernel's.
      const core = [...readKernelObject(objectPath('core_flavor')).core.values()].flat();
      const pidRelo = core.find((r) => r.access === 'task_struct___local.pid');
      assert.ok(pidRelo && pidRelo.status === 'relocated');
      assert.equal(pidRelo.origValue, 4n);
      assert.equal(pidRelo.newValue, BigInt(pidOffset));
      const links = [attachBySection(c.program('core_read_task'))];
      const m = c.map('task_info');
      const key = (k: number) => () => readU64(m.lookup(u32(k)));
      // Our own lookup syscall fires sys_enter just before reading: the task is this thread (another CPU's syscall
      // may overwrite in between — read again).
      assert.equal(readUntil(key(0), (v) => v === BigInt(process.pid)), BigInt(process.pid), 'task->pid');
      assert.equal(readUntil(key(1), (v) => v === BigInt(process.ppid)), BigInt(process.ppid), 'task->real_parent->tgid');
      assert.equal(key(2)(), 0n, 'no_such_field_in_any_kernel exists');
      assert.equal(key(3)(), BigInt(pidOffset), 'offsetof(task_struct, pid)');
      await detach(links);
      m.update(u32(0), u64(0xdead));
      assert.equal(key(0)(), 0xdeadn, 'still running after detach');
    },
  },

  legacy_maps: {
    programs: { legacy_prog: 'socket filter on a UDP socket using the two legacy maps' },
    async run(t) {
      const bin = helper(t);
      if (!bin) return;
      if (hasTool('bpftool') && existsSync(objectPath('legacy_maps'))) {
        // libbpf >= 1.0 (bpftool) refuses the `maps` section outright; bpfkit loads it.
        const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-legacy`;
        const r = run('bpftool', ['prog', 'loadall', objectPath('legacy_maps'), dir]);
        rmSync(dir, { recursive: true, force: true });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /legacy map definitions in 'maps' section are not supported/);
        t.diagnostic(`bpftool: ${r.stderr.split('\n')[0]}`);
      }
      const c = load(t, 'legacy_maps');
      if (!c) return;
      const hash = c.map('legacy_hash');
      const array = c.map('legacy_array');
      assert.deepEqual([hash.type, hash.keySize, hash.valueSize, hash.maxEntries, hash.flags], [1, 4, 8, 128, 1 /* BPF_F_NO_PREALLOC */]);
      assert.deepEqual([array.type, array.keySize, array.valueSize, array.maxEntries], [2, 4, 4, 4]);
      const header = readFileSync('/usr/include/linux/version.h', 'utf8');
      assert.equal(c.spec.kernelVersion, Number(/LINUX_VERSION_CODE (\d+)/.exec(header)?.[1]), 'version section');
      hash.update(u32(0), u64(100));
      array.update(u32(0), u32(7));
      const sock = udpSocket('127.0.0.1');
      const links = [attachBySection(c.program('legacy_prog'), { socketFd: sock.fd })];
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '3', '10']);
      await waitFor(() => readU64(hash.lookup(u32(0))) >= 121n);
      assert.equal(readU64(hash.lookup(u32(0))), 100n + 3n * 7n);
      assert.equal((await received(sock.fd, 0)).length, 0, 'legacy_prog returns 0: dropped');
      await detach(links);
      runHelper(bin, ['udp', '127.0.0.1', String(sock.port), '1', '10']);
      assert.equal((await received(sock.fd, 1)).length, 1);
      assert.equal(readU64(hash.lookup(u32(0))), 121n);
    },
  },

  cgroup_sock_addr: {
    programs: {
      connect4_redirect: 'cgroup/connect4 on a fresh cgroup: a child\'s connect to 127.0.0.1:A reaches the listener on B',
      connect6_redirect: 'cgroup/connect6, the same on [::1] (skipped without ::1)',
      bind4_deny: 'cgroup/bind4: the child\'s bind of the refused port fails with EPERM',
      sendmsg4_redirect: 'cgroup/sendmsg4: the child\'s datagram to U1 arrives on U2',
      sysctl_deny: 'cgroup/sysctl: the child\'s read of kernel/domainname fails with EPERM',
    },
    async run(t) {
      const cl = sockClient();
      if ('skip' in cl) return void t.skip(cl.skip);
      if (!cgroup2Root()) return void t.skip('no cgroup v2 mount');
      const { createServer } = await import('node:net');
      const listen = async (label: string, host: string, port = 0) => {
        const srv = createServer((s) => {
          let got = '';
          s.on('data', (d) => (got += d.toString()));
          s.on('end', () => s.end(`${label}:${got}`));
          s.on('error', () => {});
        });
        await new Promise<void>((res, rej) => (srv.once('error', rej), srv.listen({ host, port, ipv6Only: host.includes(':') }, res)));
        cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
        return (srv.address() as { port: number }).port;
      };
      const a = await listen('A', '127.0.0.1');
      const b = await listen('B', '127.0.0.1');
      let v6 = true;
      try {
        await listen('A6', '::1', a);
        await listen('B6', '::1', b);
      } catch {
        v6 = false;
      }
      const denied = udpSocket('127.0.0.1').port; // a UDP port number: free for TCP binds too, very likely
      const u1 = udpSocket('127.0.0.1');
      const u2 = udpSocket('127.0.0.1');
      const c = load(t, 'cgroup_sock_addr', { globals: { connect_from_port: a, connect_to_port: b, bind_denied_port: denied, udp_from_port: u1.port, udp_to_port: u2.port } });
      if (!c) return;
      const cg = makeCgroup('exsa');
      if (!cg) return void t.skip('no cgroup v2 mount');
      try {
        const inCg = { cgroup: cg.path };
        const names = Object.keys(CASES.cgroup_sock_addr!.programs);
        const links = names.map((n) => attachBySection(c.program(n), inCg));
        assert.ok(links.every((l) => l.kind === 'cgroup'));
        assert.equal((await runClient(cl.path, ['connect', '127.0.0.1', String(a), 'hi'], inCg)).value, 'B:hi');
        if (v6) assert.equal((await runClient(cl.path, ['connect', '::1', String(a), 'hi6'], inCg)).value, 'B6:hi6');
        else t.diagnostic('connect6 not exercised: cannot listen on ::1');
        assert.deepEqual(await runClient(cl.path, ['bind', '127.0.0.1', String(denied)], inCg), { call: 'bind', errno: 1, stdout: 'ready\nerr bind 1\n' });
        assert.equal((await runClient(cl.path, ['udp', '127.0.0.1', String(u1.port), 'dg'], inCg)).value, 'sent');
        assert.deepEqual((await received(u2.fd, 1)).map(String), ['dg']);
        assert.equal((await received(u1.fd, 0)).length, 0);
        assert.deepEqual(await runClient(cl.path, ['sysctl', '/proc/sys/kernel/domainname'], inCg), { call: 'read', errno: 1, stdout: 'ready\nerr read 1\n' });
        const stats = () => [0, 1, 2, 3, 4].map((k) => readU64(c.map('hook_stats').lookup(u32(k))));
        assert.deepEqual(stats(), [1n, 1n, 1n, 1n, v6 ? 1n : 0n]);
        await detach(links);
        assert.equal((await runClient(cl.path, ['connect', '127.0.0.1', String(a), 'hi'], inCg)).value, 'A:hi');
        assert.equal((await runClient(cl.path, ['sysctl', '/proc/sys/kernel/domainname'], inCg)).value, readFileSync('/proc/sys/kernel/domainname', 'utf8').trim());
        assert.deepEqual(stats(), [1n, 1n, 1n, 1n, v6 ? 1n : 0n]);
      } finally {
        await removeCgroup(cg.path);
      }
    },
  },

  sockmap_redir: {
    programs: {
      count_established: 'sockops on a fresh cgroup: a child\'s TCP connect counted exactly',
      msg_verdict: 'sk_msg on msg_map (sockmap link): counts sends, redirects into another connection',
      echo_parser: 'sk_skb/stream_parser on echo_map',
      echo_verdict: 'sk_skb/stream_verdict on echo_map: bounces what the server socket receives back to the client',
    },
    async run(t) {
      const cl = sockClient();
      if ('skip' in cl) return void t.skip(cl.skip);
      const c = load(t, 'sockmap_redir');
      if (!c) return;
      const stat = (k: number) => readU64(c.map('sock_stats').lookup(u32(k)));
      const until = async (fd: number, n: number) => {
        let got = '';
        await waitFor(() => ((got += recvText(fd)), got.length >= n));
        return got;
      };
      await t.test('count_established: sockops counts a child\'s connection', async (st) => {
        const cg = makeCgroup('exso');
        if (!cg) return void st.skip('no cgroup v2 mount');
        try {
          const links = [attachBySection(c.program('count_established'), { cgroup: cg.path })];
          const srv = await startClient(cl.path, ['serve', '127.0.0.1', '0']);
          cleanups.push(() => srv.kill());
          const port = (await srv.waitOutput(/^port (\d+)$/m))[1]!;
          assert.equal((await runClient(cl.path, ['connect', '127.0.0.1', port, 'q'], { cgroup: cg.path })).value, 'served:q');
          await srv.done();
          // TCP_CONNECT and ACTIVE_ESTABLISHED for the child's socket; the listener is outside the cgroup.
          assert.deepEqual([0, 1, 2].map(stat), [1n, 1n, 0n]);
          await detach(links);
        } finally {
          await removeCgroup(cg.path);
        }
      });
      await t.test('msg_verdict / echo_parser / echo_verdict on sockmaps', async () => {
        const pairs = [tcpPair(), tcpPair(), tcpPair()];
        cleanups.push(() => pairs.forEach((p) => p.close()));
        const links = [
          attachBySection(c.program('msg_verdict'), { sockMap: c.map('msg_map') }),
          attachBySection(c.program('echo_parser'), { sockMap: c.map('echo_map') }),
          attachBySection(c.program('echo_verdict'), { sockMap: c.map('echo_map') }),
        ];
        assert.ok(links.every((l) => l.kind === 'sockmap'));
        const [p1, p2, p3] = pairs as [TcpPair, TcpPair, TcpPair];
        c.map('msg_map').update(u32(0), u64(p1.client));
        c.map('msg_map').update(u32(1), u64(p2.server));
        c.map('msg_cfg').update(u32(0), u32(2));
        sendAll(p1.client, 'moved');
        assert.equal(await until(p2.server, 5), 'moved');
        assert.equal(recvText(p1.server), '');
        assert.deepEqual([stat(3), stat(4)], [1n, 5n]);
        c.map('echo_map').update(u32(0), u64(p3.server));
        sendAll(p3.client, 'echo');
        assert.equal(await until(p3.client, 4), 'echo');
        assert.deepEqual([stat(5), stat(6)], [1n, 4n]);
        assert.ok(stat(7) >= 1n);
        await detach(links);
      });
    },
  },

  flow_dissector: {
    programs: { dissect_ipv4: 'flow_dissector: BPF_PROG_TEST_RUN keys, then a netns link on the test netns, dissecting frames sent there' },
    async run(t) {
      if (!net) return void t.skip(netError || 'no netns');
      const cl = sockClient();
      if ('skip' in cl) return void t.skip(cl.skip);
      const c = load(t, 'flow_dissector');
      if (!c) return;
      const prog = c.program('dissect_ipv4');
      // Ethernet + IPv4 (UDP 10.0.0.1:5000 -> 10.0.0.2:53, total length 28) + UDP header.
      const f = Buffer.from(['020000000002', '020000000001', '0800', '4500001c', '00000000', '40110000', '0a000001', '0a000002', '1388', '0035', '0008', '0000'].join(''), 'hex');
      const r = dissectPacket(prog, f);
      assert.equal(r.retval, FlowDissectorVerdict.OK);
      assert.deepEqual([r.keys.thoff, r.keys.ipProto, r.keys.src, r.keys.dst, r.keys.sport, r.keys.dport], [34, 17, '10.0.0.1', '10.0.0.2', 5000, 53]);
      const links = [attachBySection(prog, { netns: `/run/netns/${net.ns}` })];
      assert.equal(links[0]!.kind, 'flow_dissector');
      const runs = () => readU64(c.map('dissect_calls').lookup(u32(0)));
      const before = runs();
      // AF_PACKET sends in the netns dissect each frame.
      assert.equal((await runClient(cl.path, ['frame', net.peer, f.toString('hex'), '4'], { netns: net.ns })).value, 'sent');
      assert.equal(runs() - before, 4n);
      await detach(links);
      assert.equal((await runClient(cl.path, ['frame', net.peer, f.toString('hex'), '2'], { netns: net.ns })).value, 'sent');
      assert.equal(runs() - before, 4n, 'still dissecting after detach');
    },
  },
};

// ---- coverage and the runs ------------------------------------------------------------------------------------

test('every example object has a case covering each of its programs', (t) => {
  if (!existsSync(EXAMPLES)) return void t.skip('examples not built (scripts/build-examples.sh)');
  const objects = readdirSync(EXAMPLES).filter((f) => f.endsWith('.bpf.o')).map((f) => f.replace(/\.bpf\.o$/, ''));
  if (!objects.length) return void t.skip('examples not built (scripts/build-examples.sh)');
  const sources = readdirSync(new URL('../../../examples/', import.meta.url).pathname).filter((f) => f.endsWith('.bpf.c'));
  for (const s of sources) if (!objects.includes(s.replace(/\.bpf\.c$/, ''))) t.diagnostic(`${s} has no built object`);
  const missing = objects.filter((o) => !CASES[o]);
  assert.deepEqual(missing, [], `example objects without a case in test/kernel/examples.test.ts: ${missing.join(', ')}`);
  for (const o of objects) {
    const programs = readKernelObject(objectPath(o)).spec.programs.map((p) => p.name).sort();
    assert.deepEqual(Object.keys(CASES[o]!.programs).sort(), programs, `${o}: the case must say what it does with each program`);
  }
});

test('bpfkit prog load applies CO-RE against the kernel BTF (core_flavor, run once with BPF_PROG_TEST_RUN)', (t) => {
  if (!existsSync(objectPath('core_flavor'))) return void t.skip('core_flavor.bpf.o not built');
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-clicore`;
  const bin = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
  try {
    const r = run(process.execPath, [bin, 'prog', 'load', objectPath('core_flavor'), '--pin', dir, '--json'], { timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const { programs } = JSON.parse(r.stdout) as { programs: { name: string; mapIds: number[] }[] };
    assert.equal(programs[0]?.name, 'core_read_task');
    const prog = KernelProgram.fromPin(`${dir}/core_read_task`);
    const map = KernelMap.fromId(programs[0]!.mapIds[0]!);
    try {
      prog.testRun();
      // Run in this thread's context: without CO-RE the local flavor's offsets (pid at 4) would be used.
      assert.equal(readU64(map.lookup(u32(3))), BigInt(kernelMemberOffset('task_struct', 'pid')));
      assert.equal(readU64(map.lookup(u32(0))), BigInt(process.pid));
      assert.equal(readU64(map.lookup(u32(1))), BigInt(process.ppid));
    } finally {
      prog.close();
      map.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, c] of Object.entries(CASES)) test(`example ${name}: ${Object.keys(c.programs).join(', ')}`, (t) => c.run(t));
