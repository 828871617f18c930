/**
 * `for ($kv : @map)` (bpftrace >= 0.21) on the real kernel through bpf_for_each_map_elem: keys and values of
 * one- and multi-key maps (integers and strings), outer scratch variables read and written in the body,
 * continue/break, the probe context used inside the loop, and the errors for what is not supported.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileScript } from '../../src/trace/compile.js';
import { noKernel, runText, testBinary } from './fixtures.js';

const bin = testBinary();

test('for loops over maps: keys, values, outer variables, continue, break, nested while', { skip: noKernel }, async () => {
  const out = await runText(
    'BEGIN { @m[1] = 10; @m[2] = 20; @m[3] = 30; @s["a", 1] = "x"; @s["b", 2] = "y"; $t = 0; $n = 0; $first = 0; ' +
      'for ($kv : @m) { $t += $kv.1; $n++; if ($kv.0 == 2) { continue; } @seen[$kv.0] = $kv.1 * 2; } ' +
      'for ($e : @s) { @back[$e.1, $e.0.1] = $e.0.0; } ' +
      'for ($kv : @m) { $i = 0; while (1) { $i++; if ($i > 4) { break; } } $first = $kv.0 * 100 + $i; break; } ' +
      'printf("%d %d %d\\n", $t, $n, $first % 100); exit(); }',
  );
  assert.match(out, /^Attaching 1 probe\.\.\.\n60 3 5\n\n\n/);
  assert.ok(out.endsWith('@back[x, 1]: a\n@back[y, 2]: b\n@m[1]: 10\n@m[2]: 20\n@m[3]: 30\n@s[a, 1]: x\n@s[b, 2]: y\n@seen[1]: 20\n@seen[3]: 60\n'), out);
});

test('for loop in a tracepoint probe: the context (args, pid) inside the callback', { skip: noKernel ?? (bin ? undefined : 'gcc cannot build the test binary') }, async () => {
  const out = await runText('tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @p[tid] = pid; for ($kv : @p) { @same = sum($kv.1 == pid); @nr[$kv.0 == tid] = args->__syscall_nr; } }', { command: `${bin} 3` });
  assert.match(out, /^Attaching 1 probe\.\.\.\n\n\n@nr\[1\]: 39\n@p\[\d+\]: \d+\n@same: 3\n$/);
});

test('for loop errors', () => {
  const err = (src: string) => {
    try {
      compileScript(src);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  assert.match(err('BEGIN { @c[1] = count(); for ($kv : @c) { } }'), /for loops over count\(\) maps \(per-CPU values\) is not supported by bpfkit yet/);
  assert.match(err('BEGIN { @m[1] = 1; for ($kv : @m) { @x = $kv; } }'), /Using the for loop variable \$kv as a whole/);
  assert.match(err('BEGIN { @m[1] = 1; for ($kv : @m) { @x = $kv.2; } }'), /Invalid tuple index: 2/);
  assert.match(err('BEGIN { @m[1] = 1; $kv = 1; for ($kv : @m) { } }'), /Loop declaration shadows existing variable: \$kv/);
  assert.match(err('BEGIN { for ($i = 0; $i < 3; $i++) { } }'), /not supported by bpfkit yet/);
  assert.match(err('BEGIN { for ($kv : @nope) { } }'), /Undefined map: @nope/);
  assert.match(err('BEGIN { @m[1] = 1; for ($kv : @m) { return; } }'), /return inside a for loop is not supported/);
});
