/** Shared helpers for the trace tests: root check, a compiled test binary, and running scripts to text. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileScript } from '../../src/trace/compile.js';
import { runScript, type RunOptions } from '../../src/trace/runtime.js';

/** Why kernel tests cannot run here, or undefined. */
export const noKernel: string | undefined = process.getuid?.() !== 0 ? 'needs root for bpf(2)' : undefined;

const CHILD_C = `
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) int work(long n) { __asm__ volatile(""); return (int)n * 2; }
struct pt { int a; char name[8]; long b; short s[3]; };
__attribute__((noinline)) int use(struct pt *p) { __asm__ volatile("" : : "r"(p) : "memory"); return p->a; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5;
  /* The path lives on the (resident) stack: a probe's str() cannot fault a page in. */
  volatile char path[32] = "/etc/hostname";
  for (int i = 0; i < n; i++) { int fd = openat(AT_FDCWD, (const char *)path, O_RDONLY); if (fd >= 0) close(fd); }
  for (int i = 0; i < n; i++) getpid();
  long vals[] = {1, 2, 3, 5, 8, 100, 1000, 50};
  for (int i = 0; i < 8; i++) work(vals[i]);
  struct pt p = { -7, "point", 1234567890123L, { 1, -2, 3 } };
  use(&p);
  return 0;
}
`;

let child: string | undefined | null;
/**
 * Path of the test binary (openat ×N, getpid ×N, work(1,2,3,5,8,100,1000,50), use(&{-7, "point",
 * 1234567890123, {1, -2, 3}})), or null without gcc.
 */
export function testBinary(): string | null {
  if (child !== undefined) return child;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-trace-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'child.c'), CHILD_C);
  const out = join(dir, 'tchild');
  const r = spawnSync('gcc', ['-O1', '-o', out, join(dir, 'child.c')], { encoding: 'utf8' });
  child = r.status === 0 ? out : null;
  return child;
}

const USDT_C = `
#include <stdlib.h>
#include <sys/sdt.h>
static volatile long g = 40;
/* -O2: a[i] becomes a base + index * scale operand. */
__attribute__((noinline, optimize("O2"))) void sib(int *a, long i) { DTRACE_PROBE2(tprov, sib, a[i], i); }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  int arr[4] = {10, -20, 30, -40};
  volatile char name[8] = "s0";
  for (int i = 0; i < n; i++) {
    g += i;
    name[1] = '0' + i;
    DTRACE_PROBE3(tprov, step, i, &g, (char *)name);
    sib(arr, i % 4);
  }
  DTRACE_PROBE2(tprov, done, n, (short)-5);
  DTRACE_PROBE(other, mark);
  return 0;
}
`;

let usdtChild: string | undefined | null;
/**
 * Path of a silent USDT test binary (gcc -O0 with <sys/sdt.h>), or null. `tusdt N` fires, for i < N:
 * tprov:step(i, &g, "s<i>") with g = 40 + 0 + 1 + ... + i (args -4@-4(%rbp) 8@%rdx 8@%rax) and
 * tprov:sib({10, -20, 30, -40}[i % 4], i % 4) (-4@(%rdi,%rsi,4) -8@%rsi); then tprov:done(N, (short)-5)
 * (-4@-8(%rbp) -2@$-5) and other:mark().
 */
export function usdtBinary(): string | null {
  if (usdtChild !== undefined) return usdtChild;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-trace-usdt-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'u.c'), USDT_C);
  const out = join(dir, 'tusdt');
  const r = spawnSync('gcc', ['-O0', '-o', out, join(dir, 'u.c')], { encoding: 'utf8' });
  usdtChild = r.status === 0 ? out : null;
  return usdtChild;
}

/** Compile and run a script; returns all its output text. */
export async function runText(src: string, opts: Partial<RunOptions> & { params?: string[]; unsafe?: boolean } = {}): Promise<string> {
  const c = compileScript(src, { hasChild: opts.command !== undefined, params: opts.params, pid: opts.pid, unsafe: opts.unsafe });
  let out = '';
  await runScript(c, { childStdio: 'ignore', ...opts, write: (s) => (out += s) });
  return out;
}

const STACK_C = `
#include <unistd.h>
__attribute__((noinline)) int inner(long n) { __asm__ volatile(""); return getpid() + n; }
__attribute__((noinline)) int outer(long n) { int r = inner(n); __asm__ volatile(""); return r + 1; }
int main(void) { int r = outer(3); usleep(300000); return r > 0 ? 0 : 1; }
`;

let stackChild: string | undefined | null;
/**
 * Path of a binary built with frame pointers whose main() calls outer() → inner() → getpid() once, then sleeps
 * 300 ms (so its /proc/PID/maps can still be read when its user stacks are printed), or null without gcc.
 */
export function stackBinary(): string | null {
  if (stackChild !== undefined) return stackChild;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-trace-stk-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.c'), STACK_C);
  const out = join(dir, 'tstack');
  const r = spawnSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', out, join(dir, 's.c')], { encoding: 'utf8' });
  stackChild = r.status === 0 ? out : null;
  return stackChild;
}
