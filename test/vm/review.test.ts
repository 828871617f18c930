// Regression tests from a correctness review of the interpreter and the JIT: edge cases of the ISA (signed division
// and modulo at INT_MIN / -1 and by zero in both widths, sign extensions, shifts by a register >= the width,
// 32-bit atomics, JMP32 and jset, byte swaps). Expected values are what the kernel returned (Linux 6.18,
// BPF_PROG_TEST_RUN of the same instructions as an XDP program); when running as root the kernel is asked again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { Vm } from '../../src/vm/vm.js';
import { KernelProgram } from '../../src/kernel/load/program.js';
import { ProgType } from '../../src/isa/uapi.js';

/** [name, LLVM-syntax body leaving the result in r0 (exit is appended), r0 the kernel returned as u64]. */
const CASES: [string, string, bigint][] = [
  ["sdiv64min", "r0 = 0x8000000000000000 ll\nr1 = -1\nr0 s/= r1", 0x8000000000000000n],
  ["smod64min", "r0 = 0x8000000000000000 ll\nr1 = -1\nr0 s%= r1", 0x0n],
  ["sdiv32min", "r0 = 0x1234567880000000 ll\nw0 s/= -1", 0x80000000n],
  ["smod32z", "r0 = 0x12345678f0000005 ll\nr1 = 0x100000000 ll\nw0 s%= w1", 0xf0000005n],
  ["sdiv32z", "r0 = 0x12345678f0000005 ll\nr1 = 0x100000000 ll\nw0 s/= w1", 0x0n],
  ["mod64z", "r0 = 0x12345678f0000005 ll\nr1 = 0\nr0 %= r1", 0x12345678f0000005n],
  ["smod32neg", "r0 = -7\nw0 s%= 3", 0xffffffffn],
  ["smod64neg", "r0 = -7\nr1 = -3\nr0 s%= r1", 0xffffffffffffffffn],
  ["sdiv64neg", "r0 = -7\nr0 s/= 2", 0xfffffffffffffffdn],
  ["movsx8", "r1 = 0x1ff80 ll\nr0 = (s8)r1", 0xffffffffffffff80n],
  ["movsx16_32", "r1 = 0x18000 ll\nw0 = (s16)w1", 0xffff8000n],
  ["movsx32", "r1 = 0x180000000 ll\nr0 = (s32)r1", 0xffffffff80000000n],
  ["ldsx", "r1 = 0x80\n*(u64 *)(r10 - 8) = r1\nr0 = *(s8 *)(r10 - 8)", 0xffffffffffffff80n],
  ["ldsx16", "r1 = 0x8001\n*(u64 *)(r10 - 8) = r1\nr0 = *(s16 *)(r10 - 8)", 0xffffffffffff8001n],
  ["ldsx32", "r1 = 0x80000001 ll\n*(u64 *)(r10 - 8) = r1\nr0 = *(s32 *)(r10 - 8)", 0xffffffff80000001n],
  ["fetchadd32", "r1 = 0xffffffff\n*(u64 *)(r10 - 8) = r1\nr1 = 0x500000002 ll\nw1 = atomic_fetch_add((u32 *)(r10 - 8), w1)\nr0 = *(u64 *)(r10 - 8)\nr0 += r1", 0x100000000n],
  ["cmpxchg32", "r1 = 0x11\n*(u64 *)(r10 - 8) = r1\nr0 = 0x700000011 ll\nr1 = 0x22\nw0 = cmpxchg32_32(r10 - 8, w0, w1)\nr1 = *(u64 *)(r10 - 8)\nr1 <<= 8\nr0 |= r1", 0x2211n],
  ["xchg64", "r1 = 5\n*(u64 *)(r10 - 8) = r1\nr1 = 9\nr1 = xchg_64(r10 - 8, r1)\nr0 = *(u64 *)(r10 - 8)\nr0 <<= 8\nr0 |= r1", 0x905n],
  ["jset32", "r0 = 0x100000000 ll\nr1 = 0x100000001 ll\nif w0 & w1 goto +1\nr0 = 77", 0x4dn],
  ["jslt32", "r0 = 0x80000000\nif w0 s< 0 goto +1\nr0 = 77", 0x80000000n],
  ["neg32", "r0 = 0x100000001 ll\nw0 = -w0", 0xffffffffn],
  ["arsh32", "r0 = 0x180000000 ll\nw0 s>>= 4", 0xf8000000n],
  ["bswap16", "r0 = 0x1122334455667788 ll\nr0 = bswap16 r0", 0x8877n],
  ["le16", "r0 = 0x1122334455667788 ll\nr0 = le16 r0", 0x7788n],
  ["be32", "r0 = 0x1122334455667788 ll\nr0 = be32 r0", 0x88776655n],
  ["udiv64imm", "r0 = -1\nr0 /= -2", 0x1n],
  ["umod64imm", "r0 = -1\nr0 %= -2", 0x1n],
  ["udiv32", "r0 = -1\nw0 /= -2", 0x1n],
  ["lsh64r", "r0 = 3\nr1 = 65\nr0 <<= r1", 0x6n],
  ["rsh64r", "r0 = -1\nr1 = 0x7f\nr0 >>= r1", 0x1n],
  ["arsh64r", "r0 = 0x8000000000000000 ll\nr1 = 0x43\nr0 s>>= r1", 0xf000000000000000n],
  ["lsh32r", "r0 = 3\nr1 = 33\nw0 <<= w1", 0x6n],
  ["rsh32r", "r0 = -1\nr1 = 0x3f\nw0 >>= w1", 0x1n],
  ["arsh32r", "r0 = 0x80000000\nr1 = 0x21\nw0 s>>= w1", 0xc0000000n],
  ["lsh32big", "r0 = 3\nr1 = 0x100000021 ll\nw0 <<= w1", 0x6n],
];

const prog = (body: string) => assemble(`${body}\nexit`, { syntax: 'llvm' });

for (const engine of ['interp', 'jit'] as const) {
  test(`ISA edge cases match the kernel (${engine})`, () => {
    for (const [name, body, want] of CASES) assert.equal(new Vm(prog(body), { engine }).run(), want, name);
  });
}

test('ISA edge cases: the kernel still agrees (both 32-bit halves of r0)', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (BPF_PROG_TEST_RUN)');
  const data = new Uint8Array(64);
  for (const [name, body, want] of CASES) {
    for (const hi of [false, true]) {
      const insns = prog(hi ? `${body}\nr0 >>= 32` : body);
      const p = KernelProgram.load({ name: 'review', section: '', type: ProgType.XDP, insns, references: [], license: 'GPL' });
      try {
        const got = p.testRun({ data }).retval >>> 0;
        assert.equal(BigInt(got), hi ? want >> 32n : want & 0xffffffffn, `${name} (${hi ? 'high' : 'low'} half)`);
      } finally {
        p.close();
      }
    }
  }
});
