/**
 * The hand-written corpus: each reject case is refused at the right pc for the right reason, each accept case
 * is accepted, and — as root — the real kernel's verdict on the same instructions agrees with bpfkit's
 * kernel-policy verdict (`strict: false`). Prints the agreement table.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { MapType, ProgType, Uapi } from '../../src/isa/uapi.js';
import type { MapSpec } from '../../src/spec/map.js';
import { verify, type MapLike } from '../../src/verifier/index.js';
import { CORPUS, type CorpusCase } from './corpus.js';

const MAP_SPECS: Record<string, MapSpec> = {
  MAP_HASH: { name: 'MAP_HASH', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 },
  MAP_ARR: { name: 'MAP_ARR', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4, flags: 0 },
  MAP_RO: { name: 'MAP_RO', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: Uapi.BPF_F_RDONLY_PROG },
  MAP_RB: { name: 'MAP_RB', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 },
  MAP_PROG: { name: 'MAP_PROG', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 },
};

const isRoot = process.getuid?.() === 0;
const closers: { close(): void }[] = [];
after(() => closers.forEach((c) => c.close()));

/** fd per placeholder: real kernel maps as root, made-up numbers otherwise. */
async function mapFds(): Promise<Record<string, number>> {
  const fds: Record<string, number> = {};
  if (isRoot) {
    const { KernelMap } = await import('../../src/kernel/maps/map.js');
    for (const [k, spec] of Object.entries(MAP_SPECS)) {
      const m = KernelMap.create(spec);
      closers.push(m);
      fds[k] = m.fd;
    }
  } else Object.keys(MAP_SPECS).forEach((k, i) => (fds[k] = 1000 + i));
  return fds;
}

function build(c: CorpusCase, fds: Record<string, number>) {
  let text = c.text;
  for (const [k, fd] of Object.entries(fds)) text = text.replaceAll(`map[fd:${k}]`, `map[fd:${fd}]`);
  const maps: Record<number, MapLike> = {};
  for (const [k, fd] of Object.entries(fds)) maps[fd] = MAP_SPECS[k]!;
  return { insns: assemble(text, { syntax: 'llvm' }), maps };
}

test('corpus has at least 40 reject cases', () => {
  assert.ok(CORPUS.filter((c) => c.reject).length >= 40, `${CORPUS.filter((c) => c.reject).length} reject cases`);
});

const rows: string[] = [];
let fdsP: Promise<Record<string, number>> | undefined;

for (const c of CORPUS) {
  test(`corpus: ${c.name}`, async (t) => {
    fdsP ??= mapFds();
    const fds = await fdsP;
    const { insns, maps } = build(c, fds);
    const type = ProgType[c.type];
    const r = verify({ insns, type, name: c.name }, { maps, maxInsns: c.maxInsns });
    if (c.reject) {
      assert.equal(r.ok, false, `${c.name}: expected a rejection`);
      const e = r.errors[0]!;
      assert.equal(e.pc, c.reject.pc, `${c.name}: pc (${e.message})`);
      assert.match(e.reason, c.reject.why, c.name);
      assert.match(e.message, new RegExp(`^insn ${c.reject.pc}: `));
    } else assert.equal(r.ok, true, `${c.name}: ${r.errors[0]?.message}`);
    const kernelPolicy = verify({ insns, type }, { maps, maxInsns: c.maxInsns, strict: false });
    if (c.strictOnly) assert.equal(kernelPolicy.ok, true, `${c.name}: accepted with strict: false`);
    const mine = kernelPolicy.ok ? 'accept' : 'reject';
    assert.equal(mine, c.kernel, `${c.name}: bpfkit (kernel policy) vs the expected kernel verdict`);
    if (!isRoot) {
      rows.push(`${c.name.padEnd(48)} bpfkit ${r.ok ? 'accept' : 'reject'} / kernel-policy ${mine} / kernel (not run)`);
      return void t.skip('kernel comparison needs root');
    }
    const { loadInsns } = await import('../../src/kernel/load/program.js');
    let kernel: 'accept' | 'reject' = 'accept';
    let kmsg = '';
    try {
      loadInsns(type, insns, { name: 'bk_vcorpus' }).close();
    } catch (e) {
      kernel = 'reject';
      kmsg = String((e as { log?: string }).log ?? (e as Error).message)
        .split('\n')
        .filter((l) => l && !/^processed|^verification time|^stack depth/.test(l))
        .pop() ?? '';
    }
    rows.push(`${c.name.padEnd(48)} bpfkit ${r.ok ? 'accept' : 'reject'} / kernel-policy ${mine} / kernel ${kernel}${kmsg ? ` (${kmsg.trim()})` : ''}`);
    assert.equal(kernel, c.kernel, `${c.name}: the kernel's verdict (${kmsg})`);
    assert.equal(mine, kernel, `${c.name}: bpfkit with the kernel's policy agrees with the kernel`);
  });
}

test('corpus agreement table', (t) => {
  t.diagnostic(`\n${rows.join('\n')}`);
  assert.ok(rows.length > 0);
});
