// Fuzzing: random bytes must only ever give DecodeError from the decoder; random valid programs (generated from
// the opcode tables, with random jumps, calls, memory accesses and atomics) must only ever give a result or a
// VmError from the interpreter — never another exception. Seeded, so failures reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfkitError, DecodeError, VmError } from '../../src/errors.js';
import { helperByName } from '../../src/isa/helpers.js';
import { decodeProgram } from '../../src/isa/insn.js';
import { Vm, type HelperImpl } from '../../src/vm/index.js';
import { randBelow } from '../fixtures/random.js';
import { randomProgram } from '../fixtures/programs.js';

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
