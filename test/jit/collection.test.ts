// Engine parity on real objects: the example programs and the programs of test/parity/progs (packet parsing,
// rewrites, checksums, adjust_head/tail/meta, VLANs, maps of every kind, ring buffers, tail calls, bpf_loop,
// LD_ABS) loaded with loadCollection(..., { engine }) give identical results on the interpreter and the JIT over
// 250 generated packets: return values, output packets, context fields, printk lines, events, instruction
// counts and final map contents.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadObjectSpec } from '../../src/elf/object.js';
import { MapType } from '../../src/isa/uapi.js';
import { loadCollection, type Collection } from '../../src/vm/collection.js';
import type { VmEngine } from '../../src/vm/vm.js';
import { RingBufMap } from '../../src/vm/maps/ringbuf.js';
import { generatePackets } from '../fixtures/packets.js';
import { compileProgs, removeDir } from '../parity/harness.js';

const root = process.cwd();
const examples = join(root, 'examples/build');
const progSrc = join(root, 'test/parity/progs');
const packets = generatePackets(250, 7).map((p) => p.data);

function clangMissing(): string | undefined {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'clang not installed';
  }
  return existsSync('/usr/include/bpf/bpf_helpers.h') ? undefined : 'libbpf headers (libbpf-dev) missing';
}
const noClang = clangMissing();
let built = '';
before(() => {
  if (!noClang) built = compileProgs(progSrc);
});
after(() => {
  if (built) removeDir(built);
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? hex(v) : v);

function lpmKey(prefix: number, a: number, b: number, c: number, d: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, prefix, true);
  k.set([a, b, c, d], 4);
  return k;
}
const SETUP: Record<string, (c: Collection) => void> = {
  xdp_maps: (c) => {
    for (const [p, a, b, cc, d] of [
      [1, 0, 0, 0, 0],
      [8, 10, 0, 0, 0],
      [16, 192, 168, 0, 0],
      [32, 8, 8, 8, 8],
    ] as const) {
      c.maps['routes']!.update(lpmKey(p, a, b, cc, d), new Uint8Array(8));
    }
  },
};

/** Everything observable of running `prog` of `file` on the packets (or argument sets) with `engine`. */
function observe(file: string, prog: string, engine: VmEngine, argSets?: bigint[][]): string[] {
  const c = loadCollection(loadObjectSpec(readFileSync(file)), { engine, ncpus: 2, cpu: 0 });
  SETUP[prog]?.(c);
  const out: string[] = [];
  const runOne = (input: Parameters<Collection['run']>[1]) => {
    try {
      out.push(JSON.stringify(c.run(prog, input), replacer));
    } catch (e) {
      out.push(`error ${(e as Error).constructor.name}: ${(e as Error).message}`);
    }
  };
  if (argSets) for (const args of argSets) runOne({ args });
  else for (const packet of packets) runOne({ packet });
  for (const [name, m] of Object.entries(c.maps)) {
    if (m instanceof RingBufMap) {
      const recs: string[] = [];
      m.reader().drain((r) => recs.push(hex(r)));
      out.push(`ringbuf ${name}: ${recs.join(' ')}`);
      continue;
    }
    // Skipped: maps holding object ids (a global counter, different for each load) and streams.
    const skip: number[] = [MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.QUEUE, MapType.STACK];
    if (skip.includes(m.type)) continue;
    const e: string[] = [];
    for (const [k, v] of m.entries()) e.push(`${hex(k)}=${hex(v)}`);
    out.push(`map ${name}: ${e.join(' ')}`);
  }
  return out;
}

function same(file: string, prog: string, argSets?: bigint[][]): void {
  const a = observe(file, prog, 'interp', argSets);
  const b = observe(file, prog, 'jit', argSets);
  assert.ok(a.length >= 200);
  for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i], `${prog}: result #${i} differs`);
  assert.ok(a.some((x) => !x.startsWith('error')), `${prog}: every run failed`);
}

const EXAMPLE_CASES: [string, string][] = [
  ['xdp_proto', 'xdp_count_proto'],
  ['tc_filter', 'tc_count_mark'],
  ['tc_filter', 'tc_drop_port'],
  ['sock_cgroup', 'sock_count'],
  ['sock_cgroup', 'cg_ingress'],
  ['legacy_maps', 'legacy_prog'],
  ['tailcall_mim', 'tail_entry'],
  ['globals', 'socket_globals'],
];
const PROG_CASES: [string, string][] = [
  ['xdp_rewrite', 'xdp_reflect'],
  ['xdp_adjust', 'xdp_resize'],
  ['tc_nat', 'tc_dnat'],
  ['tc_vlan_tail', 'tc_vlan'],
  ['maps_mix', 'xdp_maps'],
  ['sk_filter_load', 'sk_load'],
  ['xdp_csum', 'xdp_csum'],
  ['tc_loop_tail', 'tc_entry'],
  ['ringbuf_out', 'xdp_ringbuf'],
  ['tc_hash_misc', 'tc_hash'],
];

for (const [obj, prog] of EXAMPLE_CASES) {
  const file = join(examples, `${obj}.bpf.o`);
  test(`engines agree: examples/${obj} ${prog}`, { skip: !existsSync(file) && 'examples not built (scripts/build-examples.sh)' }, () => same(file, prog));
}
test('engines agree: examples raw_tp programs on 200 argument sets', { skip: !existsSync(join(examples, 'globals.bpf.o')) && 'examples not built' }, () => {
  const argSets = Array.from({ length: 200 }, (_, i) => [BigInt(i), BigInt(i * 3), 0xffffffff00000000n + BigInt(i)]);
  same(join(examples, 'globals.bpf.o'), 'use_globals', argSets);
  same(join(examples, 'count_calls.bpf.o'), 'count_sys_enter', argSets);
});
for (const [obj, prog] of PROG_CASES) {
  test(`engines agree: progs/${obj} ${prog}`, { skip: noClang }, () => same(join(built, `${obj}.bpf.o`), prog));
}
