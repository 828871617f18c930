// `btf dump format c|raw`: the generated vmlinux.h compiles with clang -target bpf, clang's layout of every
// uniquely named struct matches BTF (sizes and member offsets), and both formats agree with bpftool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf, btfToC, btfToRaw, BtfBuilder } from '../../src/btf/index.js';
import { parseElf } from '../../src/elf/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasClang = spawnSync('clang', ['--version']).status === 0;
const hasBpftool = spawnSync('bpftool', ['version']).status === 0;
const noKernel = existsSync(VMLINUX) ? false : 'no kernel BTF at /sys/kernel/btf/vmlinux';
const needClang = noKernel || (hasClang ? false : 'clang is not installed');
const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));
const fixture = fileURLToPath(new URL('../../../test/btf/fixtures/core_old.bpf.c', import.meta.url));

let dir = '';
let header = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfkit-cdump-'));
  if (!noKernel) {
    header = btfToC(Btf.loadKernel());
    writeFileSync(join(dir, 'vmlinux.h'), header);
  }
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function clang(file: string, extra: string[] = []) {
  return spawnSync('clang', ['-target', 'bpf', '-O2', '-g', '-c', file, '-o', join(dir, 'out.o'), ...extra], { encoding: 'utf8', cwd: dir });
}

test('vmlinux.h has the guard, the preserve_access_index block and core types', { skip: noKernel }, () => {
  assert.ok(header.startsWith('#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n'));
  assert.match(header, /#pragma clang attribute push \(__attribute__\(\(preserve_access_index\)\), apply_to = record\)/);
  assert.match(header, /\nstruct task_struct \{\n/);
  assert.match(header, /\ntypedef unsigned int __u32;\n/);
  assert.ok(header.trimEnd().endsWith('#endif /* __VMLINUX_H__ */'));
  // Forward declarations come before their use through pointers; definitions before by-value embedding.
  const listHead = header.indexOf('\nstruct list_head {');
  const firstEmbed = header.search(/\n\tstruct list_head [a-z_]+;/);
  assert.ok(listHead >= 0 && firstEmbed > listHead, 'struct list_head is defined before it is embedded');
});

test('a BPF program compiles against the generated vmlinux.h', { skip: needClang }, () => {
  const src = join(dir, 'prog.bpf.c');
  writeFileSync(
    src,
    `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, u32); __type(value, u64); } counts SEC(".maps");
SEC("tp_btf/sched_switch")
int handle(u64 *ctx) {
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	u32 pid = BPF_CORE_READ(t, real_parent, tgid);
	u64 one = 1, *v = bpf_map_lookup_elem(&counts, &pid);
	if (bpf_core_field_exists(t->pid) && v) __sync_fetch_and_add(v, 1);
	else bpf_map_update_elem(&counts, &pid, &one, BPF_ANY);
	return bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const r = clang(src);
  assert.equal(r.status, 0, r.stderr);
  const elf = parseElf(readFileSync(join(dir, 'out.o')));
  assert.ok(elf.section('.BTF.ext'), 'the object carries CO-RE relocations');
});

/** Does `id` embed (by value, not through a pointer) a va_list, whose size differs between targets? */
function embedsVaList(btf: Btf, id: number, depth = 0): boolean {
  if (depth > 40) return false;
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'typedef':
      return /va_list/.test(t.name) || embedsVaList(btf, t.typeId, depth + 1);
    case 'const':
    case 'volatile':
    case 'array':
      return embedsVaList(btf, t.typeId, depth + 1);
    case 'struct':
    case 'union':
      return t.members.some((m) => embedsVaList(btf, m.typeId, depth + 1));
    default:
      return false;
  }
}

test("clang's layout of every uniquely named struct/union matches BTF sizes and offsets", { skip: needClang }, () => {
  const btf = Btf.loadKernel();
  const tags = new Map<string, number[]>();
  for (let id = 1; id < btf.typeCount; id++) {
    const k = btf.kindNameOf(id);
    if (k !== 'struct' && k !== 'union' && k !== 'enum' && k !== 'enum64') continue;
    const n = btf.nameOf(id);
    if (n) tags.set(n, [...(tags.get(n) ?? []), id]);
  }
  const lines = ['#include "vmlinux.h"'];
  let checked = 0;
  for (const [name, ids] of tags) {
    if (ids.length !== 1) continue;
    const t = btf.typeById(ids[0]!);
    if ((t.kind !== 'struct' && t.kind !== 'union') || embedsVaList(btf, t.id)) continue;
    checked++;
    lines.push(`_Static_assert(sizeof(${t.kind} ${name}) == ${t.size}, "${name}");`);
    for (const m of t.members) {
      if (m.name && !m.bitfieldSize) lines.push(`_Static_assert(__builtin_offsetof(${t.kind} ${name}, ${m.name}) == ${m.bitOffset / 8}, "${name}.${m.name}");`);
    }
  }
  assert.ok(checked > 1000, `checked ${checked} types`);
  writeFileSync(join(dir, 'layout.c'), lines.join('\n') + '\n');
  const r = clang(join(dir, 'layout.c'));
  assert.equal(r.status, 0, r.stderr.split('\n').slice(0, 20).join('\n'));
});

test('C output matches bpftool 7.x (which omits the 1-byte enum mode attribute)', { skip: noKernel || (hasBpftool ? false : 'bpftool is not installed') }, () => {
  const r = spawnSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const ours = header.replaceAll(' __attribute__((mode(byte)))', '').split('\n');
  const theirs = r.stdout.replaceAll(' __attribute__((mode(byte)))', '').split('\n');
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length) && diffs.length < 5; i++) {
    if (ours[i] !== theirs[i]) diffs.push(`line ${i + 1}: ours ${JSON.stringify(ours[i])} bpftool ${JSON.stringify(theirs[i])}`);
  }
  assert.deepEqual(diffs, []);
});

test('raw output is identical to bpftool', { skip: noKernel || (hasBpftool ? false : 'bpftool is not installed') }, () => {
  const r = spawnSync('bpftool', ['btf', 'dump', 'file', VMLINUX], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const ours = btfToRaw(Btf.loadKernel());
  assert.equal(ours.length, r.stdout.length);
  assert.ok(ours === r.stdout, 'raw dumps differ');
});

test('an object file BTF dumps to C that compiles, and selected roots pull in their dependencies', { skip: hasClang ? false : 'clang is not installed' }, () => {
  const obj = join(dir, 'core_old.o');
  const r = spawnSync('clang', ['-target', 'bpf', '-O2', '-g', '-c', fixture, '-o', obj], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const btf = Btf.parse(parseElf(readFileSync(obj)).section('.BTF')!.data);
  const h = btfToC(btf, { guard: 'CORE_OLD_H' });
  writeFileSync(join(dir, 'core_old.h'), h);
  writeFileSync(join(dir, 'use.c'), '#include "core_old.h"\nint f(struct task_struct___old *t) { return t->pid + PIDTYPE_TGID; }\n');
  const c = clang(join(dir, 'use.c'));
  assert.equal(c.status, 0, c.stderr);
  const id = btf.findByName('task_struct___old', 'struct')!.id;
  const only = btfToC(btf, { roots: [id], guard: '', preserveAccessIndex: false });
  assert.match(only, /^struct task_struct___old \{/);
  assert.doesNotMatch(only, /pid_type___old/);
});

test('padding, bitfields, packed structs, enum sizes, anonymous members and name clashes compile to the BTF layout', { skip: hasClang ? false : 'clang is not installed' }, () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const uint = b.addInt('unsigned int', 4);
  const char = b.addInt('char', 1, { signed: true, char: true });
  const long = b.addInt('long', 8, { signed: true });
  // A struct whose alignment gap is not natural: needs explicit padding.
  b.addStruct('aligned_gap', 64, [
    { name: 'a', typeId: int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'b', typeId: int, bitOffset: 256, bitfieldSize: 0 },
  ]);
  b.addStruct('bits', 8, [
    { name: 'x', typeId: uint, bitOffset: 0, bitfieldSize: 3 },
    { name: 'y', typeId: uint, bitOffset: 10, bitfieldSize: 5 },
    { name: 'z', typeId: uint, bitOffset: 32, bitfieldSize: 7 },
  ]);
  b.addStruct('packed', 9, [
    { name: 'c', typeId: char, bitOffset: 0, bitfieldSize: 0 },
    { name: 'l', typeId: long, bitOffset: 8, bitfieldSize: 0 },
  ]);
  const anonU = b.addStruct('', 8, [{ name: 'i', typeId: int, bitOffset: 0, bitfieldSize: 0 }, { name: 'l', typeId: long, bitOffset: 0, bitfieldSize: 0 }], true);
  b.addStruct('with_anon', 16, [
    { name: 'tag', typeId: int, bitOffset: 0, bitfieldSize: 0 },
    { name: '', typeId: anonU, bitOffset: 64, bitfieldSize: 0 },
  ]);
  const small = b.add({ kind: 'enum', name: 'small', size: 1, signed: false, values: [{ name: 'S_A', value: 1 }] });
  const wide = b.add({ kind: 'enum64', name: 'wide', size: 8, signed: false, values: [{ name: 'W_A', value: 1n << 40n }] });
  b.addStruct('enums', 16, [
    { name: 's', typeId: small, bitOffset: 0, bitfieldSize: 0 },
    { name: 'w', typeId: wide, bitOffset: 64, bitfieldSize: 0 },
  ]);
  // Two different structs named `dup`: the second is written as dup___2.
  b.addStruct('dup', 4, [{ name: 'a', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  b.addStruct('dup', 8, [{ name: 'b', typeId: long, bitOffset: 0, bitfieldSize: 0 }]);
  // Self-reference through a pointer and mutual recursion need forward declarations.
  const fwdNode = b.add({ kind: 'fwd', name: 'node', fwdKind: 'struct' });
  const pNode = b.addPtr(fwdNode);
  b.addStruct('node', 16, [
    { name: 'next', typeId: pNode, bitOffset: 0, bitfieldSize: 0 },
    { name: 'v', typeId: int, bitOffset: 64, bitfieldSize: 0 },
  ]);
  const btf = Btf.parse(b.encode());
  const h = btfToC(btf, { guard: 'T_H' });
  assert.match(h, /struct dup___2 \{/);
  assert.match(h, /\} __attribute__\(\(packed\)\);/);
  assert.match(h, /__attribute__\(\(mode\(byte\)\)\)/);
  writeFileSync(join(dir, 't.h'), h);
  const asserts = [
    '#include "t.h"',
    '_Static_assert(sizeof(struct aligned_gap) == 64, "gap");',
    '_Static_assert(__builtin_offsetof(struct aligned_gap, b) == 32, "gap.b");',
    '_Static_assert(sizeof(struct bits) == 8, "bits");',
    '_Static_assert(sizeof(struct packed) == 9, "packed");',
    '_Static_assert(__builtin_offsetof(struct packed, l) == 1, "packed.l");',
    '_Static_assert(sizeof(struct with_anon) == 16, "anon");',
    '_Static_assert(__builtin_offsetof(struct with_anon, l) == 8, "anon.l");',
    '_Static_assert(sizeof(enum small) == 1, "small");',
    '_Static_assert(sizeof(struct enums) == 16, "enums");',
    '_Static_assert(sizeof(struct dup) == 4 && sizeof(struct dup___2) == 8, "dup");',
    'int f(struct bits *b, struct node *n) { return b->y + n->next->v; }',
  ];
  writeFileSync(join(dir, 'synthetic.c'), asserts.join('\n') + '\n');
  const r = clang(join(dir, 'synthetic.c'));
  assert.equal(r.status, 0, r.stderr + '\n' + h);
});

test('bpfkit btf dump CLI: raw by default, --format c, --type, errors', { skip: noKernel }, () => {
  const raw = spawnSync(process.execPath, [bin, 'btf', 'dump', '--type', 'list_head'], { encoding: 'utf8' });
  assert.equal(raw.status, 0, raw.stderr);
  assert.match(raw.stdout, /^\[\d+\] STRUCT 'list_head' size=16 vlen=2\n\t'next' type_id=\d+ bits_offset=0\n\t'prev' type_id=\d+ bits_offset=64\n$/);
  const c = spawnSync(process.execPath, [bin, 'btf', 'dump', VMLINUX, '--format', 'c', '--type', 'list_head'], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /struct list_head \{\n\tstruct list_head \*next;\n\tstruct list_head \*prev;\n\};/);
  const bad = spawnSync(process.execPath, [bin, 'btf', 'dump', '--format', 'xml'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: --format: 'xml' is not one of c, raw\n$/);
  const missing = spawnSync(process.execPath, [bin, 'btf', 'dump', join(dir, 'nope.btf')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^error: ENOENT/);
});
