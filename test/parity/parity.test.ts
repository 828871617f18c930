// Parity with the kernel: every example program BPF_PROG_TEST_RUN can run, plus the programs of
// test/parity/progs (parsing, header rewrites, checksums, adjust_head/tail/meta, VLANs, maps of each kind, ring
// buffers, tail calls, bpf_loop, LD_ABS), run on the same 250 generated packets (Ethernet, VLAN, IPv4/IPv6,
// TCP/UDP/ICMP, fragments, truncated) in the kernel and in the userspace runtime: return values, output packets,
// the __sk_buff fields the kernel reports back and the final map contents must be identical.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generatePackets } from '../fixtures/packets.js';
import { compileProgs, parityUnavailable, removeDir, runParity, type ParityCase } from './harness.js';

const root = process.cwd();
const examples = join(root, 'examples/build');
const progSrc = join(root, 'test/parity/progs');
const unavailable = parityUnavailable();
const packets = generatePackets(250, 7).map((p) => p.data);
let built = '';

before(() => {
  if (!unavailable) built = compileProgs(progSrc);
});
after(() => {
  if (built) removeDir(built);
});

function lpmKey(prefix: number, a: number, b: number, c: number, d: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, prefix, true);
  k.set([a, b, c, d], 4);
  return k;
}

const EXAMPLE_CASES: [string, string][] = [
  ['xdp_proto', 'xdp_count_proto'],
  ['tc_filter', 'tc_count_mark'],
  ['tc_filter', 'tc_drop_port'],
  ['sock_cgroup', 'sock_count'],
  ['sock_cgroup', 'cg_ingress'],
  ['sock_cgroup', 'cg_egress'],
  ['legacy_maps', 'legacy_prog'],
  ['tailcall_mim', 'tail_entry'],
  ['globals', 'socket_globals'],
];

const PROG_CASES: [string, string, Partial<ParityCase>?][] = [
  ['xdp_rewrite', 'xdp_reflect'],
  ['xdp_adjust', 'xdp_resize'],
  ['tc_nat', 'tc_dnat'],
  ['tc_vlan_tail', 'tc_vlan'],
  [
    'maps_mix',
    'xdp_maps',
    {
      setup: (maps) => {
        const routes = maps('routes');
        const v = new Uint8Array(8);
        for (const [p, a, b, c, d] of [
          [1, 0, 0, 0, 0],
          [8, 10, 0, 0, 0],
          [12, 172, 16, 0, 0],
          [16, 192, 168, 0, 0],
          [24, 192, 168, 1, 0],
          [32, 8, 8, 8, 8],
          [25, 10, 0, 0, 128],
        ]) routes.update(lpmKey(p, a, b, c, d), v);
      },
    },
  ],
  ['sk_filter_load', 'sk_load'],
  ['xdp_csum', 'xdp_csum'],
  ['tc_loop_tail', 'tc_entry'],
  ['ringbuf_out', 'xdp_ringbuf'],
  ['tc_hash_misc', 'tc_hash'],
];

function check(c: ParityCase): void {
  const r = runParity(c);
  assert.ok(r.runs >= 200, `ran ${r.runs} inputs`);
  assert.deepEqual(r.diffs, [], `${c.program}: ${r.diffs.length} differences`);
}

for (const [obj, prog] of EXAMPLE_CASES) {
  const file = join(examples, `${obj}.bpf.o`);
  test(`parity: examples/${obj} ${prog}`, { skip: unavailable ?? (!existsSync(file) && 'examples not built (scripts/build-examples.sh)') }, () => {
    check({ object: file, program: prog, packets });
  });
}

test('parity: examples raw_tp programs on 200 argument sets', { skip: unavailable ?? (!existsSync(join(examples, 'globals.bpf.o')) && 'examples not built') }, () => {
  const argSets = Array.from({ length: 200 }, (_, i) => [BigInt(i), BigInt(i * 3), 0xffffffff00000000n + BigInt(i)]);
  check({ object: join(examples, 'globals.bpf.o'), program: 'use_globals', argSets });
  check({ object: join(examples, 'count_calls.bpf.o'), program: 'count_sys_enter', argSets });
});

for (const [obj, prog, extra] of PROG_CASES) {
  test(`parity: progs/${obj} ${prog}`, { skip: unavailable }, () => {
    check({ object: join(built, `${obj}.bpf.o`), program: prog, packets, ...extra });
  });
}
