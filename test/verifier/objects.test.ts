/**
 * Real programs: every program of the example objects (examples/build/*.bpf.o, CO-RE applied against the running
 * kernel's BTF) and of the parity programs (test/parity/progs, compiled with clang here) must be accepted by
 * bpfkit's verifier, with bpfkit's default (strict) policy; as root the kernel must accept them too.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf } from '../../src/btf/btf.js';
import { loadObjectSpec } from '../../src/elf/object.js';
import type { ObjectSpec } from '../../src/spec/program.js';
import { verify } from '../../src/verifier/index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const EXAMPLES = join(ROOT, 'examples/build');
const PARITY_SRC = join(ROOT, 'test/parity/progs');
const isRoot = process.getuid?.() === 0;
const rows: string[] = [];
const tmp: string[] = [];
after(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

function kernelBtf(): Btf | undefined {
  return existsSync('/sys/kernel/btf/vmlinux') ? Btf.loadKernel() : undefined;
}

function compileParity(): string | undefined {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const out = mkdtempSync(join(tmpdir(), 'bpfkit-verifier-'));
  tmp.push(out);
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  for (const f of readdirSync(PARITY_SRC).filter((x) => x.endsWith('.bpf.c'))) {
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', join(PARITY_SRC, f), '-o', join(out, f.replace(/\.c$/, '.o'))], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  return out;
}

async function kernelVerdicts(spec: ObjectSpec): Promise<Map<string, string | undefined>> {
  const { Collection } = await import('../../src/kernel/load/collection.js');
  const c = Collection.load(spec, { skipFailedPrograms: true });
  try {
    const out = new Map<string, string | undefined>();
    for (const p of spec.programs) out.set(p.name, c.programs.has(p.name) ? undefined : (c.failures.get(p.name)?.message ?? 'not loaded'));
    return out;
  } finally {
    c.close();
  }
}

async function checkObject(t: { skip(m: string): void; diagnostic(m: string): void }, path: string, label: string): Promise<void> {
  const spec = loadObjectSpec(readFileSync(path), { targetBtf: kernelBtf() as never });
  assert.ok(spec.programs.length > 0);
  const kernel = isRoot ? await kernelVerdicts(spec) : undefined;
  for (const p of spec.programs) {
    const r = verify(p, { maps: spec.maps });
    const loose = verify(p, { maps: spec.maps, strict: false });
    const k = kernel ? (kernel.get(p.name) === undefined ? 'accept' : `reject (${kernel.get(p.name)})`) : 'not run (needs root)';
    rows.push(`${label}:${p.name}`.padEnd(44) + ` bpfkit ${r.ok ? 'accept' : 'reject'} (${r.stats.insnsProcessed} insns, ${r.stats.states} states) / kernel ${k}`);
    assert.equal(r.ok, true, `${label}:${p.name}: ${r.errors[0]?.message}`);
    assert.equal(loose.ok, true);
    assert.ok(r.stats.insnsProcessed >= p.insns.length / 2, 'every path was walked');
    if (kernel) assert.equal(kernel.get(p.name), undefined, `${label}:${p.name}: the kernel rejected it`);
  }
  if (!kernel) t.skip('kernel comparison needs root');
}

const examples = existsSync(EXAMPLES) ? readdirSync(EXAMPLES).filter((f) => f.endsWith('.bpf.o')) : [];
test('example objects exist', { skip: examples.length ? false : 'examples/build not built (scripts/build-examples.sh)' }, () => {
  assert.ok(examples.length >= 5);
});
for (const f of examples) {
  test(`example ${f}: every program is accepted`, async (t) => checkObject(t, join(EXAMPLES, f), f.replace('.bpf.o', '')));
}

test('parity programs: every program is accepted', async (t) => {
  const dir = compileParity();
  if (!dir) return void t.skip('clang not installed');
  const objs = readdirSync(dir).filter((f) => f.endsWith('.o'));
  assert.ok(objs.length >= 5);
  for (const f of objs) await checkObject(t, join(dir, f), f.replace('.bpf.o', ''));
});

test('objects agreement table', (t) => {
  t.diagnostic(`\n${rows.join('\n')}`);
  assert.ok(rows.length > 0);
});
