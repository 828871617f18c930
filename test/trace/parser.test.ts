/** Parser and semantic checks: accepted syntax, bpftrace-like error messages, and a fuzz run (only TraceSyntaxError). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { TraceSyntaxError } from '../../src/errors.js';
import { compileScript } from '../../src/trace/compile.js';
import { parseScript } from '../../src/trace/parser.js';
import type { TpField } from '../../src/trace/tpformat.js';

/** A fixed tracepoint layout so these tests need no tracefs. */
const FIELDS: TpField[] = [
  { name: 'common_pid', type: 'int', offset: 4, size: 4, signed: true, kind: 'int' },
  { name: 'dfd', type: 'int', offset: 16, size: 8, signed: true, kind: 'int' },
  { name: 'filename', type: 'const char *', offset: 24, size: 8, signed: false, kind: 'ptr' },
  { name: 'comm', type: 'char', offset: 32, size: 16, signed: false, kind: 'chars' },
  { name: 'args', type: 'unsigned long', offset: 48, size: 48, signed: false, kind: 'array' },
];
const compile = (src: string) => compileScript(src, { tracepointFields: () => FIELDS, hasChild: true });

function errorOf(src: string): string {
  try {
    compile(src);
  } catch (e) {
    assert.ok(e instanceof TraceSyntaxError, `expected TraceSyntaxError, got ${(e as Error).stack}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail(`compiled without error: ${src}`);
}

test('parses probes, predicates, statements and expressions', () => {
  const s = parseScript(`
    // comment
    BEGIN, END { $x = 1 + 2 * 3; @a[1, "k"] = $x > 2 ? -1 : ~5; @c++; @d += 3; if ($x) { exit(); } else if (1) { print(@a); } else { clear(@a) } }
    tracepoint:syscalls:sys_enter_openat /pid == 123 && comm == "bash"/ { @[comm] = count(); /* c */ printf("%s %d\\n", str(args->filename), args.dfd); }
    uprobe:/bin/bash:readline /pid/ { @h = hist(arg0); }
  `);
  assert.equal(s.probes.length, 3);
  assert.deepEqual(s.probes[0]!.specs.map((x) => x.text), ['BEGIN', 'END']);
  assert.equal(s.probes[2]!.specs[0]!.text, 'uprobe:/bin/bash:readline');
  assert.equal(s.probes[1]!.pred?.kind, 'binop');
  assert.equal(s.probes[0]!.body.length, 5);
});

test('predicate division needs parentheses, like bpftrace', () => {
  const s = parseScript('BEGIN /(10 / 2) == 5/ { exit(); }');
  assert.equal(s.probes[0]!.pred?.kind, 'binop');
});

test('bpftrace-style error messages with line and column range', () => {
  assert.equal(errorOf('BEGIN { foo(); }'), 'stdin:1:9-12: ERROR: Unknown function: foo');
  assert.equal(errorOf('BEGIN { @x = bar; }'), "stdin:1:14-17: ERROR: Unknown identifier: 'bar'");
  assert.equal(errorOf('BEGIN { $x; }'), 'stdin:1:9-11: ERROR: Undefined or undeclared variable: $x');
  assert.equal(errorOf('BEGIN { count(); }'), 'stdin:1:9-16: ERROR: count() should be directly assigned to a map');
  assert.equal(errorOf('BEGIN { printf("%d\\n"); }'), 'stdin:1:9-23: ERROR: printf: Not enough arguments for format string (0 supplied, 1 expected)');
  assert.match(errorOf('BEGIN { @x = 1; @x = "a"; }'), /^stdin:1:17-19: ERROR: Type mismatch for @x/);
  assert.match(errorOf('BEGIN {\n  @x = 1 +;\n}'), /^stdin:2:\d+-\d+: ERROR: syntax error/);
  assert.match(errorOf('BEGIN { printf("%s", 1); }'), /%s specifier expects a value of type string/);
  assert.match(errorOf('BEGIN { @x[1] = 1; @x["a"] = 2; }'), /Argument mismatch for @x/);
  assert.match(errorOf('BEGIN { @l = lhist(1, 0, 10, 0); }'), /step must be >= 1/);
  assert.match(errorOf('BEGIN { print(@nope); }'), /Undefined map: @nope/);
  assert.match(errorOf('foo:bar { }'), /Invalid probe type: foo/);
  assert.match(errorOf('BEGIN { $x = arg0; }'), /arg0 builtin can only be used/);
  assert.match(errorOf('BEGIN { @x = retval; }'), /retval builtin can only be used/);
  assert.match(errorOf('t:syscalls:sys_enter_openat { @ = args->nope; }'), /does not contain a field named 'nope'/);
});

test('unsupported features say so', () => {
  for (const src of [
    'BEGIN { @ = strerror(1); }',
    'BEGIN { @ = kptr(0); }',
    'BEGIN { @ = ctx; }',
    't:syscalls:sys_enter_openat { @ = args->args; }',
    'BEGIN { @c = count(); @x = @c; }',
    'BEGIN { for ($i = 0; $i < 3; $i++) { } }',
    'BEGIN { @ = strftime("%U", nsecs); }',
    'BEGIN { @ = &pid; }',
  ]) {
    assert.match(errorOf(src), /not supported by bpfkit yet/, src);
  }
});

test('positional parameters, casts, loops: values and bpftrace-style errors', () => {
  const withParams = (src: string, params: string[]) => compileScript(src, { tracepointFields: () => FIELDS, params });
  assert.ok(withParams('BEGIN { @ = $1 + $2; @s = str($3); }', ['1', '-0x10']));
  assert.throws(() => withParams('BEGIN { printf("%d\\n", $1 + 1); }', ['hello']), { message: 'stdin:1:24-26: ERROR: $1 used numerically but given "hello". Try using str($1).' });
  assert.throws(() => withParams('BEGIN { unroll($1) { } }', ['0']), /unroll minimum value is 1/);
  assert.equal(errorOf('BEGIN { unroll(101) { @a = 1; } }'), 'stdin:1:9-20: ERROR: unroll maximum value is 100');
  assert.equal(errorOf('BEGIN { break; }'), 'stdin:1:9-14: ERROR: break used outside of a loop');
  assert.equal(errorOf('BEGIN { unroll(2) { break; } }'), 'stdin:1:21-26: ERROR: break used outside of a loop');
  assert.equal(errorOf('BEGIN { $a = 1; unroll($a) { @a = 1; } }'), 'stdin:1:17-26: ERROR: syntax error, unexpected variable $a, expecting $# or - or positional parameter or integer');
  assert.equal(errorOf('BEGIN { @a = (int)-1; }'), "stdin:1:14-19: ERROR: Unknown struct/union: 'int'");
  assert.equal(errorOf('BEGIN { @a = (int8)"x"; }'), 'stdin:1:14-20: ERROR: Casts are not supported for type: "string[64]"');
  assert.equal(errorOf('BEGIN { @a = pid->x; }'), "stdin:1:14-20: ERROR: Can not access field 'x' on expression of type 'unsigned int64'");
  assert.match(errorOf('BEGIN { $i = 0; while ("a") { } }'), /Invalid condition in while\(\)/);
  assert.match(errorOf('struct foo { int a; } BEGIN { $p = (struct foo *)0; @ = $p->b; }'), /Struct\/union of type 'struct foo' does not contain a field named 'b'/);
  assert.match(errorOf('struct foo { int a; } BEGIN { $p = (struct foo *)0; @ = $p.a; }'), /Try dereferencing it first, or using '->'/);
  assert.equal(errorOf('BEGIN { $x = join(0); }'), 'stdin:1:14-21: ERROR: join() should not be used in an assignment or as a map key');
  assert.match(errorOf('BEGIN { join("a"); }'), /join\(\) only supports int or pointer arguments/);
  assert.match(errorOf('BEGIN { join(0, 1); }'), /join\(\) expects a string literal as its delimiter/);
  assert.match(errorOf('BEGIN { join(); }'), /join\(\) requires 1 or 2 arguments/);
  assert.match(errorOf('struct foo { char s[4]; } BEGIN { $p = (struct foo *)0; @ = $p->s[1]; }'), /can only be used on arrays and pointers, found string/);
  assert.match(errorOf('BEGIN { @ = ntop("x"); }'), /ntop\(\) expects an integer or an array of 4 or 16 bytes/);
});

test('struct definitions: C layout (alignment, arrays, unions, self pointers)', () => {
  const s = parseScript('struct a { char c; long l; short s[3]; struct a *next; }; union u { int i; char b[6]; } BEGIN { }');
  assert.deepEqual(s.structs.map((d) => [d.kind, d.name, d.members.map((m) => `${m.type}|${m.name}|${m.array.join(',')}`)]), [
    ['struct', 'a', ['char|c|', 'long|l|', 'short|s|3', 'struct a *|next|']],
    ['union', 'u', ['int|i|', 'char|b|6']],
  ]);
  assert.ok(compile('struct a { char c; long l; short s[3]; struct a *next; } BEGIN { $p = (struct a *)0; @x = $p->next->next->l; @y = $p->s[2]; }'));
});

test('curtask and kernel structs come from vmlinux BTF', { skip: existsSync('/sys/kernel/btf/vmlinux') ? undefined : 'no kernel BTF' }, () => {
  assert.ok(compile('BEGIN { @ = curtask->real_parent->tgid; @c = curtask->comm; @w = curtask->se.load.weight; }'));
  assert.equal(errorOf('BEGIN { @a = curtask->nope; }'), "stdin:1:14-27: ERROR: Struct/union of type 'struct task_struct' does not contain a field named 'nope'");
  assert.equal(errorOf('BEGIN { @a = (struct nope *)0; }'), "stdin:1:14-29: ERROR: Unknown struct/union: 'struct nope'");
});

test('probe specs: aliases, units and errors', () => {
  const c = compile('t:syscalls:sys_enter_openat { } i:ms:100 { } interval:s:1 { } profile:hz:99 { } rawtracepoint:sys_enter { } kprobe:do_nanosleep { } ur:/bin/true:main { }');
  assert.deepEqual(
    c.probes.map((p) => p.ap.name),
    ['tracepoint:syscalls:sys_enter_openat', 'i:ms:100', 'interval:s:1', 'profile:hz:99', 'rawtracepoint:sys_enter', 'kprobe:do_nanosleep', 'uretprobe:/bin/true:main'],
  );
  const iv = c.probes[1]!.ap;
  assert.equal(iv.kind === 'interval' && iv.periodNs, 100e6);
  assert.match(errorOf('interval:xs:1 { }'), /Invalid unit/);
});

/** Deterministic PRNG for the fuzz run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SEEDS = [
  'BEGIN { @a[1] = 5; @h = hist(1000); printf("%d %s\\n", 42, "ab"); exit(); }',
  't:syscalls:sys_enter_openat /pid == 123/ { @[comm] = count(); $x = args->dfd; if ($x > 1) { @s = sum($x); } else { delete(@s); } }',
  'uprobe:/bin/true:main { @l = lhist(arg0, 0, 100, 10); @m = min(arg1); @M = max(arg1); @st = stats(arg2); }',
  'interval:ms:100 { @x++; @y += 2; print(@x); clear(@y); exit(); } END { printf("%s %x\\n", probe, nsecs); }',
];
const TOKENS = ['{', '}', '(', ')', '/', ';', ',', '@', '$x', '"s"', '1', '==', '&&', '?', ':', '->', '.', 'printf', 'count()', '[', ']', '++', '=', '+=', '!', '-', '*', 'if', 'else', 'BEGIN', 'arg0', 'comm', 'args', '\\', '"', '#', '/*'];

test('fuzz: thousands of mutated scripts only ever throw TraceSyntaxError', () => {
  const r = rng(12345);
  let compiled = 0;
  for (let i = 0; i < 3000; i++) {
    let s = SEEDS[i % SEEDS.length]!;
    const edits = 1 + Math.floor(r() * 4);
    for (let j = 0; j < edits; j++) {
      const at = Math.floor(r() * (s.length + 1));
      const op = r();
      if (op < 0.35) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 3));
      else if (op < 0.7) s = s.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(at);
      else if (op < 0.85) s = s.slice(0, at) + String.fromCharCode(32 + Math.floor(r() * 95)) + s.slice(at);
      else s = s.slice(0, at);
    }
    try {
      compile(s);
      compiled++;
    } catch (e) {
      if (!(e instanceof TraceSyntaxError)) assert.fail(`script ${JSON.stringify(s)} threw ${(e as Error).stack}`);
      assert.ok(!e.message.includes("\n"), JSON.stringify(e.message));
    }
  }
  assert.ok(compiled > 0, 'some mutations still compile');
});
