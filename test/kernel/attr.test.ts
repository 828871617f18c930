/**
 * The attr layout table (src/kernel/sys/attr.ts) against C: compiles a program with gcc printing offsetof /
 * sizeof of every field, against the system's <linux/bpf.h> + <linux/perf_event.h> (fields newer than the
 * header are dropped after gcc names them) and, when bpftool is present, against the running kernel's BTF
 * dumped as C (every field must exist there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BITFIELD_WORDS, LAYOUTS, layoutEnd, type FieldSpec } from '../../src/kernel/sys/attr.js';
import { hasTool, run } from './fixtures.js';

interface Row {
  layout: string;
  field: string;
  expr: string;
  type: string;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const [layout, l] of Object.entries(LAYOUTS)) {
    for (const field of Object.keys(l.fields)) {
      if (BITFIELD_WORDS[`${layout}.${field}`]) continue;
      out.push({ layout, field, expr: l.prefix + field, type: l.c });
    }
  }
  return out;
}

function program(header: string, list: Row[]): string {
  let c = `${header}\nint printf(const char *, ...);\nint main(void) {\n`;
  for (const r of list) {
    c += `  printf("%s %s %d %d\\n", "${r.layout}", "${r.field}", (int)__builtin_offsetof(${r.type}, ${r.expr}), (int)sizeof(((${r.type} *)0)->${r.expr}));\n`;
  }
  for (const [key, { after }] of Object.entries(BITFIELD_WORDS)) {
    const [layout] = key.split('.');
    const l = LAYOUTS[layout as keyof typeof LAYOUTS];
    c += `  printf("%s %s %d %d\\n", "${layout}", "${key.split('.')[1]}", (int)(__builtin_offsetof(${l.c}, ${after}) + sizeof(((${l.c} *)0)->${after})), 8);\n`;
  }
  return c + '  return 0;\n}\n';
}

/** Compile and run; fields the header lacks are dropped (gcc: "has no member named"). Returns [rows, dropped]. */
function measure(dir: string, header: string, list: Row[], allowMissing: boolean): { got: Map<string, FieldSpec>; missing: string[] } {
  const missing: string[] = [];
  let current = list;
  for (let attempt = 0; attempt < 4; attempt++) {
    const src = join(dir, 'layout.c');
    writeFileSync(src, program(header, current));
    const exe = join(dir, 'layout');
    const cc = run('gcc', ['-w', '-o', exe, src], { timeout: 120000 });
    if (cc.status !== 0) {
      const bad = new Set<string>();
      for (const m of cc.stderr.matchAll(/has no member named [‘'](\w+)[’']/g)) bad.add(m[1]!);
      if (!bad.size || !allowMissing) throw new Error(`gcc failed:\n${cc.stderr.slice(0, 2000)}`);
      const before = current.length;
      current = current.filter((r) => {
        const parts = r.expr.split('.');
        const drop = parts.some((p) => bad.has(p));
        if (drop) missing.push(`${r.layout}.${r.field}`);
        return !drop;
      });
      if (current.length === before) throw new Error(`gcc failed:\n${cc.stderr.slice(0, 2000)}`);
      continue;
    }
    const out = run(exe, []);
    const got = new Map<string, FieldSpec>();
    for (const line of out.stdout.trim().split('\n')) {
      const [layout, field, off, size] = line.split(' ');
      got.set(`${layout}.${field}`, [Number(off), Number(size)]);
    }
    return { got, missing };
  }
  throw new Error('too many fields missing');
}

function compare(got: Map<string, FieldSpec>): void {
  let checked = 0;
  for (const [key, [off, size]] of got) {
    const [layout, field] = key.split('.', 2) as [keyof typeof LAYOUTS, string];
    const spec = (LAYOUTS[layout].fields as Record<string, FieldSpec>)[key.slice(layout.length + 1)];
    assert.ok(spec, `${key} in table`);
    assert.deepEqual([spec[0], spec[1]], [off, size], `${layout}.${field}: table [${spec}] vs C [${off}, ${size}]`);
    checked++;
  }
  assert.ok(checked > 100, `checked ${checked} fields`);
}

test('attr layouts match <linux/bpf.h> compiled by gcc', { skip: hasTool('gcc') ? false : 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-attr-'));
  try {
    const { got, missing } = measure(dir, '#include <linux/bpf.h>\n#include <linux/perf_event.h>', rows(), true);
    compare(got);
    // Fields newer than the installed header are dropped from this comparison (the BTF test covers them).
    assert.ok(missing.length < got.size, `${missing.length} fields missing from the header`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attr layouts match the running kernel (BTF dumped as C by bpftool)', { skip: hasTool('bpftool') && hasTool('gcc') ? false : 'bpftool or gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-attr-'));
  try {
    const dump = run('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { timeout: 120000 });
    if (dump.status !== 0) throw new Error(dump.stderr);
    writeFileSync(join(dir, 'vmlinux.h'), dump.stdout);
    const { got, missing } = measure(dir, `#include "${join(dir, 'vmlinux.h')}"`, rows(), false);
    assert.deepEqual(missing, []);
    compare(got);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attr sizes end at the last field', () => {
  assert.equal(layoutEnd('MAP_CREATE'), 80);
  assert.equal(layoutEnd('MAP_ELEM'), 32);
  assert.ok(layoutEnd('PROG_LOAD') >= 144);
  assert.ok(layoutEnd('PERF_EVENT_ATTR') >= 112);
});
