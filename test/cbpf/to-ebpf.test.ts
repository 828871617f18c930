import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProgram } from '../../src/isa/insn.js';
import { assembleClassic, classicToEbpf, compileFilter, EbpfFilterRunner, runClassic } from '../../src/cbpf/index.js';
import { CbpfError } from '../../src/errors.js';
import { generatePackets } from '../fixtures/packets.js';
import { FILTER_CORPUS } from './corpus.js';

test('every compiled corpus filter translates to valid eBPF', () => {
  for (const expr of FILTER_CORPUS) validateProgram(classicToEbpf(compileFilter(expr)));
});

test('translation keeps classic semantics in the VM: ALU edge cases, scratch memory, jumps', () => {
  const progs = [
    'ld #10\nldx #0\ndiv x\nret #7',
    'ld #10\nldx #0\nmod x\nret #7',
    'ld #0xfffffff0\njgt #0x80000000, y, n\ny: ret #1\nn: ret #2',
    'ld #0x7fffffff\njge #0xffffffff, y, n\ny: ret #1\nn: ret #2',
    'ld #3\nst M[15]\nldx #4\nstx M[0]\nld M[0]\nldx M[15]\nmul x\nret a',
    'ld #1\nneg\nrsh #28\nret a',
    'ldb [0]\njset #0x40, y, n\ny: ld #len\nret a\nn: ret #0',
    'ldxb 4*([0]&0xf)\nld [x + 0]\nret a',
    'ld #5\njeq #5, y, n\ny: ret #1\nn: ret #2',
    'ldh [2]\njeq #0x0102, n, y\ny: ret #3\nn: ret #4',
    'ld #1\nja skip\nld #2\nskip: ret a',
  ];
  const data = Uint8Array.from([0x45, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  for (const src of progs) {
    const prog = assembleClassic(src);
    assert.equal(new EbpfFilterRunner(classicToEbpf(prog)).run(data), runClassic(prog, data), src);
  }
});

test('ancillary loads read __sk_buff fields; kernel-internal ones are refused', () => {
  const ctx = { protocol: 0x86dd, pktType: 3, ifindex: 9, mark: 77, queue: 2, rxhash: 0xabcdef, vlanTci: 0x123, vlanPresent: true, vlanTpid: 0x88a8, cpu: 1, random: () => 0.25 };
  for (const ext of ['proto', 'type', 'ifidx', 'mark', 'queue', 'rxhash', 'vlan_tci', 'vlan_avail', 'vlan_tpid', 'cpu', 'rand']) {
    const prog = assembleClassic(`ld #${ext}\nret a`);
    const r = new EbpfFilterRunner(classicToEbpf(prog));
    assert.equal(r.run(new Uint8Array(20), { ctx }), runClassic(prog, new Uint8Array(20), { ctx }), ext);
  }
  for (const ext of ['hatype', 'nla', 'nlan', 'poff']) {
    assert.throws(() => classicToEbpf(assembleClassic(`ld #${ext}\nret a`)), CbpfError, ext);
  }
});

test('truncated captures: len is the wire length, loads stop at the captured bytes', () => {
  const pkts = generatePackets(400, 21).filter((p) => p.origLen !== undefined);
  assert.ok(pkts.length > 5);
  for (const expr of ['greater 100', 'tcp port 80', 'ip[2:2] > 100', 'len - 14 = ip[2:2]']) {
    const prog = compileFilter(expr);
    const r = new EbpfFilterRunner(classicToEbpf(prog));
    for (const p of pkts) assert.equal(r.run(p.data, { wireLen: p.origLen }), runClassic(prog, p.data, { wireLen: p.origLen }), expr);
  }
});
