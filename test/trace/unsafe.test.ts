/**
 * signal(), system() and cat() on the real kernel: a signal sent to the traced child from a tracepoint (by
 * name and by a run-time number) kills it at its first traced call; system() runs its formatted command;
 * cat() prints files; --unsafe is required exactly where bpftrace requires it, with its messages.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileScript } from '../../src/trace/compile.js';
import { noKernel, runText, testBinary } from './fixtures.js';

const bin = testBinary();
const skipChild = noKernel ?? (bin ? undefined : 'gcc cannot build the test binary');

test('signal("KILL") and signal($n): the child dies at its first getpid', { skip: skipChild }, async () => {
  for (const [body, sig] of [['signal("KILL")', 'SIGKILL'], ['$s = 10; signal($s)', 'SIGUSR1'], ['signal(SIGTERM)', 'SIGTERM']] as const) {
    let child: ChildProcess | undefined;
    const out = await runText(`tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @ = count(); ${body}; }`, { command: `${bin} 5`, unsafe: true, onChild: (c) => (child = c) });
    assert.equal(out, 'Attaching 1 probe...\n\n\n@: 1\n', body);
    assert.equal(child!.signalCode, sig, body);
  }
});

test('system() runs the formatted command; cat() prints files (missing ones reported on stderr)', { skip: noKernel }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cat-'));
  try {
    writeFileSync(join(dir, 'a.txt'), 'no newline');
    let err = '';
    const out = await runText(
      `BEGIN { system("echo %d %s %x; echo err >&2", 42, "x", 255); cat("${dir}/a.txt"); cat("${dir}/%s.txt", "a"); printf("|\\n"); cat("${dir}/missing"); exit(); }`,
      { unsafe: true, stderr: (s) => (err += s) },
    );
    assert.equal(out, 'Attaching 1 probe...\n42 x ff\nno newlineno newline|\n\n\n');
    assert.equal(err, `err\nERROR: failed to open file '${dir}/missing': No such file or directory\n`);
    // JSON output: bpftrace's record types.
    const json = await runText(`BEGIN { cat("${dir}/a.txt"); system("echo hi"); exit(); }`, { unsafe: true, format: 'json' });
    assert.equal(json, '{"type":"attached_probes","data":{"probes":1}}\n{"type":"cat","data":"no newline"}\n{"type":"syscall","data":"hi\\n"}\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--unsafe errors and signal() checks like bpftrace', () => {
  const e = (src: string, re: RegExp, unsafe = true) => assert.throws(() => compileScript(src, { unsafe }), re);
  e('tracepoint:syscalls:sys_enter_getpid { signal(9); }', /stdin:1:40-49: ERROR: signal\(\) is an unsafe function being used in safe mode$/, false);
  e('BEGIN { system("echo hi"); }', /stdin:1:9-26: ERROR: system\(\) is an unsafe function being used in safe mode$/, false);
  e('BEGIN { signal(9); }', /stdin:1:9-18: ERROR: signal can not be used with "BEGIN" probes$/);
  e('interval:s:1 { signal(9); }', /signal can not be used with "interval" probes$/);
  e('tracepoint:syscalls:sys_enter_getpid { signal("SIGFOO"); }', /ERROR: SIGFOO is not a valid signal$/);
  e('tracepoint:syscalls:sys_enter_getpid { signal(65); }', /ERROR: 65 is not a valid signal, allowed range: \[1,64\]$/);
  e('tracepoint:syscalls:sys_enter_getpid { signal(comm); }', /signal only accepts string literals or integers$/);
  e('tracepoint:syscalls:sys_enter_getpid { signal(); }', /signal\(\) requires at least one argument \(0 provided\)$/);
  e('tracepoint:syscalls:sys_enter_getpid { $x = signal(1); }', /signal\(\) should not be used in an assignment or as a map key$/);
  // Valid spellings compile.
  for (const s of ['"SIGKILL"', '"kill"', '"sigusr1"', '64', 'KILL']) compileScript(`tracepoint:syscalls:sys_enter_getpid { signal(${s}); }`, { unsafe: true });
  compileScript('BEGIN { cat("/etc/hostname"); }');
});
