/**
 * Program loading and views against the real kernel: verifier rejections (log, failing insn, source line),
 * log growth on ENOSPC, BPF_PROG_TEST_RUN, program info and run statistics, pinning, BPF iterators, and
 * Collections from the example objects (globals, prog arrays, map-in-map) compared with `bpftool prog loadall`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { HelperId } from '../../src/isa/helpers.js';
import { insn } from '../../src/isa/insn.js';
import { AttachType, MapType, ProgType } from '../../src/isa/uapi.js';
import type { ObjectSpec } from '../../src/spec/program.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { KernelProgram, loadInsns } from '../../src/kernel/load/program.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { globalVariables, setGlobal } from '../../src/kernel/load/globals.js';
import { attachRawTracepoint } from '../../src/kernel/link/raw-tracepoint.js';
import { attachIter } from '../../src/kernel/link/iter.js';
import { enableStats, objectIds } from '../../src/kernel/info/ids.js';
import { progInfo } from '../../src/kernel/info/info.js';
import { getpid } from '../../src/kernel/sys/net.js';
import { counterProgram, hasTool, readU32, readU64, run, u32 } from './fixtures.js';

const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) c.close();
});
const keep = <T extends { close(): void }>(x: T): T => (closers.push(x), x);

const EXAMPLES = new URL('../../../examples/build/', import.meta.url).pathname;

async function exampleSpec(name: string): Promise<ObjectSpec | string> {
  const path = `${EXAMPLES}${name}.bpf.o`;
  if (!existsSync(path)) return `${path} not built (scripts/build-examples.sh)`;
  const { loadObjectSpec } = await import('../../src/elf/object.js');
  const { Btf } = await import('../../src/btf/btf.js');
  try {
    return loadObjectSpec(readFileSync(path), { targetBtf: Btf.parse(readFileSync('/sys/kernel/btf/vmlinux'), { name: 'vmlinux' }) as never });
  } catch (e) {
    return `cannot parse ${name}: ${(e as Error).message}`;
  }
}

test('a rejected program throws KernelError EACCES with the verifier log and the failing insn', () => {
  const e = assert.throws(
    () => loadInsns(ProgType.XDP, [insn(0xb7, 0, 0, 0, 2), insn(0xbf, 0, 2), insn(0x95)], { name: 'bk_load_bad' }),
    (err: unknown) => {
      assert.ok(err instanceof KernelError);
      assert.equal(err.errnoName, 'EACCES');
      assert.equal(err.command, 'PROG_LOAD');
      assert.match(err.log ?? '', /R2 !read_ok/);
      assert.match(err.message, /insn 1/);
      assert.match(err.message, /R2 !read_ok/);
      assert.match(err.message, /verifier rejected/);
      return true;
    },
  );
  void e;
});

test('the failing instruction is mapped to its source line (program from an example object)', async (t) => {
  const spec = await exampleSpec('xdp_proto');
  if (typeof spec === 'string') return void t.skip(spec);
  const p = spec.programs[0]!;
  const first = p.lines?.findIndex((l) => l !== undefined) ?? -1;
  if (first < 0) return void t.skip('object has no line info');
  // Make the first instruction read an uninitialised register.
  const insns = p.insns.map((i) => ({ ...i }));
  insns[first] = insn(0xbf, 0, 7);
  const c = keep(Collection.load({ ...spec, programs: [] }));
  assert.throws(
    () => KernelProgram.load({ ...p, insns }, { maps: (n) => c.maps.get(n)?.fd }),
    (err: unknown) => err instanceof KernelError && /xdp_proto\.bpf\.c:\d+/.test(err.message) && /R7 !read_ok/.test(err.message),
  );
});

test('a tiny log buffer is grown (ENOSPC) and the log returned', () => {
  const p = keep(loadInsns(ProgType.SOCKET_FILTER, [insn(0xb7, 0, 0, 0, 0), insn(0x95)], { logLevel: 2, logSize: 16, name: 'bk_load_log' }));
  assert.match(p.verifierLog ?? '', /processed 2 insns/);
});

test('test_run: XDP data in/out, socket filter repeat and duration', () => {
  const xdp = keep(loadInsns(ProgType.XDP, [insn(0xb7, 0, 0, 0, 1), insn(0x95)], { name: 'bk_load_xdp' }));
  const data = Buffer.alloc(64, 0xab);
  const r = xdp.testRun({ data });
  assert.equal(r.retval, 1);
  assert.deepEqual(Buffer.from(r.data!), data);
  const sf = keep(loadInsns(ProgType.SOCKET_FILTER, [insn(0xb7, 0, 0, 0, 77), insn(0x95)], { name: 'bk_load_sf' }));
  const r2 = sf.testRun({ data, repeat: 1000 });
  assert.equal(r2.retval, 77);
  assert.ok(r2.duration >= 0);
  const tp = keep(loadInsns(ProgType.TRACEPOINT, [insn(0xb7, 0, 0, 0, 0), insn(0x95)], { name: 'bk_load_tp' }));
  assert.throws(() => tp.testRun({ data }), (e: unknown) => e instanceof KernelError && e.command === 'PROG_TEST_RUN');
});

test('program info: tag, xlated insns, map ids; run statistics when enabled', () => {
  const map = keep(KernelMap.create({ name: 'bk_load_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 }));
  const prog = keep(loadInsns(ProgType.RAW_TRACEPOINT, counterProgram(map.fd, { tgid: process.pid }), { name: 'bk_load_info' }));
  const info = prog.info({ xlated: true });
  assert.match(info.tag, /^[0-9a-f]{16}$/);
  assert.equal(info.name, 'bk_load_info');
  assert.equal(info.typeName, 'raw_tracepoint');
  assert.deepEqual(info.mapIds, [map.id]);
  assert.equal(info.xlated!.length, info.xlatedLen);
  assert.ok(info.xlatedInsns >= counterProgram(0, { tgid: 1 }).length - 2);
  assert.ok([...objectIds('prog')].includes(info.id));
  assert.equal(KernelProgram.fromId(info.id).close(), undefined);
  const stats = enableStats();
  try {
    const link = attachRawTracepoint(prog, 'sys_enter');
    for (let i = 0; i < 50; i++) getpid();
    link.close();
    const after = progInfo(prog.fd);
    assert.ok(after.runCount >= 50n, `run_cnt ${after.runCount}`);
    assert.ok(after.runTimeNs > 0n);
  } finally {
    stats.close();
  }
});

test('pin a program and open it from the pin', () => {
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-load`;
  const p = keep(loadInsns(ProgType.SOCKET_FILTER, [insn(0xb7, 0, 0, 0, 5), insn(0x95)], { name: 'bk_load_pin' }));
  p.pin(`${dir}/p`);
  try {
    const again = keep(KernelProgram.fromPin(`${dir}/p`));
    assert.equal(again.id, p.id);
    assert.equal(again.testRun({ data: Buffer.alloc(20) }).retval, 5);
  } finally {
    p.unpin();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => KernelProgram.fromPin(`${dir}/p`), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
});

test('iter/task: one line per task, read as a whole and as a stream', async (t) => {
  // r6 = ctx->meta; r7 = ctx->task; if !task exit; bpf_seq_write(meta->seq, "t\n", 2)
  const code = [
    insn(0x79, 6, 1, 0, 0),
    insn(0x79, 7, 1, 8, 0),
    insn(0x15, 7, 0, 6, 0),
    insn(0x79, 1, 6, 0, 0),
    insn(0x6a, 10, 0, -8, 0x0a74),
    insn(0xbf, 2, 10),
    insn(0x07, 2, 0, 0, -8),
    insn(0xb7, 3, 0, 0, 2),
    insn(0x85, 0, 0, 0, HelperId.seq_write!),
    insn(0xb7, 0, 0, 0, 0),
    insn(0x95),
  ];
  let prog: KernelProgram;
  try {
    prog = keep(loadInsns(ProgType.TRACING, code, { expectedAttachType: AttachType.TRACE_ITER, attachTo: 'task', name: 'bk_load_iter' }));
  } catch (e) {
    if (e instanceof KernelError && e.errnoName === 'EPERM') return void t.skip(`iterators refused: ${e.message}`);
    throw e;
  }
  const link = keep(attachIter(prog));
  const text = link.readText();
  const lines = text.split('\n').filter(Boolean);
  assert.ok(lines.length > 10, `${lines.length} tasks`);
  assert.ok(lines.every((l) => l === 't'));
  let streamed = 0;
  for await (const chunk of link.stream(64)) streamed += chunk.length;
  assert.ok(streamed > 20);
  assert.equal(link.info().typeName, 'iter');
  assert.equal(link.info().details.target_name, 'task');
});

test('Collection: globals (.rodata set before load, frozen), .data/.bss/.kconfig initialised', async (t) => {
  const spec = await exampleSpec('globals');
  if (typeof spec === 'string') return void t.skip(spec);
  const vars = globalVariables(spec).map((v) => v.name);
  assert.ok(vars.includes('multiplier') && vars.includes('total'), vars.join(','));
  setGlobal(spec, 'multiplier', 5);
  setGlobal(spec, 'threshold', 1_000_000n);
  const c = keep(Collection.load(spec));
  assert.deepEqual(c.warnings, []);
  const rodata = c.maps.get('.rodata')!;
  assert.throws(() => rodata.update(u32(0), rodata.lookup(u32(0))!), (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM');
  const prog = c.program('socket_globals');
  // skb test runs pull the 14-byte Ethernet header: skb->len = 86.
  const r = prog.testRun({ data: Buffer.alloc(100) });
  assert.equal(r.retval, 86);
  // accumulate(86): total = 7 + 86 * multiplier(5) = 437, calls = 1 (.bss).
  const data = c.maps.get('.data')!.lookup(u32(0))!;
  const total = globalVariables(spec).find((v) => v.name === 'total')!;
  assert.equal(readU64(data.subarray(total.offset, total.offset + 8)), 437n);
  const bss = c.maps.get('.bss')!.lookup(u32(0))!;
  const calls = globalVariables(spec).find((v) => v.name === 'calls')!;
  assert.equal(readU32(bss.subarray(calls.offset, calls.offset + 4)), 1);
  // The raw_tp program uses .kconfig: LINUX_KERNEL_VERSION lands in results[1].
  const link = attachRawTracepoint(c.program('use_globals'), 'sys_enter');
  getpid();
  link.close();
  const kv = readU64(c.map('results').lookup(u32(1)));
  assert.ok(kv > 0x60000n, `kernel version ${kv.toString(16)}`);
});

test('Collection: prog array and map-in-map initialised from the object; tail call runs', async (t) => {
  const spec = await exampleSpec('tailcall_mim');
  if (typeof spec === 'string') return void t.skip(spec);
  const c = keep(Collection.load(spec));
  const r = c.program('tail_entry').testRun({ data: Buffer.alloc(60) });
  assert.equal(r.retval, 60 - 14, 'tail call reached tail_target (skb->len after the Ethernet header)');
  assert.equal(readU64(c.map('inner0').lookup(u32(1))), 1n);
  // The same through the object's BTF: __u32 key, __u64 value as JS values.
  const typed = c.typedMap<number, bigint>('inner0');
  assert.equal(typed.get(1), 1n);
  assert.deepEqual([...typed.entries()], [[1, 1n]]);
  assert.equal(readU32(c.map('outer').lookup(u32(0))), c.map('inner0').id);
  assert.equal(readU32(c.map('outer').lookup(u32(2))), c.map('inner1').id);
  assert.equal(c.map('outer').lookup(u32(1)), undefined);
});

test('Collection: maps pinned by name are reused when compatible, refused when not', () => {
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-pins`;
  const spec: ObjectSpec = {
    programs: [],
    license: 'GPL',
    maps: [{ name: 'shared', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0, pinning: 1 }],
  };
  try {
    const a = Collection.load(spec, { pinPath: dir });
    a.map('shared').update(u32(1), u32(2));
    a.close();
    const b = keep(Collection.load(spec, { pinPath: dir }));
    assert.equal(readU32(b.map('shared').lookup(u32(1))), 2);
    const bad: ObjectSpec = { ...spec, maps: [{ ...spec.maps[0]!, valueSize: 8 }] };
    assert.throws(() => Collection.load(bad, { pinPath: dir }), (e: unknown) => e instanceof KernelError && /incompatible/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every example object loads; program types, insn counts and maps match bpftool prog loadall', async (t) => {
  if (!existsSync(EXAMPLES)) return void t.skip('examples not built');
  const { readdirSync } = await import('node:fs');
  const objects = readdirSync(EXAMPLES).filter((f) => f.endsWith('.bpf.o'));
  if (!objects.length) return void t.skip('examples not built');
  const bpftool = hasTool('bpftool');
  for (const file of objects) {
    const name = file.replace(/\.bpf\.o$/, '');
    const spec = await exampleSpec(name);
    if (typeof spec === 'string') {
      t.diagnostic(`${name}: ${spec}`);
      continue;
    }
    const c = Collection.load(spec, { skipFailedPrograms: true });
    try {
      for (const [p, e] of c.failures) {
        // Only kernel refusals of attach kinds this machine lacks are acceptable.
        assert.ok(e instanceof KernelError && ['EPERM', 'EINVAL', 'ENOENT'].includes(e.errnoName), `${name}/${p}: ${e.message}`);
        t.diagnostic(`${name}/${p} not loaded: ${e.message}`);
      }
      assert.ok(c.programs.size > 0, `${name}: no program loaded`);
      if (!bpftool) continue;
      const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-${name}`;
      const r = run('bpftool', ['prog', 'loadall', `${EXAMPLES}${file}`, dir]);
      try {
        if (r.status !== 0) {
          t.diagnostic(`bpftool prog loadall ${file} failed: ${r.stderr.trim().split('\n').pop()}`);
          continue;
        }
        for (const [pname, prog] of c.programs) {
          const pinned = `${dir}/${pname}`;
          if (!existsSync(pinned)) continue;
          const theirs = keep(KernelProgram.fromPin(pinned));
          const a = prog.info();
          const b = theirs.info();
          assert.equal(a.typeName, b.typeName, `${name}/${pname} type`);
          assert.equal(a.xlatedInsns, b.xlatedInsns, `${name}/${pname} xlated insns`);
          const shape = (ids: number[]) =>
            ids
              .map((id) => {
                const m = KernelMap.fromId(id);
                // libbpf packs .kconfig to the last extern's end, src/elf rounds it: compare all but its size.
                const kconfig = m.name.endsWith('.kconfig');
                if (kconfig) t.diagnostic(`${name}/${pname}: .kconfig value size ${m.valueSize}`);
                const s = `${m.type}/${m.keySize}/${kconfig ? '*' : m.valueSize}/${m.maxEntries}`;
                m.close();
                return s;
              })
              .sort();
          assert.deepEqual(shape(a.mapIds), shape(b.mapIds), `${name}/${pname} maps`);
          theirs.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      c.close();
    }
  }
});
