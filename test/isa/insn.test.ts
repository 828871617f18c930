// Tests of the instruction model: encoding in both byte orders, lddw pairs, and the decoder's rejections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  AluOp,
  Class,
  DecodeError,
  JmpOp,
  LDDW,
  Mode,
  Size,
  Source,
  checkInsn,
  decodeProgram,
  encodeProgram,
  insn,
  lddw,
  lddwValue,
} from '../../src/index.js';

test('encodes the documented byte layout (little- and big-endian)', () => {
  // mov64 r1, 0x11223344 ; exit
  const prog = [insn(Class.ALU64 | AluOp.MOV | Source.K, 1, 0, 0, 0x11223344), insn(Class.JMP | JmpOp.EXIT)];
  assert.deepEqual([...encodeProgram(prog)], [0xb7, 0x01, 0, 0, 0x44, 0x33, 0x22, 0x11, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeProgram(prog, true)], [0xb7, 0x10, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(decodeProgram(encodeProgram(prog, true), { bigEndian: true }), prog);
});

test('lddw takes two slots and round-trips its 64-bit value', () => {
  const [a, b] = lddw(3, 0x8877665544332211n);
  const prog = [a, b, insn(Class.JMP | JmpOp.EXIT)];
  assert.equal(a.code, LDDW);
  assert.equal(lddwValue(prog, 0), 0x8877665544332211n);
  assert.deepEqual(decodeProgram(encodeProgram(prog)), prog);
  assert.equal(lddwValue([...lddw(0, -1n)], 0), 0xffffffffffffffffn);
});

test('rejects reserved fields, unknown opcodes and bad lddw pairs with the pc', () => {
  const exit = insn(Class.JMP | JmpOp.EXIT);
  const cases: [string, ReturnType<typeof insn>[]][] = [
    ['add64 imm with src', [insn(Class.ALU64 | AluOp.ADD | Source.K, 0, 1, 0, 1), exit]],
    ['exit with imm', [insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 1)]],
    ['unknown alu op', [insn(Class.ALU64 | 0xe0, 0, 0, 0, 0), exit]],
    ['register 11', [insn(Class.ALU64 | AluOp.MOV | Source.K, 11, 0, 0, 0), exit]],
    ['neg with X', [insn(Class.ALU64 | AluOp.NEG | Source.X, 1, 0, 0, 0), exit]],
    ['lddw truncated', [lddw(0, 1n)[0]]],
    ['lddw bad 2nd slot', [lddw(0, 1n)[0], insn(0x07, 0, 0, 0, 0), exit]],
    ['ldx dw sign-extending', [insn(Class.LDX | Mode.MEMSX | Size.DW, 0, 1, 0, 0), exit]],
    ['atomic unknown op', [insn(Class.STX | Mode.ATOMIC | Size.DW, 1, 2, 0, 0x10), exit]],
    ['atomic on a byte', [insn(Class.STX | Mode.ATOMIC | Size.B, 1, 2, 0, 0), exit]],
    ['call in jmp32', [insn(Class.JMP32 | JmpOp.CALL, 0, 0, 0, 1), exit]],
    ['swap width 8', [insn(Class.ALU | AluOp.END, 0, 0, 0, 8), exit]],
    ['movsx 32 in alu32', [insn(Class.ALU | AluOp.MOV | Source.X, 0, 1, 32, 0), exit]],
  ];
  for (const [what, prog] of cases) {
    assert.throws(
      () => decodeProgram(encodeProgram(prog)),
      (e: unknown) => e instanceof DecodeError && e.pc === 0 && e.message.startsWith('insn 0: '),
      what,
    );
  }
  assert.throws(() => decodeProgram(new Uint8Array(12)), DecodeError);
});

test('accepts the v4 additions and every atomic', () => {
  const exit = insn(Class.JMP | JmpOp.EXIT);
  const ok = [
    insn(Class.ALU64 | AluOp.DIV | Source.X, 0, 1, 1, 0), // sdiv
    insn(Class.ALU | AluOp.MOD | Source.K, 0, 0, 1, 3), // smod32
    insn(Class.ALU64 | AluOp.MOV | Source.X, 0, 1, 32, 0), // movsx 32->64
    insn(Class.LDX | Mode.MEMSX | Size.W, 0, 1, 4, 0), // ldxsw
    insn(Class.ALU64 | AluOp.END, 0, 0, 0, 64), // bswap64
    insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0), // gotol +0
    insn(Class.JMP | JmpOp.CALL | Source.X, 2, 0, 0, 0), // callx r2
    ...[0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1].map((imm) => insn(Class.STX | Mode.ATOMIC | Size.W, 1, 2, -8, imm)),
  ];
  for (const i of ok) assert.equal(checkInsn([i, exit], 0), undefined, JSON.stringify(i));
});

test('generated UAPI tables match the system header', (t) => {
  if (!existsSync('/usr/include/linux/bpf.h')) return t.skip('no /usr/include/linux/bpf.h (install linux-libc-dev)');
  const r = spawnSync(process.execPath, ['scripts/gen-uapi.mjs', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
