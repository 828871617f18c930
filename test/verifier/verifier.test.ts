/**
 * Verifier features one by one (linked scalars, 32-bit narrowing, spills, callbacks, constants of read-only
 * data, unsupported constructs, error messages with source lines, the CLI), and — as root — a mutation test:
 * small random changes to the example programs get the same verdict from bpfkit (kernel policy) and the kernel.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../src/asm/index.js';
import { VerifierError } from '../../src/errors.js';
import { MapType, ProgType, Uapi } from '../../src/isa/uapi.js';
import type { MapSpec } from '../../src/spec/map.js';
import { assertVerified, verify, type VerifyInput } from '../../src/verifier/index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const HASH: MapSpec = { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 };
const ARR16: MapSpec = { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4, flags: 0 };
const FUNC_INFO = { funcInfo: [{ insnOff: 0, typeId: 1 }], lineInfo: [] };
const prog = (text: string, type: number = ProgType.SOCKET_FILTER, extra: Partial<VerifyInput> = {}): VerifyInput => ({ insns: assemble(text, { syntax: 'llvm' }), type, ...extra });
const LOOKUP16 = 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:7]\ncall bpf_map_lookup_elem\nif r0 == 0 goto +L\nr6 = r0';

test('a copied scalar is narrowed with its copy (linked scalars)', () => {
  const text = LOOKUP16.replace('+L', '+6') + '\ncall bpf_get_prandom_u32\nr1 = r0\nif r1 > 15 goto +2\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nr0 = 0\nexit';
  const r = verify(prog(text), { maps: { 7: ARR16 } });
  assert.equal(r.ok, true, r.errors[0]?.message);
});

test('32-bit comparisons narrow the low half', () => {
  const ok = LOOKUP16.replace('+L', '+6') + '\ncall bpf_get_prandom_u32\nw0 = w0\nif w0 > 15 goto +2\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nr0 = 0\nexit';
  assert.equal(verify(prog(ok), { maps: { 7: ARR16 } }).ok, true);
  const bad = ok.replace('if w0 > 15', 'if w0 > 16');
  const r = verify(prog(bad), { maps: { 7: ARR16 } });
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!.reason, /may run past the end of the 16-byte map value/);
});

test('pointers survive a spill to the stack and a fill', () => {
  const text = LOOKUP16.replace('+L', '+4') + '\n*(u64 *)(r10 - 16) = r6\nr7 = *(u64 *)(r10 - 16)\nr0 = *(u64 *)(r7 + 8)\nr0 = 0\nexit';
  assert.equal(verify(prog(text), { maps: { 7: ARR16 } }).ok, true);
  const partial = text.replace('r7 = *(u64 *)(r10 - 16)', 'r7 = *(u32 *)(r10 - 16)');
  const r = verify(prog(partial), { maps: { 7: ARR16 } });
  assert.equal(r.ok, false);
  assert.match(r.errors[0]!.reason, /holds a scalar/);
});

test('bpf_loop callbacks: a stack counter converges, a bad return value is found', () => {
  const loop = 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 10\nld_pseudo r2, 4, 7\nr3 = r10\nr3 += -8\nr4 = 0\ncall bpf_loop\nr0 = *(u64 *)(r10 - 8)\nexit\nr3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit';
  const ok = verify(prog(loop, ProgType.SOCKET_FILTER, { btfExt: FUNC_INFO }));
  assert.equal(ok.ok, true, ok.errors[0]?.message);
  const bad = verify(prog(loop.replace(/r0 = 0\nexit$/, 'r0 = 2\nexit'), ProgType.SOCKET_FILTER, { btfExt: FUNC_INFO }));
  assert.equal(bad.ok, false);
  assert.equal(bad.errors[0]!.pc, 15);
  assert.match(bad.errors[0]!.reason, /callback must return 0 or 1/);
  // The callback's context pointer is checked inside the callback.
  const oob = verify(prog(loop.replace('r3 = *(u64 *)(r2 + 0)', 'r3 = *(u64 *)(r2 + 8)'), ProgType.SOCKET_FILTER, { btfExt: FUNC_INFO }));
  assert.equal(oob.ok, false);
  assert.match(oob.errors[0]!.reason, /outside the 512-byte stack/);
});

test('constants of frozen read-only data are known (dead branches are skipped)', () => {
  const ro: MapSpec = { name: '.rodata', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: Uapi.BPF_F_RDONLY_PROG, contents: [{ key: new Uint8Array(4), value: new Uint8Array([1, 0, 0, 0]) }] };
  const text = 'r1 = map[fd:3][0]+0\nr1 = *(u32 *)(r1 + 0)\nif r1 == 1 goto +2\nr0 = *(u64 *)(r10 + 8)\nexit\nr0 = 0\nexit';
  assert.equal(verify(prog(text), { maps: { 3: ro } }).ok, true);
  const rw = { ...ro, flags: 0 };
  assert.equal(verify(prog(text), { maps: { 3: rw } }).ok, false);
});

test('unsupported constructs are refused as unsupported, never accepted', () => {
  const kfunc = verify({ insns: [{ code: 0x85, dst: 0, src: 2, off: 0, imm: 1234 }, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], type: ProgType.SOCKET_FILTER });
  assert.match(kfunc.errors[0]!.reason, /^unsupported: kfunc/);
  const tracing = verify(prog('r0 = 0\nexit', ProgType.TRACING));
  assert.match(tracing.errors[0]!.reason, /^unsupported: program type/);
  const spin = verify(prog('r1 = r10\nr1 += -8\ncall bpf_spin_lock\nr0 = 0\nexit'));
  assert.match(spin.errors[0]!.reason, /^unsupported: .*bpf_spin_lock/);
  const callx = verify({ insns: [{ code: 0xb7, dst: 1, src: 0, off: 0, imm: 0 }, { code: 0x8d, dst: 1, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], type: ProgType.SOCKET_FILTER });
  assert.match(callx.errors[0]!.reason, /^unsupported: indirect calls/);
});

test('errors name the pc, the instruction, the reason, the source line and the kernel wording', () => {
  const p = prog(LOOKUP16.replace('if r0 == 0 goto +L\nr6 = r0', 'r1 = *(u64 *)(r0 + 0)') + '\nr0 = 0\nexit', ProgType.SOCKET_FILTER, {
    lines: [{ file: 'src/counter.bpf.c', line: 27, column: 2, text: '__u64 *v = bpf_map_lookup_elem(&m, &k); *v += 1;' }],
  });
  const e = assert.throws(() => assertVerified(p, { maps: { 7: HASH } }), VerifierError) as unknown;
  void e;
  const r = verify(p, { maps: { 7: HASH } });
  const err = r.errors[0]!;
  assert.ok(err instanceof VerifierError);
  assert.equal(err.pc, 7);
  assert.equal(
    err.message,
    "insn 7: r0 may be NULL here: bpf_map_lookup_elem at insn 6 can return NULL, so it must be checked (if r0 == 0 goto ...) before *(u64 *)(r0 + 0) — at 'r1 = *(u64 *)(r0 + 0)' (kernel: R0 invalid mem access 'map_value_or_null') (source: counter.bpf.c:27 '__u64 *v = bpf_map_lookup_elem(&m, &k); *v += 1;')",
  );
  assert.equal(err.sourceLine, "counter.bpf.c:27 '__u64 *v = bpf_map_lookup_elem(&m, &k); *v += 1;'");
});

test('the verbose log shows every processed instruction with the registers', () => {
  const r = verify(prog('r1 = 5\nr0 = r1\nexit'), { log: true });
  assert.ok(r.log.some((l) => /^1: r0 = r1 +; R1=ctx\(off=0\)|^1: r0 = r1 +; .*R1=5/.test(l)), r.log.join('\n'));
  assert.equal(r.stats.insnsProcessed, 3);
});

test('bpfkit verify (CLI)', (t) => {
  const obj = join(ROOT, 'examples/build/xdp_proto.bpf.o');
  if (!existsSync(obj)) return void t.skip('examples not built');
  const out = execFileSync(process.execPath, [join(ROOT, 'bin/bpfkit.js'), 'verify', obj], { encoding: 'utf8' });
  assert.match(out, /xdp_count_proto \(xdp, \d+ insns\): verified — \d+ insns processed/);
  const missing = spawnSync(process.execPath, [join(ROOT, 'bin/bpfkit.js'), 'verify', obj, '--program', 'nope'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no program named nope/);
});

// ---- mutation agreement with the kernel ----

const closers: { close(): void }[] = [];
after(() => closers.forEach((c) => c.close()));

test('mutated example programs: bpfkit (kernel policy) and the kernel agree', async (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root to load into the kernel');
  const dir = join(ROOT, 'examples/build');
  if (!existsSync(dir)) return void t.skip('examples not built');
  const { Btf } = await import('../../src/btf/btf.js');
  const { loadObjectSpec } = await import('../../src/elf/object.js');
  const { Collection } = await import('../../src/kernel/load/collection.js');
  const { KernelProgram } = await import('../../src/kernel/load/program.js');
  const btf = Btf.loadKernel();
  let seed = 99;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let agree = 0;
  const disagree: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.bpf.o'))) {
    const spec = loadObjectSpec(readFileSync(join(dir, f)), { targetBtf: btf as never });
    const c = Collection.load({ ...spec, programs: [], maps: spec.maps.map((m) => (m.type === MapType.PROG_ARRAY ? { ...m, initialSlots: undefined } : m)) });
    closers.push(c);
    for (const p of spec.programs) {
      for (let k = 0; k < 6; k++) {
        const insns = p.insns.map((i) => ({ ...i }));
        const pc = rnd(insns.length);
        const i = insns[pc]!;
        const cls = i.code & 7;
        if (pc > 0 && insns[pc - 1]!.code === 0x18) continue;
        if (cls === 1 || cls === 2 || cls === 3) i.off += [8, -8, 1, 4][rnd(4)]!;
        else if ((cls === 5 || cls === 6) && ![0x80, 0x90, 0x00].includes(i.code & 0xf0)) insns[pc] = { code: 0x05, dst: 0, src: 0, off: rnd(2) ? 0 : i.off, imm: 0 };
        else if ((cls === 7 || cls === 4) && !(i.code & 0x08) && ![0xd0, 0x80].includes(i.code & 0xf0)) i.imm += [1, 8, 100, -1][rnd(4)]!;
        else continue;
        const mine = verify({ ...p, insns }, { maps: spec.maps, strict: false }).ok;
        let kernel = true;
        try {
          KernelProgram.load({ ...p, insns }, { maps: (n) => c.maps.get(n)?.fd, btfFd: c.btf?.fd }).close();
        } catch {
          kernel = false;
        }
        if (mine === kernel) agree++;
        else disagree.push(`${f}:${p.name} pc ${pc}: bpfkit ${mine ? 'accept' : 'reject'}, kernel ${kernel ? 'accept' : 'reject'}`);
      }
    }
  }
  t.diagnostic(`mutants: ${agree} agree, ${disagree.length} disagree`);
  assert.ok(agree >= 50, `only ${agree} mutants`);
  assert.deepEqual(disagree, []);
});
