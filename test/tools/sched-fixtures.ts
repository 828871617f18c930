/**
 * Fixtures of the scheduler/I/O tool tests: one small gcc-built C program (`tsched`) with modes of known
 * behaviour, started blocked in read(0) so a tool can attach first, saying "done" on stdout once its work is over
 * (it then stays alive in pause() so its user stacks can still be symbolised). A last argument `fifo` runs it
 * SCHED_FIFO (exit code 3 when that is refused), so timings do not depend on the machine's other load.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitBlockedInRead } from '../../src/kernel/sys/fs.js';

const SRC = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
/* nanosleep issued from this very function (no libc frame in between: libc is built without frame pointers). */
__attribute__((noinline)) void napper(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
#if defined(__x86_64__)
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = SYS_nanosleep; register long x0 __asm__("x0") = (long)&ts; register long x1 __asm__("x1") = 0;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
#else
  nanosleep(&ts, 0);
#endif
}
__attribute__((noinline)) void spinner(double ms) { double end = now() + ms; volatile unsigned long x = 0; while (now() < end) for (int i = 0; i < 1000; i++) x += i; }
static void done(void) { write(1, "done\\n", 5); }
int main(int argc, char **argv) {
  const char *mode = argv[1];
  char c;
  if (strcmp(mode, "busy") == 0) { /* busy MS CPU: pinned, spins, exits (no handshake) */
    cpu_set_t set; CPU_ZERO(&set); CPU_SET(atoi(argv[3]), &set); sched_setaffinity(0, sizeof set, &set);
    spinner(atof(argv[2])); return 0;
  }
  if (strcmp(argv[argc - 1], "fifo") == 0) { /* any mode: SCHED_FIFO, so neither preempted nor kept waiting by normal tasks */
    struct sched_param sp = { .sched_priority = 1 };
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) return 3;
  }
  if (read(0, &c, 1) != 1) return 2;
  if (strcmp(mode, "nap") == 0) {
    for (int i = 0; i < atoi(argv[2]); i++) napper(atol(argv[3])); /* nap N MS */
  } else if (strcmp(mode, "spin") == 0) { /* spin N MS: N runs of MS ms of CPU, 20 ms sleeps between */
    for (int i = 0; i < atoi(argv[2]); i++) { spinner(atof(argv[3])); usleep(20000); }
  } else if (strcmp(mode, "stat") == 0) { /* stat PATH N: stat, lstat, fstatat, statx of PATH, N times each */
    struct stat st; struct statx sx; char p[256]; strncpy(p, argv[2], sizeof p - 1); p[sizeof p - 1] = 0;
    for (int i = 0; i < atoi(argv[3]); i++) { stat(p, &st); lstat(p, &st); fstatat(AT_FDCWD, p, &st, 0); statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &sx); }
    stat("/nonexistent/bpfkit-missing", &st);
  } else if (strcmp(mode, "sync") == 0) { /* sync FILE: fsync, fdatasync, syncfs once each on FILE, then sync() */
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0600);
    write(fd, "x", 1); fsync(fd); fdatasync(fd); syncfs(fd); close(fd); sync();
  }
  done();
  pause();
  return 0;
}`;

let bin: string | null | undefined;
/** Path of the tsched test program, or null when gcc cannot build it. */
export function tsched(): string | null {
  if (bin !== undefined) return bin;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sched-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tsched.c'), SRC);
  const out = join(dir, 'tsched');
  const r = spawnSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', out, join(dir, 'tsched.c')], { encoding: 'utf8' });
  bin = r.status === 0 ? out : null;
  return bin;
}

/** A tsched child blocked in read(0) until `go()`; `done` resolves when it has finished its work. */
export interface SchedChild {
  child: ChildProcess;
  pid: number;
  go(): void;
  /** Resolves once the child sits in read(0): attach after this so its start-up is not traced. */
  ready: Promise<void>;
  /** Resolves when the child wrote "done" (or exited). */
  done: Promise<void>;
  exited: Promise<number | null>;
  kill(): void;
}

/** Start `tsched MODE ARGS...` held in read(0). */
export function schedChild(args: string[]): SchedChild {
  const child = spawn(tsched()!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const pid = child.pid!;
  child.stdin!.on('error', () => {}); // EPIPE when the child already exited (e.g. SCHED_FIFO refused)
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const done = new Promise<void>((r) => {
    let s = '';
    child.stdout!.on('data', (b: Buffer) => {
      s += b.toString();
      if (s.includes('done')) r();
    });
    void exited.then(() => r());
  });
  return { child, pid, go: () => child.stdin!.write('g'), ready: waitBlockedInRead(pid, 0, 5000), done, exited, kill: () => reapChild(child) };
}

/** Kill a child if it still runs. */
export function reapChild(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Run a tool against a held child: released when the tool is attached, the tool stopped (through its signal)
 * `lingerMs` after the child said "done"; the child is killed afterwards.
 */
export async function withSchedChild<T>(h: SchedChild, run: (o: { signal: AbortSignal; onReady: () => void; duration: number }) => Promise<T>, lingerMs = 50): Promise<T> {
  await h.ready;
  const ac = new AbortController();
  void h.done.then(() => new Promise((r) => setTimeout(r, lingerMs))).then(() => ac.abort());
  try {
    return await run({ signal: ac.signal, onReady: () => h.go(), duration: 15 });
  } finally {
    h.kill();
  }
}
