/** Shared helpers for the tools tests: root check, small C test programs, children released on demand. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitBlockedInRead } from '../../src/kernel/sys/fs.js';

/** Why kernel tests cannot run here, or undefined. */
export const noKernel: string | undefined = process.getuid?.() !== 0 ? 'needs root for bpf(2)' : undefined;

const SRC: Record<string, string> = {
  // openat("/etc/hostname") ×N then getpid() ×N.
  topen: `
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5;
  volatile char path[32] = "/etc/hostname";
  for (int i = 0; i < n; i++) { int fd = openat(AT_FDCWD, (const char *)path, O_RDONLY); if (fd >= 0) close(fd); }
  for (int i = 0; i < n; i++) getpid();
  return 0;
}`,
  // Burns CPU in spin() for argv[1] milliseconds.
  tbusy: `
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
__attribute__((noinline)) unsigned long spin(unsigned long n) { volatile unsigned long x = 0; for (unsigned long i = 0; i < n; i++) x += i; return x; }
int main(int argc, char **argv) {
  double end = now() + (argc > 1 ? atof(argv[1]) : 1000);
  while (now() < end) spin(100000);
  return 0;
}`,
  // kill(argv[1], argv[2]), then kill(0x3fffffff, 0) (no such process: -ESRCH).
  tkill: `
#include <signal.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  kill(atoi(argv[1]), atoi(argv[2]));
  kill(0x3fffffff, 0);
  return 0;
}`,
  // Connects to 127.0.0.1:argv[1], sends argv[2] bytes, reads until EOF, closes (the server closes first).
  ttcp: `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1])); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
  int n = atoi(argv[2]);
  char buf[4096]; memset(buf, 'x', sizeof buf);
  while (n > 0) { int w = write(s, buf, n < 4096 ? n : 4096); if (w <= 0) return 2; n -= w; }
  while (read(s, buf, sizeof buf) > 0) {}
  close(s);
  return 0;
}`,
  // Starts argv[1] threads running bpfkit_worker(), joins them, then lingers argv[2] ms.
  tthread: `
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) void *bpfkit_worker(void *arg) { __asm__ volatile(""); return arg; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  pthread_t t[16];
  for (int i = 0; i < n && i < 16; i++) pthread_create(&t[i], 0, bpfkit_worker, 0);
  for (int i = 0; i < n && i < 16; i++) pthread_join(t[i], 0);
  usleep(atoi(argv[2]) * 1000);
  return 0;
}`,
  // A second thread execs /bin/true "from a thread" (the kernel makes it the thread-group leader).
  texecthr: `
#include <pthread.h>
#include <unistd.h>
static void *run(void *arg) {
  /* On the stack: a probe cannot fault in a .rodata page the program never touched. */
  char path[] = "/bin/true", a1[] = "from a thread";
  execl(path, path, a1, (char *)0);
  return arg;
}
int main(void) {
  pthread_t t;
  pthread_create(&t, 0, run, 0);
  pthread_join(t, 0);
  return 1;
}`,
};

let dir: string | undefined;
const built = new Map<string, string | null>();
/** Path of test program `name` (see SRC), or null without gcc. */
export function testProgram(name: 'topen' | 'tbusy' | 'tkill' | 'ttcp' | 'tthread' | 'texecthr'): string | null {
  if (built.has(name)) return built.get(name)!;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'bpfkit-tools-'));
    const d = dir;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  writeFileSync(join(dir, `${name}.c`), SRC[name]!);
  const out = join(dir, name);
  const r = spawnSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-pthread', '-o', out, join(dir, `${name}.c`)], { encoding: 'utf8' });
  built.set(name, r.status === 0 ? out : null);
  return built.get(name)!;
}

/** A child that waits for `go()` before exec'ing `cmd args` (its pid stays the same through the exec). */
export interface HeldChild {
  child: ChildProcess;
  pid: number;
  go(): void;
  exited: Promise<number | null>;
  /** Resolves once the shell sits blocked in read(0, …): its own start-up syscalls are over. */
  ready: Promise<void>;
}

/** Start `/bin/sh -c 'read; exec cmd args'`: the pid is known before the program runs. */
export function heldChild(cmd: string, args: string[] = []): HeldChild {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('/bin/sh', ['-c', `read _; exec ${quoted}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const pid = child.pid!;
  return { child, pid, go: () => child.stdin!.end('go\n'), exited, ready: waitBlockedInRead(pid, 0, 5000) };
}

/** Kill a child if it still runs. */
export function reap(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run a tool with a held child released once the tool is attached; stop shortly after the child exits. */
export async function withChild<T>(h: HeldChild, run: (o: { signal: AbortSignal; onReady: () => void; duration: number }) => Promise<T>, lingerMs = 100): Promise<T> {
  await h.ready;
  const ac = new AbortController();
  void h.exited.then(() => sleep(lingerMs)).then(() => ac.abort());
  try {
    return await run({ signal: ac.signal, onReady: () => h.go(), duration: 10 });
  } finally {
    reap(h.child);
  }
}
