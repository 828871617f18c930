import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assembleClassic,
  disassembleClassic,
  decodeFilter,
  encodeFilter,
  validateFilter,
  runClassic,
  formatDump,
  formatDumpC,
  formatDumpDecimal,
  parseDumpDecimal,
  stmt,
  jump,
  ClassicOp,
  SKF_AD_OFF,
  SkfAd,
  SKF_NET_OFF,
  SKF_LL_OFF,
} from '../../src/cbpf/index.js';
import { CbpfError } from '../../src/errors.js';

const asm = (s: string) => assembleClassic(s);

test('struct sock_filter encoding: 8 bytes, u16 code, u8 jt, u8 jf, u32 k', () => {
  const prog = [jump(0x15, 0x800, 1, 2), stmt(0x06, 0xffffffff)];
  const bytes = encodeFilter(prog);
  assert.deepEqual([...bytes], [0x15, 0, 1, 2, 0, 8, 0, 0, 0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(decodeFilter(bytes), prog);
  assert.throws(() => decodeFilter(new Uint8Array(7)), CbpfError);
});

test('bpf_asm syntax: every instruction form assembles and round-trips through the disassembler', () => {
  const src = `
    ; comment
    ld #len
    ldx #len
    ld #proto
    ldh #vlan_tci
    ldb #type
    ld #0x10
    ldi #5
    ldx #7
    ldxi 8
    ld M[1]
    ldx M[2]
    st M[1]
    stx M[2]
    ld [14]
    ldh [x + 2]
    ldb [%x + 3]
    ldxb 4*([14]&0xf)
    ldx 4*([14]&0xf)
    add #1
    sub x
    mul #3
    div #2
    mod x
    and #0xff
    or x
    xor #0b101
    lsh #2
    rsh %x
    neg
    tax
    txa
    jeq #1, a, b
a:  jgt x, b
    jne #3, b
b:  jlt #4, c
    jle x, c
    jset #8, c, c
c:  jge #010, d, d
d:  ja e
e:  ret a
    ret x
    ret #65535
  `;
  const prog = asm(src);
  assert.equal(prog.length, 42);
  assert.equal(prog[0]!.code, ClassicOp.LD_W_LEN);
  assert.equal(prog[2]!.k, (SKF_AD_OFF + SkfAd.PROTOCOL) >>> 0);
  assert.deepEqual(prog[31]!, { code: 0x15, jt: 0, jf: 2, k: 1 }); // jeq #1, a, b
  assert.deepEqual(prog[32]!, { code: 0x2d, jt: 1, jf: 0, k: 0 }); // jgt x, b (falls through when false)
  assert.deepEqual(prog[33]!, { code: 0x15, jt: 0, jf: 0, k: 3 }); // jne = jeq with only jf
  assert.deepEqual(prog[34]!, { code: 0x35, jt: 0, jf: 2, k: 4 }); // jlt = jge with only jf
  assert.equal(prog[36]!.code, 0x45);
  assert.equal(prog[37]!.k, 8); // octal 010
  assert.equal(prog[25]!.k, 5); // 0b101
  assert.equal(prog[38]!.k, 0); // ja to the next instruction
  const text = disassembleClassic(prog);
  assert.deepEqual(asm(text), prog);
});

test('assembler errors name the line and column', () => {
  assert.throws(() => asm('ld [1]\nfoo #1\n'), /line 2:1: unknown instruction 'foo'/);
  assert.throws(() => asm('jeq #1, nowhere\nret #0'), /no such label 'nowhere'/);
  assert.throws(() => asm('ldh [x + ]'), /line 1:10: expected a number/);
  assert.throws(() => asm('ldxb 3*([1]&0xf)'), /only 4\*\(\[k\]&0xf\)/);
});

test('validateFilter applies the kernel classic checker rules', () => {
  const ok = asm('ldh [12]\njeq #0x800, y, n\ny: ret #1\nn: ret #0');
  validateFilter(ok);
  assert.throws(() => validateFilter([]), /empty/);
  assert.throws(() => validateFilter(asm('ld [0]')), /last instruction is not a ret/);
  assert.throws(() => validateFilter(asm('div #0\nret #0')), /division by constant zero/);
  assert.throws(() => validateFilter(asm('lsh #32\nret #0')), /shift by 32/);
  assert.throws(() => validateFilter(asm('ld M[3]\nret a')), /M\[3\] is read before it is written/);
  assert.throws(() => validateFilter([stmt(0x60, 16), stmt(6, 0)]), /M\[16\]/);
  assert.throws(() => validateFilter([jump(0x15, 0, 5, 0), stmt(6, 0)]), /past the end/);
  assert.throws(() => validateFilter([stmt(0xff), stmt(6, 0)]), /unknown opcode 0xff/);
  assert.throws(() => validateFilter(asm('ret x')), /ret x/);
  validateFilter(asm('ret x'), { allowRetX: true });
  assert.throws(() => validateFilter([stmt(0x20, (SKF_AD_OFF + 64) >>> 0), stmt(6, 0)]), /unknown ancillary/);
  assert.throws(() => validateFilter([stmt(0x20, (SKF_AD_OFF + 0) >>> 0), stmt(6, 0)], { noAncillary: true }), /not allowed/);
  // M[k] written on one path only.
  assert.throws(() => validateFilter(asm('ld [0]\njeq #1, w, r\nw: st M[0]\nr: ld M[0]\nret a')), /read before/);
});

test('interpreter: loads, ALU, jumps and returns', () => {
  const pkt = Uint8Array.from([0x45, 0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd, 0xfc, 0x12]);
  const run = (src: string, data = pkt, wireLen?: number) => runClassic(asm(src), data, { wireLen });
  assert.equal(run('ld [0]\nret a'), 0x45000102);
  assert.equal(run('ldh [4]\nret a'), 0xfffe);
  assert.equal(run('ldb [8]\nret a'), 0x12);
  assert.equal(run('ldx #2\nldh [x + 2]\nret a'), 0xfffe);
  assert.equal(run('ldxb 4*([0]&0xf)\ntxa\nret a'), 20);
  assert.equal(run('ld #len\nret a', pkt, 1500), 1500);
  assert.equal(run('ldx #len\ntxa\nret a'), 9);
  assert.equal(run('ld #7\nst M[3]\nld #1\nldx M[3]\nadd x\nret a'), 8);
  assert.equal(run('ld #0xffffffff\nadd #2\nret a'), 1);
  assert.equal(run('ld #3\nsub #5\nret a'), 0xfffffffe);
  assert.equal(run('ld #0x10000\nmul #0x10000\nret a'), 0);
  assert.equal(run('ld #7\ndiv #2\nret a'), 3);
  assert.equal(run('ld #7\nmod #4\nret a'), 3);
  assert.equal(run('ld #1\nneg\nret a'), 0xffffffff);
  assert.equal(run('ld #1\nlsh #31\nret a'), 0x80000000);
  assert.equal(run('ld #0x80000000\nrsh #31\nret a'), 1);
  assert.equal(run('ld #6\nxor #3\nor #8\nand #0xd\nret a'), 13);
  assert.equal(run('ld #5\ntax\nld #0\ntxa\nret a'), 5);
  assert.equal(run('ld #0x80000000\njgt #0x7fffffff, y, n\ny: ret #1\nn: ret #2'), 1, 'unsigned compare');
  assert.equal(run('ld #5\njge #5, y, n\ny: ret #1\nn: ret #2'), 1);
  assert.equal(run('ld #5\njset #2, y, n\ny: ret #1\nn: ret #2'), 2);
  assert.equal(run('ldx #5\nld #5\njeq x, y, n\ny: ret #1\nn: ret #2'), 1);
  assert.equal(run('ja over\nret #9\nover: ret #3'), 3);
});

test('interpreter: out-of-bounds loads and division by zero end with 0', () => {
  const pkt = new Uint8Array(10);
  const run = (src: string) => runClassic(asm(src), pkt);
  assert.equal(run('ld [7]\nret #1'), 0);
  assert.equal(run('ld [6]\nret #1'), 1);
  assert.equal(run('ldh [9]\nret #1'), 0);
  assert.equal(run('ldx #8\nldh [x + 1]\nret #1'), 0);
  assert.equal(run('ldx #0xffffffff\nldb [x + 1]\nret #1'), 0, 'X + k overflow');
  assert.equal(run('ldxb 4*([10]&0xf)\nret #1'), 0);
  assert.equal(run('ld #5\nldx #0\ndiv x\nret #1'), 0);
  assert.equal(run('ld #5\nldx #0\nmod x\nret #1'), 0);
  assert.equal(run('ld #5\nldx #40\nlsh x\nret a'), 0, 'libpcap: shift by X >= 32 gives 0');
});

test('interpreter: ancillary loads and negative offsets', () => {
  const pkt = Uint8Array.from([...new Array(14).fill(0), 0x45, 1, 2, 3]);
  const ctx = { protocol: 0x0800, pktType: 4, ifindex: 7, mark: 0xdead, queue: 3, hatype: 1, rxhash: 0x1234, cpu: 1, vlanTci: 100, vlanPresent: true, vlanTpid: 0x8100, payOffset: 34, random: () => 0.5 };
  const run = (src: string) => runClassic(asm(src), pkt, { ctx });
  assert.equal(run('ld #proto\nret a'), 0x0800);
  assert.equal(run('ld #type\nret a'), 4);
  assert.equal(run('ld #ifidx\nret a'), 7);
  assert.equal(run('ld #mark\nret a'), 0xdead);
  assert.equal(run('ld #queue\nret a'), 3);
  assert.equal(run('ld #hatype\nret a'), 1);
  assert.equal(run('ld #rxhash\nret a'), 0x1234);
  assert.equal(run('ld #cpu\nret a'), 1);
  assert.equal(run('ld #vlan_tci\nret a'), 100);
  assert.equal(run('ld #vlan_avail\nret a'), 1);
  assert.equal(run('ld #vlan_tpid\nret a'), 0x8100);
  assert.equal(run('ld #poff\nret a'), 34);
  assert.equal(run('ld #rand\nret a'), 0x80000000);
  assert.equal(runClassic([stmt(ClassicOp.LD_IMM, 6), stmt(ClassicOp.LDX_IMM, 3), stmt(ClassicOp.LD_W_ABS, (SKF_AD_OFF + SkfAd.ALU_XOR_X) >>> 0), stmt(ClassicOp.RET_A)], pkt), 5);
  assert.equal(runClassic([stmt(ClassicOp.LD_B_ABS, (SKF_NET_OFF + 0) >>> 0), stmt(ClassicOp.RET_A)], pkt), 0x45);
  assert.equal(runClassic([stmt(ClassicOp.LD_B_ABS, (SKF_LL_OFF + 15) >>> 0), stmt(ClassicOp.RET_A)], pkt), 1);
  // Netlink attribute search: attrs (len, type) at offset 0 of the data.
  const nl = Uint8Array.from([8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd, 8, 0, 2, 0, 1, 2, 3, 4]);
  const nla = (x: number) => runClassic([stmt(ClassicOp.LD_IMM, 0), stmt(ClassicOp.LDX_IMM, x), stmt(ClassicOp.LD_W_ABS, (SKF_AD_OFF + SkfAd.NLATTR) >>> 0), stmt(ClassicOp.RET_A)], nl);
  assert.equal(nla(2), 8);
  assert.equal(nla(3), 0);
});

test('tcpdump dump formats: -d, -dd, -ddd and back', () => {
  const prog = asm('ldh [12]\njeq #0x800, y, n\ny: ret #262144\nn: ret #0');
  assert.equal(formatDump(prog), '(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n');
  assert.equal(formatDumpC(prog), '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n');
  assert.equal(formatDumpDecimal(prog), '4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n');
  assert.deepEqual(parseDumpDecimal(formatDumpDecimal(prog)), prog);
  assert.match(formatDump(asm('ld #vlan_avail\nldb #rand\nret a')), /ld       \[vlanp\]\n.*ldb      \[random\]/);
});
