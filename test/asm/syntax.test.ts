/** Both assembler syntaxes on the spellings they must accept, their formatters, and their error messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, assembleProgram, detectSyntax, disassemble, formatKernel, formatLlvmAsm, formatUbpf } from '../../src/asm/index.js';
import { AsmError } from '../../src/errors.js';
import { encodeProgram, type Insn } from '../../src/isa/index.js';
import { Gen } from './gen.js';
import { mulberry32 } from '../fixtures/random.js';

const hex = (insns: readonly Insn[]) => Buffer.from(encodeProgram(insns)).toString('hex');
const asmHex = (text: string, syntax: 'ubpf' | 'llvm') => hex(assemble(text, { syntax }));

/** [uBPF text, LLVM text, encoding (hex of the slots)]. */
const CASES: [string, string, string][] = [
  ['mov32 %r0, 0', 'w0 = 0', 'b400000000000000'],
  ['mov %r0, %r1', 'r0 = r1', 'bf10000000000000'],
  ['mov32 %r0, %r1', 'w0 = w1', 'bc10000000000000'],
  ['add32 %r0, -3', 'w0 += -3', '04000000fdffffff'],
  ['lddw %r0, 0x1122334455667788', 'r0 = 0x1122334455667788 ll', '1800000088776655' + '0000000044332211'],
  ['ldxdw %r1, [%r10-8]', 'r1 = *(u64 *)(r10 - 8)', '79a1f8ff00000000'],
  ['ldxb %r0, [%r1+2]', 'r0 = *(u8 *)(r1 + 2)', '7110020000000000'],
  ['ldxsb %r0, [%r1+2]', 'r0 = *(s8 *)(r1 + 2)', '9110020000000000'],
  ['stxw [%r10-8], %r1', '*(u32 *)(r10 - 8) = r1', '631af8ff00000000'],
  ['stb [%r1], 0x11', '*(u8 *)(r1 + 0) = 17', '7201000011000000'],
  ['jgt %r1, %r2, +3', 'if r1 > r2 goto +3', '2d21030000000000'],
  ['jslt32 %r1, 5, -2', 'if w1 s< 5 goto -2', 'c601feff05000000'],
  ['ja +1', 'goto +1', '0500010000000000'],
  ['ja32 +5', 'gotol +5', '0600000005000000'],
  ['movsx864 %r0, %r1', 'r0 = (s8)r1', 'bf10080000000000'],
  ['movsx1632 %r0, %r1', 'w0 = (s16)w1', 'bc10100000000000'],
  ['sdiv %r0, %r1', 'r0 s/= r1', '3f10010000000000'],
  ['smod %r0, 3', 'r0 s%= 3', '9700010003000000'],
  ['smod32 %r0, %r1', 'w0 s%= w1', '9c10010000000000'],
  ['mod %r0, 3', 'r0 %= 3', '9700000003000000'],
  ['be16 %r1', 'r1 = be16 r1', 'dc01000010000000'],
  ['le32 %r1', 'r1 = le32 r1', 'd401000020000000'],
  ['bswap16 %r1', 'r1 = bswap16 r1', 'd701000010000000'],
  ['neg %r1', 'r1 = -r1', '8701000000000000'],
  ['neg32 %r1', 'w1 = -w1', '8401000000000000'],
  ['lock add [%r1], %r2', 'lock *(u64 *)(r1 + 0) += r2', 'db21000000000000'],
  ['lock add32 [%r1], %r2', 'lock *(u32 *)(r1 + 0) += w2', 'c321000000000000'],
  ['lock fetch add [%r1], %r0', 'r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)', 'db01000001000000'],
  ['lock fetch_xor32 [%r1], %r0', 'w0 = atomic_fetch_xor((u32 *)(r1 + 0), w0)', 'c3010000a1000000'],
  ['lock xchg [%r1], %r0', 'r0 = xchg_64(r1 + 0, r0)', 'db010000e1000000'],
  ['lock xchg32 [%r1], %r0', 'w0 = xchg32_32(r1 + 0, w0)', 'c3010000e1000000'],
  ['lock cmpxchg [%r1], %r2', 'r0 = cmpxchg_64(r1 + 0, r0, r2)', 'db210000f1000000'],
  ['lock cmpxchg32 [%r1], %r2', 'w0 = cmpxchg32_32(r1 + 0, w0, w2)', 'c3210000f1000000'],
  ['call 1', 'call 1', '8500000001000000'],
  ['call bpf_map_lookup_elem', 'call bpf_map_lookup_elem', '8500000001000000'],
  ['call local +3', 'call pc+3', '8510000003000000'],
  ['call runtime 7', 'call kernel-function#7', '8520000007000000'],
  ['callx %r1', 'callx r1', '8d01000000000000'],
  ['exit', 'exit', '9500000000000000'],
  ['ldabsw 4', 'r0 = *(u32 *)skb[4]', '2000000004000000'],
  ['ldindh %r1, 0', 'r0 = *(u16 *)skb[r1]', '4810000000000000'],
  ['lddw %r1, map_fd(5)', 'r1 = map[id:5]', '1811000005000000' + '0000000000000000'],
  ['lddw %r1, map_value(5, 16)', 'r1 = map[id:5][0]+16', '1821000005000000' + '0000000010000000'],
  ['lddw %r1, btf_id(9)', 'ld_pseudo r1, 3, 9', '1831000009000000' + '0000000000000000'],
];

test('both syntaxes assemble the documented spellings to the expected bytes', () => {
  for (const [u, l, want] of CASES) {
    assert.equal(asmHex(u, 'ubpf'), want, u);
    assert.equal(asmHex(l, 'llvm'), want, l);
  }
});

test('formatters print the documented spellings', () => {
  for (const [u, l] of CASES) {
    if (u.startsWith('call bpf_') || u.includes('fetch_')) continue; // alternative input spellings
    const insns = assemble(u, { syntax: 'ubpf' });
    assert.equal(formatUbpf(insns, 0), u === 'stb [%r1], 0x11' ? 'stb [%r1], 17' : u);
    const llvm = formatLlvmAsm(insns, 0);
    assert.equal(llvm, l.replace(/0x1122334455667788/, '1234605616436508552'), u);
  }
});

test('LLVM syntax accepts verifier-log and llvm-objdump forms', () => {
  const lines: [string, string][] = [
    ['12: (bf) r1 = r2', 'bf21000000000000'],
    ['3: (7b) *(u64 *)(r10 -8) = r1', '7b1af8ff00000000'],
    ['(15) if r1 == 0x5 goto pc+1', '1501010005000000'],
    ['(16) if w1 == 0xffffffff goto pc-1', '1601ffffffffffff'],
    ['(05) goto pc-1', '0500ffff00000000'],
    ['(06) gotol pc+7', '0600000007000000'],
    ['(85) call bpf_map_lookup_elem#1', '8500000001000000'],
    ['(85) call unknown#99999', '850000009f860100'],
    ['(85) call pc+2', '8510000002000000'],
    ['(85) call bpf_obj_new_impl#12345', '8520000039300000'],
    ['(18) r1 = 0x5', '1801000005000000' + '0000000000000000'],
    ['(18) r1 = map[id:5]', '1811000005000000' + '0000000000000000'],
    ['(79) r0 = *(u64 *)(r1 +8)          ; R0_w=scalar() R1=ctx()', '7910080000000000'],
    ['(db) r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)', 'db21000001000000'],
    ['(c3) r2 = atomic_fetch_or((u32 *)(r1 -4), r2)', 'c321fcff41000000'],
    ['(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)', 'db210000f1000000'],
    ['(c3) r3 = atomic_xchg((u32 *)(r1 +0), r3)', 'c3310000e1000000'],
    ['(50) r0 = *(u8 *)skb[r1 + 5]', '5010000005000000'],
    ['      11:\t2d 21 03 00 00 00 00 00\tif r1 > r2 goto +3 <.text+0x78>', '2d21030000000000'],
    ['       5:\tif r1 s> 3 goto +1 <LBB1_2>', '6501010003000000'],
    ['r1 = -1 ll', '18010000ffffffff' + '00000000ffffffff'],
    ['r1 = 0xffffffff', '18010000ffffffff' + '0000000000000000'],
    ['w1 = 0xffffffff', 'b4010000ffffffff'],
    ['r0 = 4294967296', '1800000000000000' + '0000000001000000'],
  ];
  for (const [text, want] of lines) assert.equal(asmHex(text, 'llvm'), want, text);
});

test('llvm-objdump listings with symbol headers and labels assemble, resolving label targets', () => {
  const text = [
    '0000000000000000 <f>:',
    '       0:\tr1 = *(u32 *)(r1 + 0)',
    '       1:\tif r1 s> 3 goto LBB1_2',
    '       2:\tr0 = 1',
    'LBB1_2:',
    '       3:\tcall g',
    '       4:\texit',
    'g:',
    '\tr0 = 7 ; comment',
    '\texit',
  ].join('\n');
  const p = assembleProgram(text, { syntax: 'llvm' });
  assert.equal(p.insns[1]!.off, 1);
  assert.equal(p.insns[3]!.src, 1);
  assert.equal(p.insns[3]!.imm, 1);
  assert.equal(p.labels.get('f'), 0);
  assert.deepEqual(p.lines, [2, 3, 4, 6, 7, 9, 10]);
});

test('uBPF syntax: labels, implicit exit label, comments, bpf-to-bpf calls', () => {
  const p = assembleProgram(
    ['mov %r0, 0 ; c', 'jeq %r0, 0, exit # c', 'call local fn', 'L1: ja L1', 'exit', 'fn:', '  mov %r0, 1', '  exit'].join('\n'),
    { syntax: 'ubpf' },
  );
  assert.equal(p.insns[1]!.off, 2); // to the first exit at slot 4
  assert.equal(p.insns[2]!.imm, 2); // fn at slot 5
  assert.equal(p.insns[3]!.off, -1);
});

test('kernel formatter matches the verifier log style and re-assembles', () => {
  const prog = assemble(
    ['r1 = r2', '*(u64 *)(r10 - 8) = r1', 'if r1 > 5 goto +1', 'call 1', 'r0 = *(s8 *)(r1 + 2)', 'r1 = map[id:3][0]+8', 'w0 = (s8)w1', 'r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)', 'exit'].join('\n'),
    { syntax: 'llvm' },
  );
  const got: string[] = [];
  for (let pc = 0; pc < prog.length; pc += prog[pc]!.code === 0x18 ? 2 : 1) got.push(formatKernel(prog, pc));
  assert.deepEqual(got, [
    '(bf) r1 = r2',
    '(7b) *(u64 *)(r10 -8) = r1',
    '(25) if r1 > 0x5 goto pc+1',
    '(85) call bpf_map_lookup_elem#1',
    '(91) r0 = *(s8 *)(r1 +2)',
    '(18) r1 = map[id:3][0]+8',
    '(bc) w0 = (s8)w1',
    '(db) r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)',
    '(95) exit',
  ]);
  // Random programs: kernel text (with opcode prefixes) assembles back to the same bytes.
  const gen = new Gen(mulberry32(7));
  for (let round = 0; round < 20; round++) {
    const p = gen.program(100);
    const lines: string[] = [];
    for (let pc = 0; pc < p.length; pc += p[pc]!.code === 0x18 ? 2 : 1) lines.push(`${pc}: ${formatKernel(p, pc)}`);
    assert.equal(hex(assemble(lines.join('\n'), { syntax: 'llvm' })), hex(p));
  }
});

test('syntax detection', () => {
  assert.equal(detectSyntax('mov %r0, 1\nexit'), 'ubpf');
  assert.equal(detectSyntax('exit\nr0 = 1'), 'llvm');
  assert.equal(detectSyntax('# c\nlabel:\n  if r1 > r2 goto +1'), 'llvm');
  assert.equal(detectSyntax('ja +1'), 'ubpf');
  assert.equal(detectSyntax('12: (bf) r1 = r2'), 'llvm');
  assert.equal(detectSyntax('call 1\nexit'), 'ubpf');
});

test('disassemble prints pcs, labels and lddw as one line', () => {
  const prog = assemble('lddw %r1, 1\njeq %r1, 1, +1\nmov %r0, 2\nexit');
  assert.equal(disassemble(prog), 'lddw %r1, 0x1\njeq %r1, 1, +1\nmov %r0, 2\nexit\n');
  assert.equal(disassemble(prog, { labels: true }), 'lddw %r1, 0x1\njeq %r1, 1, L4\nmov %r0, 2\nL4:\nexit\n');
  assert.equal(disassemble(prog, { syntax: 'llvm', pcs: true }), '0: r1 = 1 ll\n2: if r1 == 1 goto +1\n3: r0 = 2\n4: exit\n');
  assert.equal(disassemble([]), '');
});

/** [syntax, text, reason, line, column] */
const ERRORS: ['ubpf' | 'llvm', string, string, number, number][] = [
  ['ubpf', 'mov %r0, %r11', 'invalid register %r11', 1, 10],
  ['ubpf', 'exit\n  add32 %r1, 2147483648', 'immediate 2147483648 out of signed 32-bit range', 2, 14],
  ['ubpf', 'ja NOT_A_LABEL', 'unknown label NOT_A_LABEL', 1, 4],
  ['ubpf', 'x: exit\nx: exit', 'duplicate label x (first defined at line 1)', 2, 1],
  ['ubpf', 'frob %r1', 'invalid mnemonic frob', 1, 1],
  ['ubpf', 'mov %r1', 'invalid operand count for mov: expected 2, got 1', 1, 1],
  ['ubpf', 'stxw %r1, %r2', 'expected a memory operand [%rN+off], got %r1', 1, 6],
  ['ubpf', 'ldxw %r1, [%r2+40000]', 'offset +40000 out of signed 16-bit range', 1, 11],
  ['ubpf', '.section foo', 'unknown directive .section', 1, 1],
  ['ubpf', 'call nosuchhelper', 'unknown helper nosuchhelper (use "call local nosuchhelper" for a bpf-to-bpf call)', 1, 6],
  ['ubpf', 'lock frob [%r1], %r2', 'invalid atomic operation frob', 1, 6],
  ['ubpf', 'mov %r1, 5 6', 'unexpected 6 in operand', 1, 12],
  ['ubpf', 'mov %r1, @', "unexpected character '@'", 1, 10],
  ['llvm', 'r11 = 1', 'invalid register r11', 1, 1],
  ['llvm', '  w1 = r2', 'expected a 32-bit (wN) register, got r2', 1, 8],
  ['llvm', 'r1 += 2147483648', 'immediate 2147483648 out of signed 32-bit range', 1, 7],
  ['llvm', 'goto nowhere', 'unknown label nowhere', 1, 6],
  ['llvm', 'r1 = frob r2', 'unrecognized instruction: r1 = frob r2', 1, 1],
  ['llvm', '.weird', 'unknown directive .weird', 1, 1],
  ['llvm', '(b7) r1 = r2', 'opcode prefix (b7) does not match the instruction (bf)', 1, 6],
  ['llvm', 'r0 = *(u64 *)(r1 + 32768)', 'offset +32768 out of signed 16-bit range', 1, 20],
  ['llvm', 'call bpf_map_lookup_elem#2', 'helper bpf_map_lookup_elem has id 1, not 2', 1, 6],
];

test('errors carry file, line, column and a one-line reason', () => {
  for (const [syntax, text, reason, line, column] of ERRORS) {
    assert.throws(
      () => assemble(text, { syntax, file: 'x.s' }),
      (e: unknown) => {
        assert.ok(e instanceof AsmError, `${text}: ${String(e)}`);
        assert.equal(e.reason, reason, text);
        assert.deepEqual([e.line, e.column], [line, column], text);
        assert.equal(e.message, `x.s:${line}:${column}: ${reason}`);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  }
});

test('a real verifier log (kernel 6.18, bpftool -d prog load) parses and re-formats identically', () => {
  const log = [
    '0: (bf) r6 = r1',
    '1: (61) r1 = *(u32 *)(r6 +0)',
    '2: (54) w1 &= 3',
    '3: (63) *(u32 *)(r10 -4) = r1',
    '4: (bf) r2 = r10',
    '5: (07) r2 += -4',
    '6: (18) r1 = 0xffff88814e01ae00',
    '8: (85) call bpf_map_lookup_elem#1',
    '9: (bf) r1 = r0                       ; R0_w=map_value_or_null(id=1,map=m,ks=4,vs=8) R1_w=map_value_or_null(id=1)',
    '10: (b4) w0 = 0',
    '11: (15) if r1 == 0x0 goto pc+12',
    '12: (b7) r2 = 1',
    '13: (db) lock *(u64 *)(r1 +0) += r2',
    '14: (b7) r0 = 2',
    '15: (db) r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)',
    '16: (61) r1 = *(u32 *)(r6 +0)',
    '17: (a6) if w1 < 0x65 goto pc+2',
    '18: (77) r0 >>= 3',
    '19: (05) goto pc+4',
    '20: (61) r1 = *(u32 *)(r6 +16)',
    '21: (b4) w0 = 1',
    '22: (16) if w1 == 0x8 goto pc+1',
    '23: (b4) w0 = -1',
    '24: (95) exit',
  ];
  const insns = assemble(log.join('\n'), { syntax: 'llvm' });
  assert.equal(insns.length, 25);
  for (const line of log) {
    const pc = Number(line.split(':')[0]);
    assert.equal(`${pc}: ${formatKernel(insns, pc)}`, line.replace(/\s+;.*$/, ''));
  }
});
