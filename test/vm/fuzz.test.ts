// Fuzzing: random bytes must only ever give DecodeError from the decoder; random valid programs (generated from
// the opcode tables, with random jumps, calls, memory accesses and atomics) must only ever give a result or a
// VmError from the interpreter — never another exception. Seeded, so failures reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfkitError, DecodeError, VmError } from '../../src/errors.js';
import { helperByName } from '../../src/isa/helpers.js';
import { decodeProgram, insn, lddw, type Insn } from '../../src/isa/insn.js';
import { ALU_OPS, ATOMIC_IMMS, AluOp, Class, JMP_OPS, JmpOp, Mode, PseudoCall, SIZES, Size, Source } from '../../src/isa/opcodes.js';
import { Vm, type HelperImpl } from '../../src/vm/index.js';
import { randBelow } from '../fixtures/random.js';

test('random byte strings: decodeProgram returns or throws DecodeError, nothing else', () => {
  const r = randBelow(99);
  let decoded = 0;
  for (let i = 0; i < 4000; i++) {
    const len = r(5) === 0 ? r(40) : 8 * (1 + r(8));
    const bytes = new Uint8Array(len);
    for (let j = 0; j < len; j++) bytes[j] = r(256);
    // Bias some slots towards real opcodes so validation gets past the first slot.
    if (len >= 8 && r(2)) bytes[0] = [0x07, 0xb7, 0x18, 0x61, 0x95, 0x85, 0xc3, 0xd4][r(8)]!;
    for (const bigEndian of [false, true]) {
      try {
        decodeProgram(bytes, { bigEndian });
        decoded++;
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        assert.ok(Number.isInteger(e.pc) && e.pc >= 0);
      }
    }
  }
  assert.ok(decoded > 0, 'some random programs decode');
});

type Unit = { insns: Insn[]; jump?: 'off' | 'imm' | 'call'; target?: number };

/** A random valid program of `n` units; jump targets are unit indexes fixed up to slot offsets. */
function randomProgram(r: (n: number) => number, n: number): Insn[] {
  const reg = () => r(10); // r0..r9 (writable)
  const anyReg = () => r(11);
  const imm = () => [0, 1, -1, 7, 8, 16, 32, 63, 64, 0x7fffffff, -0x80000000, r(1 << 30) - (1 << 29)][r(12)]!;
  const base = () => [10, 10, 1, 1, anyReg()][r(5)]!;
  const memOff = (b: number) => (b === 10 ? -8 * (1 + r(66)) + r(8) : r(48) - 4);
  const units: Unit[] = [];
  for (let u = 0; u < n; u++) {
    const k = r(20);
    if (k < 6) {
      const info = ALU_OPS[r(ALU_OPS.length)]!;
      const is64 = r(2) === 1;
      const cls = is64 ? Class.ALU64 : Class.ALU;
      if (info.op === AluOp.END) {
        const code = r(3) === 0 ? Class.ALU64 | AluOp.END : cls === Class.ALU ? Class.ALU | AluOp.END | (r(2) ? Source.X : 0) : Class.ALU64 | AluOp.END;
        units.push({ insns: [insn(code, reg(), 0, 0, [16, 32, 64][r(3)]!)] });
      } else if (info.op === AluOp.NEG) {
        units.push({ insns: [insn(cls | AluOp.NEG, reg())] });
      } else {
        const x = r(2) === 1;
        let off = 0;
        if ((info.op === AluOp.DIV || info.op === AluOp.MOD) && r(2)) off = 1;
        if (info.op === AluOp.MOV && x && r(2)) off = is64 ? [8, 16, 32][r(3)]! : [8, 16][r(2)]!;
        units.push({ insns: [insn(cls | info.op | (x ? Source.X : Source.K), reg(), x ? anyReg() : 0, off, x ? 0 : imm())] });
      }
    } else if (k < 9) {
      const j = JMP_OPS.filter((o) => o.conditional)[r(11)]!;
      const x = r(2) === 1;
      const cls = r(2) ? Class.JMP : Class.JMP32;
      units.push({ insns: [insn(cls | j.op | (x ? Source.X : Source.K), anyReg(), x ? anyReg() : 0, 0, x ? 0 : imm())], jump: 'off', target: r(n) });
    } else if (k === 9) {
      units.push(r(2) ? { insns: [insn(Class.JMP | JmpOp.JA)], jump: 'off', target: r(n) } : { insns: [insn(Class.JMP32 | JmpOp.JA)], jump: 'imm', target: r(n) });
    } else if (k < 12) {
      const s = SIZES[r(4)]!;
      const sx = s.size !== Size.DW && r(3) === 0;
      const b = base();
      units.push({ insns: [insn(Class.LDX | (sx ? Mode.MEMSX : Mode.MEM) | s.size, reg(), b, memOff(b))] });
    } else if (k < 14) {
      const s = SIZES[r(4)]!;
      const b = base();
      units.push({ insns: [r(2) ? insn(Class.STX | Mode.MEM | s.size, b, anyReg(), memOff(b)) : insn(Class.ST | Mode.MEM | s.size, b, 0, memOff(b), imm())] });
    } else if (k === 14) {
      const b = base();
      const op = ATOMIC_IMMS[r(ATOMIC_IMMS.length)]!;
      units.push({ insns: [insn(Class.STX | Mode.ATOMIC | (r(2) ? Size.W : Size.DW), b, reg(), memOff(b) & ~3, op)] });
    } else if (k === 15) {
      units.push({ insns: lddw(reg(), (BigInt(r(1 << 30)) << 34n) ^ BigInt(imm())) });
    } else if (k === 16) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.CALL, 0, 0)], jump: 'call', target: r(n) });
    } else if (k === 17) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, helperByName('get_prandom_u32')!.id)] });
    } else if (k === 18) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL | Source.X, reg())] });
    } else {
      units.push({ insns: [insn(Class.JMP | JmpOp.EXIT)] });
    }
  }
  units.push({ insns: [insn(Class.JMP | JmpOp.EXIT)] });
  const start: number[] = [];
  let slot = 0;
  for (const u of units) {
    start.push(slot);
    slot += u.insns.length;
  }
  const out: Insn[] = [];
  units.forEach((u, i) => {
    if (u.jump) {
      const delta = start[u.target!]! - (start[i]! + 1);
      const j = u.insns[0]!;
      u.insns[0] = u.jump === 'off' ? { ...j, off: delta } : { ...j, imm: delta };
    }
    out.push(...u.insns);
  });
  return out;
}

test('random valid programs: the interpreter returns a result or throws VmError, nothing else', () => {
  const r = randBelow(2024);
  let built = 0;
  let finished = 0;
  const faults = new Map<string, number>();
  let seed = 1;
  const helpers = new Map<number, HelperImpl>([[helperByName('get_prandom_u32')!.id, () => (seed = (seed * 1103515245 + 12345) >>> 0)]]);
  for (let i = 0; i < 2500; i++) {
    const prog = randomProgram(r, 2 + r(30));
    let vm: Vm;
    try {
      vm = new Vm(prog, { helpers, maxInsns: 3000 });
    } catch (e) {
      assert.ok(e instanceof VmError || e instanceof DecodeError, `construction threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      continue;
    }
    built++;
    const mem = new Uint8Array(40);
    const r1 = vm.memory.map(mem, { writable: r(4) !== 0, kind: 'mem' });
    try {
      const r0 = vm.run(r1, 40n);
      assert.equal(typeof r0, 'bigint');
      assert.ok(r0 >= 0n && r0 < 1n << 64n);
      finished++;
    } catch (e) {
      if (!(e instanceof VmError)) {
        assert.fail(`run threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
      }
      assert.ok(e instanceof BpfkitError && Number.isInteger(e.pc));
      faults.set(e.kind, (faults.get(e.kind) ?? 0) + 1);
    }
  }
  assert.ok(built > 2000, `only ${built} of 2500 random programs were accepted`);
  assert.ok(finished > 200, `only ${finished} random programs ran to completion`);
  if (process.env.FUZZ_DEBUG) console.log({ built, finished, faults: [...faults] });
  // The generator reaches the interesting fault kinds.
  for (const kind of ['oob', 'jump', 'budget']) assert.ok((faults.get(kind) ?? 0) > 0, `no '${kind}' fault in ${JSON.stringify([...faults])}`);
});
