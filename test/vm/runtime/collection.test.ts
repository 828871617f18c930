// The userspace runtime end to end on assembled programs: contexts (XDP, tc, kprobe, tracepoint, raw_tp),
// the ctx pass, helper mocks and call logs, load-time refusal of unimplemented helpers, printk, probe_read,
// tail calls, bpf_loop, ring buffers, fib_lookup, stacks, redirects, global data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, ProgType, Uapi } from '../../../src/isa/uapi.js';
import { VerifierError, VmError, UsageError } from '../../../src/errors.js';
import { loadCollection } from '../../../src/vm/collection.js';
import { u32Key, keyU32, type RingBufMap, type StackTraceMap } from '../../../src/vm/maps/index.js';
import { asmProgram, mapSpec, object, udpFrame } from './util.js';

test('XDP: data/data_end loads become packet pointers; packet writes show in the output', () => {
  const prog = asmProgram(
    'xdp_len',
    ProgType.XDP,
    `
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r0 = r3
    r0 -= r2
    r4 = r2
    r4 += 1
    if r4 > r3 goto +2
    r5 = 0xaa
    *(u8 *)(r2 + 0) = r5
    exit`,
    [],
  );
  const c = loadCollection(object([prog]));
  const pkt = udpFrame();
  const r = c.run('xdp_len', { packet: pkt });
  assert.equal(r.retval, pkt.length);
  assert.equal(r.verdict, `XDP_INVALID(${pkt.length})`);
  assert.equal(r.packet![0], 0xaa);
  assert.deepEqual(r.packet!.subarray(1), pkt.subarray(1));
  assert.equal(r.ctx!.ingress_ifindex, 1);
});

test('ctx pass: writes to read-only fields and bad offsets are refused at load; out-of-packet reads fault', () => {
  const write = asmProgram('w', ProgType.XDP, 'r2 = 1\n*(u32 *)(r1 + 12) = r2\nr0 = 2\nexit', []);
  assert.throws(() => loadCollection(object([write])), (e: unknown) => e instanceof VerifierError && /read-only field xdp_md.ingress_ifindex/.test(e.message));
  const narrow = asmProgram('n', ProgType.XDP, 'r2 = *(u16 *)(r1 + 0)\nr0 = 2\nexit', []);
  assert.throws(() => loadCollection(object([narrow])), /4-byte load/);
  const outside = asmProgram('o', ProgType.SCHED_CLS, 'r2 = *(u32 *)(r1 + 400)\nr0 = 0\nexit', []);
  assert.throws(() => loadCollection(object([outside])), /outside the struct/);
  // Through a spilled and reloaded ctx pointer, with an offset added.
  const spilled = asmProgram('s', ProgType.XDP, '*(u64 *)(r10 - 8) = r1\nr6 = *(u64 *)(r10 - 8)\nr6 += 4\nr2 = *(u32 *)(r6 + 0)\nr0 = *(u8 *)(r2 - 1)\nexit', []);
  const c = loadCollection(object([spilled]));
  const pkt = udpFrame(3);
  pkt[pkt.length - 1] = 0x5c;
  assert.equal(c.run('s', { packet: pkt }).retval, 0x5c, 'data_end via r6+4 is a real pointer');
  const oob = asmProgram('x', ProgType.XDP, 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 2000)\nexit', []);
  assert.throws(() => loadCollection(object([oob])).run('x', { packet: udpFrame() }), (e: unknown) => e instanceof VmError && e.kind === 'oob');
});

test('a helper the runtime does not implement fails at load with its name; a load-time mock makes it run', () => {
  const p = asmProgram('uses_sk_lookup', ProgType.SCHED_CLS, 'r2 = 0\nr3 = 0\nr4 = 0\nr5 = 0\ncall bpf_sk_lookup_tcp\nexit', []);
  assert.throws(() => loadCollection(object([p])), (e: unknown) => e instanceof VmError && /bpf_sk_lookup_tcp/.test(e.message) && /does not implement/.test(e.message));
  const c = loadCollection(object([p]), { helpers: { sk_lookup_tcp: () => 0n } });
  assert.equal(c.run('uses_sk_lookup', { packet: udpFrame() }).retval, 0);
});

test('helper mocks (fixed time, failing map update) and the call log', () => {
  const maps = [mapSpec('h', MapType.HASH, 4, 8, 4)];
  const p = asmProgram(
    'p',
    ProgType.RAW_TRACEPOINT,
    `
    call bpf_ktime_get_ns
    *(u64 *)(r10 - 8) = r0
    r1 = 7
    *(u32 *)(r10 - 12) = r1
    r1 = MAP(h) ll
    r2 = r10
    r2 += -12
    r3 = r10
    r3 += -8
    r4 = 0
    call bpf_map_update_elem
    exit`,
    maps,
  );
  const c = loadCollection(object([p], maps), { recordCalls: true });
  c.mockHelper('ktime_get_ns', () => 123456789n);
  assert.equal(c.run('p').retval, 0);
  assert.equal(new DataView(c.maps.h.lookup(u32Key(7))!.buffer).getBigUint64(0, true), 123456789n);
  c.mockHelper('map_update_elem', ({ original }) => {
    assert.ok(original);
    return -7;
  });
  assert.equal(c.run('p').retval64, BigInt.asUintN(64, -7n));
  assert.deepEqual(
    c.helperCalls.map((x) => x.name),
    ['ktime_get_ns', 'map_update_elem', 'ktime_get_ns', 'map_update_elem'],
  );
  assert.equal(c.helperCalls[1].args.length, 4);
  assert.equal(c.helperCalls[3].ret, BigInt.asUintN(64, -7n));
  c.restoreHelper('map_update_elem');
  assert.equal(c.run('p').retval, 0);
});

test('trace_printk formats like the kernel and goes to the run log', () => {
  const fmt = 'x=%d u=%u h=%x L=%llx s=%s ip=%pI4 %%\0';
  const words: string[] = [];
  const bytes = new TextEncoder().encode(fmt.padEnd(Math.ceil(fmt.length / 8) * 8, '\0'));
  for (let i = 0; i < bytes.length; i += 8) words.push(`r1 = 0x${Buffer.from(bytes.subarray(i, i + 8)).reverse().toString('hex')} ll\n*(u64 *)(r10 - ${bytes.length - i}) = r1`);
  // printk takes 3 args; this format has 6 conversions: the kernel refuses it (-EINVAL) — check both.
  const p = asmProgram('pk', ProgType.RAW_TRACEPOINT, `${words.join('\n')}\nr1 = r10\nr1 += -${bytes.length}\nr2 = ${fmt.length}\nr3 = -5\nr4 = 7\nr5 = 255\ncall bpf_trace_printk\nexit`, []);
  const c = loadCollection(object([p]));
  const r = c.run('pk');
  assert.equal(r.retval64, BigInt.asUintN(64, -22n));
  assert.deepEqual(r.printk, []);
  const fmt2 = 'x=%d u=%u h=%x\n\0';
  const b2 = new TextEncoder().encode(fmt2.padEnd(24, '\0'));
  const w2: string[] = [];
  for (let i = 0; i < 24; i += 8) w2.push(`r1 = 0x${Buffer.from(b2.subarray(i, i + 8)).reverse().toString('hex')} ll\n*(u64 *)(r10 - ${24 - i}) = r1`);
  const p2 = asmProgram('pk2', ProgType.RAW_TRACEPOINT, `${w2.join('\n')}\nr1 = r10\nr1 += -24\nr2 = ${fmt2.length}\nr3 = -5\nr4 = -1\nr5 = 255\ncall bpf_trace_printk\nexit`, []);
  const c2 = loadCollection(object([p2]));
  const r2 = c2.run('pk2');
  assert.deepEqual(r2.printk, ['x=-5 u=4294967295 h=ff']);
  assert.equal(r2.retval, 'x=-5 u=4294967295 h=ff\n'.length);
});

test('probe_read reads the simulated kernel memory; a bad address zeroes the buffer and gives -EFAULT', () => {
  const p = asmProgram(
    'pr',
    ProgType.KPROBE,
    `
    r6 = *(u64 *)(r1 + 112)
    r1 = -1
    *(u64 *)(r10 - 8) = r1
    r1 = r10
    r1 += -8
    r2 = 8
    r3 = r6
    call bpf_probe_read_kernel
    if r0 != 0 goto +2
    r0 = *(u64 *)(r10 - 8)
    exit
    r1 = *(u64 *)(r10 - 8)
    r0 += r1
    exit`,
    [],
  );
  const kmem = new Uint8Array(16);
  new DataView(kmem.buffer).setBigUint64(8, 0x1122334455667788n, true);
  const c = loadCollection(object([p]), { kernelMemory: [{ addr: 0xffff888000001000n, bytes: kmem }] });
  assert.equal(c.run('pr', { args: [0xffff888000001008n] }).retval64, 0x1122334455667788n);
  assert.equal(c.run('pr', { args: [0xffff888000002000n] }).retval64, BigInt.asUintN(64, -14n), 'EFAULT and a zeroed buffer');
});

test('tail calls through a prog array, bpf_loop with a callback', () => {
  const maps = [mapSpec('jmp', MapType.PROG_ARRAY, 4, 4, 2, { initialSlots: [{ index: 1, name: 'target' }] })];
  const entry = asmProgram('entry', ProgType.SOCKET_FILTER, 'r2 = MAP(jmp) ll\nr3 = 1\ncall bpf_tail_call\nr0 = 1\nexit', maps);
  const target = asmProgram('target', ProgType.SOCKET_FILTER, 'r0 = 77\nexit', maps);
  const c = loadCollection(object([entry, target], maps));
  assert.equal(c.run('entry', { packet: udpFrame() }).retval, 77);
  const loop = asmProgram(
    'loop',
    ProgType.RAW_TRACEPOINT,
    `
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r1 = 10
    r2 = 0x7ff0abcd ll
    r3 = r10
    r3 += -8
    r4 = 0
    call bpf_loop
    r1 = *(u64 *)(r10 - 8)
    r0 *= 1000
    r0 += r1
    exit
    r3 = *(u64 *)(r2 + 0)
    r3 += r1
    *(u64 *)(r2 + 0) = r3
    r0 = 0
    exit`,
    [],
  );
  // Point the lddw at the callback (pc 13) as clang's `lddw rX, func` does.
  loop.insns[3] = { ...loop.insns[3], src: 4, imm: 13 - 4 };
  loop.insns[4] = { ...loop.insns[4], imm: 0 };
  const c2 = loadCollection(object([loop]));
  assert.equal(c2.run('loop').retval, 10 * 1000 + 45);
});

test('ring buffer reserve/submit from a program, records read back through the reader', () => {
  const maps = [mapSpec('rb', MapType.RINGBUF, 0, 0, 4096)];
  const p = asmProgram(
    'rbp',
    ProgType.RAW_TRACEPOINT,
    `
    r6 = *(u64 *)(r1 + 0)
    r1 = MAP(rb) ll
    r2 = 8
    r3 = 0
    call bpf_ringbuf_reserve
    if r0 == 0 goto +4
    *(u64 *)(r0 + 0) = r6
    r1 = r0
    r2 = 0
    call bpf_ringbuf_submit
    r0 = 0
    exit`,
    maps,
  );
  const c = loadCollection(object([p], maps));
  for (let i = 0; i < 3; i++) c.run('rbp', { args: [BigInt(100 + i)] });
  const recs = (c.maps.rb as RingBufMap).reader().drain;
  const got: bigint[] = [];
  (c.maps.rb as RingBufMap).reader().drain((r) => got.push(new DataView(r.buffer).getBigUint64(0, true)));
  assert.ok(recs);
  assert.deepEqual(got, [100n, 101n, 102n]);
});

test('kprobe pt_regs, tracepoint records from a format, fexit arguments and return value', () => {
  const kp = asmProgram('kp', ProgType.KPROBE, 'r0 = *(u64 *)(r1 + 104)\nr2 = *(u64 *)(r1 + 112)\nr0 += r2\nexit', []);
  const tp = asmProgram('tp', ProgType.TRACEPOINT, 'r0 = *(u32 *)(r1 + 4)\nr2 = *(u8 *)(r1 + 8)\nr0 += r2\nexit', [], { attachTo: 'test/ev' });
  const fx = asmProgram('fx', ProgType.TRACING, 'r0 = *(u64 *)(r1 + 16)\nexit', []);
  const c = loadCollection(object([kp, tp, fx]), {
    tracepointFormats: {
      'test/ev': [
        { name: 'common_type', type: 'unsigned short', offset: 0, size: 2, signed: false },
        { name: 'common_pid', type: 'int', offset: 4, size: 4, signed: true },
        { name: 'flag', type: 'char', offset: 8, size: 1, signed: true },
      ],
    },
    task: { pid: 4000 },
  });
  assert.equal(c.run('kp', { args: [40, 2] }).retval, 42);
  assert.equal(c.run('tp', { fields: { flag: 2 } }).retval, 4002);
  assert.throws(() => c.run('tp', { fields: { nope: 1 } }), UsageError);
  assert.equal(c.run('fx', { args: [1, 2], ret: 99 }).retval, 99);
});

test('fib_lookup against the given routes; get_stackid from the task stack; redirect_map fallback', () => {
  const maps = [mapSpec('st', MapType.STACK_TRACE, 4, 32, 16), mapSpec('dev', MapType.DEVMAP, 4, 4, 4)];
  const fib = asmProgram(
    'fib',
    ProgType.XDP,
    `
    r6 = r1
    r2 = 0
    *(u64 *)(r10 - 64) = r2
    *(u64 *)(r10 - 56) = r2
    *(u64 *)(r10 - 48) = r2
    *(u64 *)(r10 - 40) = r2
    *(u64 *)(r10 - 32) = r2
    *(u64 *)(r10 - 24) = r2
    *(u64 *)(r10 - 16) = r2
    *(u64 *)(r10 - 8) = r2
    r2 = 2
    *(u8 *)(r10 - 64) = r2
    r2 = 0x0501a8c0
    *(u32 *)(r10 - 32) = r2
    r1 = r6
    r2 = r10
    r2 += -64
    r3 = 64
    r4 = 0
    call bpf_fib_lookup
    r1 = *(u32 *)(r10 - 56)
    r1 <<= 8
    r0 |= r1
    exit`,
    maps,
  );
  const sid = asmProgram('sid', ProgType.KPROBE, 'r2 = MAP(st) ll\nr3 = 1\ncall bpf_get_stackid\nexit', maps);
  const redir = asmProgram('redir', ProgType.XDP, 'r1 = MAP(dev) ll\nr2 = *(u32 *)(r1 + 0)\nr1 = MAP(dev) ll\nr2 = 3\nr3 = 2\ncall bpf_redirect_map\nexit', maps);
  // (the second lddw above is what matters; r2 is overwritten)
  redir.insns.splice(2, 1, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 });
  const c = loadCollection(object([fib, sid, redir], maps), {
    routes: [
      { dst: '0.0.0.0/0', ifindex: 2, gateway: '10.0.0.1', dmac: '02:00:00:00:00:01', smac: '02:00:00:00:00:02' },
      { dst: '192.168.1.0/24', ifindex: 5 },
    ],
    task: { kernelStack: [0xffffffff81000100n, 0xffffffff81000200n, 0xffffffff81000300n] },
  });
  const r = c.run('fib', { packet: udpFrame() });
  assert.equal(r.retval & 0xff, Uapi.BPF_FIB_LKUP_RET_NO_NEIGH, 'connected route without a neighbour');
  assert.equal(r.retval >> 8, 5, 'egress ifindex written back');
  const id = c.run('sid', {}).retval;
  assert.deepEqual((c.maps.st as StackTraceMap).stack(id), [0xffffffff81000200n, 0xffffffff81000300n], 'one frame skipped');
  assert.equal(c.run('redir', { packet: udpFrame() }).verdict, 'XDP_PASS', 'missing devmap key: fallback action');
  c.maps.dev.update(u32Key(3), u32Key(9));
  const rr = c.run('redir', { packet: udpFrame() });
  assert.equal(rr.verdict, 'XDP_REDIRECT');
  assert.deepEqual(rr.redirect, { ifindex: 9, flags: 2n, map: 'dev', key: 3 });
});

test('global data: direct value loads read and write the array map; .rodata-style maps are read-only', () => {
  const maps = [
    mapSpec('.data', MapType.ARRAY, 4, 16, 1, { contents: [{ key: u32Key(0), value: Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0) }] }),
    mapSpec('.rodata', MapType.ARRAY, 4, 8, 1, { flags: Uapi.BPF_F_RDONLY_PROG, contents: [{ key: u32Key(0), value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) }] }),
  ];
  const p = asmProgram('g', ProgType.RAW_TRACEPOINT, 'r1 = VALUE(.data, 8) ll\nr2 = *(u64 *)(r1 + 0)\nr3 = VALUE(.rodata, 0) ll\nr4 = *(u64 *)(r3 + 0)\nr2 += r4\n*(u64 *)(r1 + 0) = r2\nr0 = r2\nexit', maps);
  const c = loadCollection(object([p], maps));
  assert.equal(c.run('g').retval, 12);
  assert.equal(c.run('g').retval, 15);
  assert.equal(c.maps['.data'].lookup(u32Key(0))![8], 15);
  const w = asmProgram('w', ProgType.RAW_TRACEPOINT, 'r3 = VALUE(.rodata, 0) ll\nr4 = 1\n*(u64 *)(r3 + 0) = r4\nr0 = 0\nexit', maps);
  assert.throws(() => loadCollection(object([w], maps)).run('w'), (e: unknown) => e instanceof VmError && e.kind === 'perm');
});

test('skb context: fields from the packet, writable mark/cb read back, socket filters see the network header', () => {
  const tc = asmProgram('tc', ProgType.SCHED_CLS, 'r2 = 0x77\n*(u32 *)(r1 + 8) = r2\n*(u32 *)(r1 + 52) = r2\nr0 = *(u32 *)(r1 + 16)\nexit', []);
  const sf = asmProgram('sf', ProgType.SOCKET_FILTER, 'r0 = *(u32 *)(r1 + 0)\nexit', []);
  const c = loadCollection(object([tc, sf]));
  const pkt = udpFrame();
  const r = c.run('tc', { packet: pkt, ctx: { mark: 5, cb: [1, 2, 3, 4, 5] } });
  assert.equal(r.retval, 0x0008, 'protocol is the big-endian ethertype read little-endian');
  assert.equal(r.ctx!.mark, 0x77);
  assert.deepEqual(r.ctx!.cb, [1, 0x77, 3, 4, 5]);
  assert.equal(r.ctx!.pkt_type, 3, 'unicast to another MAC: PACKET_OTHERHOST');
  assert.equal(c.run('sf', { packet: pkt }).retval, pkt.length - 14);
  assert.throws(() => c.run('tc', { packet: pkt, ctx: { len: 3 } }), /cannot be set/);
  assert.throws(() => c.run('tc', { packet: pkt.subarray(0, 20) }), /shorter than its network header/);
});

test('per-CPU lookups follow the run CPU; bpf_get_smp_processor_id agrees', () => {
  const maps = [mapSpec('pc', MapType.PERCPU_ARRAY, 4, 8, 1)];
  const p = asmProgram(
    'cpu',
    ProgType.RAW_TRACEPOINT,
    `
    r1 = 0
    *(u32 *)(r10 - 4) = r1
    r1 = MAP(pc) ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0 goto +4
    r6 = r0
    call bpf_get_smp_processor_id
    r0 += 10
    *(u64 *)(r6 + 0) = r0
    r0 = 0
    exit`,
    maps,
  );
  const c = loadCollection(object([p], maps), { ncpus: 4 });
  c.run('cpu', { cpu: 2 });
  c.run('cpu', { cpu: 3 });
  assert.deepEqual(c.maps.pc.lookupPerCpu(u32Key(0))!.map((v) => v[0]), [0, 0, 12, 13]);
  assert.throws(() => c.run('cpu', { cpu: 4 }), /out of range/);
  assert.equal(keyU32(u32Key(5)), 5);
});
