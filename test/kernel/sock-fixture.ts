/**
 * Socket scaffolding for the cgroup / sockops / sockmap tests: a small C client (compiled once with gcc) that a
 * test holds at "ready", moves into a test cgroup, then lets do one socket operation (TCP connect + exchange,
 * bind, UDP send, sysctl read, serve one TCP connection) and report the result or the errno; and TCP socket
 * pairs on 127.0.0.1 made in this process through libc (fds a sockmap can take).
 */
import { existsSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libcFunction, addressOf, sys } from '../../src/kernel/sys/ffi.js';
import { bindInet, closeFd, recvNonBlocking, socket, AF_INET } from '../../src/kernel/sys/net.js';
import { kernelError } from '../../src/kernel/sys/errno.js';
import { hasTool, run, startHelper, type HelperChild } from './fixtures.js';

const CLIENT_C = String.raw`
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_packet.h>

static void say(const char *s) { if (write(1, s, strlen(s)) < 0) _exit(9); }
static int fail(const char *what) { char b[64]; snprintf(b, sizeof b, "err %s %d\n", what, errno); say(b); return 0; }
/* IPv4 or IPv6 (a ':' in the text) socket address. */
static socklen_t addr(const char *ip, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6; a->sin6_port = htons(port); inet_pton(AF_INET6, ip, &a->sin6_addr);
    return sizeof *a;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  a->sin_family = AF_INET; a->sin_port = htons(port); inet_pton(AF_INET, ip, &a->sin_addr);
  return sizeof *a;
}
static int readall(int fd, char *buf, int max) {
  int n = 0, r;
  while (n < max && (r = read(fd, buf + n, max - n)) > 0) n += r;
  buf[n] = 0;
  return r < 0 ? -1 : n;
}
/* Modes (each prints "ready", waits for one byte on stdin, does its work, prints the result and "done"):
 *   connect IP PORT MSG   TCP connect, send MSG, half-close, print "reply <all it got back>"
 *   bind IP PORT          bind a TCP socket, print "bind ok"
 *   udp IP PORT MSG       send one datagram, print "sent"
 *   sysctl PATH           read a /proc/sys file, print "sysctl <first line>"
 *   serve IP PORT         listen (port 0: any; prints "port P"), accept one connection, read to EOF, reply
 *                         "served:<data>", print "served <data>"
 *   frame IFACE HEX N     send the Ethernet frame HEX N times through an AF_PACKET socket on IFACE, print "sent"
 * Failures print "err <call> <errno>". */
int main(int argc, char **argv) {
  char c, buf[512], line[600];
  struct sockaddr_storage ss;
  if (argc < 3) return 2;
  say("ready\n");
  if (read(0, &c, 1) != 1) return 4;
  if (!strcmp(argv[1], "connect") && argc >= 5) {
    socklen_t l = addr(argv[2], atoi(argv[3]), &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&ss, l)) return fail("connect");
    if (write(s, argv[4], strlen(argv[4])) < 0) return fail("write");
    shutdown(s, SHUT_WR);
    if (readall(s, buf, sizeof buf - 1) < 0) return fail("read");
    snprintf(line, sizeof line, "reply %s\n", buf); say(line);
  } else if (!strcmp(argv[1], "bind")) {
    socklen_t l = addr(argv[2], atoi(argv[3]), &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&ss, l)) return fail("bind");
    say("bind ok\n");
  } else if (!strcmp(argv[1], "udp") && argc >= 5) {
    socklen_t l = addr(argv[2], atoi(argv[3]), &ss);
    int s = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (sendto(s, argv[4], strlen(argv[4]), 0, (struct sockaddr *)&ss, l) < 0) return fail("sendto");
    say("sent\n");
  } else if (!strcmp(argv[1], "sysctl")) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) return fail("open");
    int n = read(fd, buf, sizeof buf - 1);
    if (n < 0) return fail("read");
    buf[n] = 0; buf[strcspn(buf, "\n")] = 0;
    snprintf(line, sizeof line, "sysctl %s\n", buf); say(line);
  } else if (!strcmp(argv[1], "serve")) {
    socklen_t l = addr(argv[2], atoi(argv[3]), &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&ss, l) || listen(s, 4)) return fail("listen");
    if (getsockname(s, (struct sockaddr *)&ss, &l)) return fail("getsockname");
    snprintf(line, sizeof line, "port %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port)); say(line);
    int a = accept(s, 0, 0);
    if (a < 0) return fail("accept");
    if (readall(a, buf, 256) < 0) return fail("read");
    snprintf(line, sizeof line, "served:%s", buf);
    if (write(a, line, strlen(line)) < 0) return fail("write");
    close(a);
    snprintf(line, sizeof line, "served %s\n", buf); say(line);
  } else if (!strcmp(argv[1], "frame") && argc >= 5) {
    unsigned char f[1514]; int len = strlen(argv[3]) / 2, n = atoi(argv[4]);
    if (len > (int)sizeof f) return 2;
    for (int i = 0; i < len; i++) sscanf(argv[3] + 2 * i, "%2hhx", &f[i]);
    struct sockaddr_ll ll; memset(&ll, 0, sizeof ll);
    ll.sll_family = AF_PACKET; ll.sll_ifindex = if_nametoindex(argv[2]); ll.sll_halen = 6;
    memcpy(ll.sll_addr, f, 6);
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    if (s < 0 || !ll.sll_ifindex) return fail("socket");
    for (int i = 0; i < n; i++) if (sendto(s, f, len, 0, (struct sockaddr *)&ll, sizeof ll) != len) return fail("sendto");
    say("sent\n");
  } else return 2;
  say("done\n");
  return 0;
}
`;

let clientPath: string | undefined;
let clientError: string | undefined;

/** The socket client binary (built once per process), or why there is none. */
export function sockClient(): { path: string } | { skip: string } {
  if (clientPath) return { path: clientPath };
  if (clientError) return { skip: clientError };
  if (!hasTool('gcc')) return { skip: (clientError = 'gcc not installed (needed to build the socket test client)') };
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sock-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'client.c'), CLIENT_C);
  const out = join(dir, 'bk_sock');
  const r = run('gcc', ['-O1', '-o', out, join(dir, 'client.c')]);
  if (r.status !== 0) return { skip: (clientError = `cannot build the socket test client: ${r.stderr.trim().split('\n')[0]}`) };
  clientPath = out;
  return { path: out };
}

/** What one client run printed. */
export interface ClientResult {
  /** The result line without its keyword (`reply B:x` → `B:x`), when it succeeded. */
  value?: string;
  /** The errno of the failing call (`err bind 1` → 1). */
  errno?: number;
  /** The failing call. */
  call?: string;
  stdout: string;
}

/**
 * Start the client held at "ready", optionally move it into a cgroup (its pid written to cgroup.procs while
 * it waits), then let it go; `netns`: run it inside that named network namespace (ip netns exec).
 */
export async function startClient(bin: string, args: string[], opts: { cgroup?: string; netns?: string } = {}): Promise<HelperChild> {
  const child = opts.netns ? await startHelper('ip', ['netns', 'exec', opts.netns, bin, ...args]) : await startHelper(bin, args);
  try {
    if (opts.cgroup) writeFileSync(join(opts.cgroup, 'cgroup.procs'), String(child.pid));
  } catch (e) {
    child.kill();
    await child.done();
    throw e;
  }
  child.go();
  return child;
}

/** Run the client to the end (see `startClient`; `netns`: inside that named netns) and parse what it printed. */
export async function runClient(bin: string, args: string[], opts: { cgroup?: string; netns?: string } = {}): Promise<ClientResult> {
  const child = await startClient(bin, args, opts);
  const r = await child.done();
  return parseClient(r.stdout, r.status, r.stderr);
}

/** Parse the client's output (throws when it crashed or printed nothing useful). */
export function parseClient(stdout: string, status: number | null, stderr = ''): ClientResult {
  const err = /^err (\S+) (\d+)$/m.exec(stdout);
  if (err) return { call: err[1], errno: Number(err[2]), stdout };
  const ok = /^(?:reply|sysctl|served) ?(.*)$|^(bind ok|sent)$/m.exec(stdout);
  if (status !== 0 || !ok || !/^done$/m.test(stdout)) throw new Error(`socket client failed (status ${status}): ${stdout}${stderr}`);
  return { value: ok[1] ?? ok[2], stdout };
}

/**
 * Remove a test cgroup, retrying while the kernel still counts a just-exited process in it (rmdir says EBUSY
 * for a moment after the last task exits). Throws when it is still there after `ms`.
 */
export async function removeCgroup(path: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (e) {
      if (!existsSync(path)) return;
      if (Date.now() > end) throw new Error(`cannot remove the test cgroup ${path}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

// ---- TCP pairs in this process ---------------------------------------------------------------------------------

export const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_COOKIE = 57;

let fns: { listen: (fd: number, n: number) => number; connect: (fd: number, a: bigint, l: number) => number; accept4: (fd: number, a: bigint, l: bigint, f: number) => number; send: (fd: number, b: bigint, n: number, f: number) => number; getsockopt: (fd: number, lv: number, nm: number, v: bigint, l: bigint) => number } | undefined;
function libc() {
  fns ??= {
    listen: libcFunction('int listen(int fd, int backlog)') as never,
    connect: libcFunction('int connect(int fd, uint64_t addr, uint32_t len)') as never,
    accept4: libcFunction('int accept4(int fd, uint64_t addr, uint64_t lenp, int flags)') as never,
    send: ((f) => (fd: number, b: bigint, n: number, fl: number) => Number(f(fd, b, n, fl)))(libcFunction('long send(int fd, uint64_t buf, size_t len, int flags)')) as never,
    getsockopt: libcFunction('int getsockopt(int fd, int level, int name, uint64_t value, uint64_t lenp)') as never,
  };
  return fns;
}

/** A connected TCP pair on 127.0.0.1: `client` and the accepted `server` (the listener is closed). */
export interface TcpPair {
  client: number;
  server: number;
  port: number;
  close(): void;
}

/** Connect a TCP pair through loopback (blocking calls: loopback completes the handshake at once). */
export function tcpPair(): TcpPair {
  const f = libc();
  const l = socket(AF_INET, SOCK_STREAM);
  let c = -1;
  try {
    const port = bindInet(l, '127.0.0.1', 0);
    if (f.listen(l, 4) !== 0) throw kernelError('listen', sys().errno());
    c = socket(AF_INET, SOCK_STREAM);
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    sa.set([127, 0, 0, 1], 4);
    if (f.connect(c, addressOf(sa), 16) !== 0) throw kernelError('connect', sys().errno());
    const s = f.accept4(l, 0n, 0n, 0o2000000 /* SOCK_CLOEXEC */);
    if (s < 0) throw kernelError('accept4', sys().errno());
    const client = c;
    return {
      client,
      server: s,
      port,
      close() {
        closeFd(client);
        closeFd(s);
      },
    };
  } catch (e) {
    if (c >= 0) closeFd(c);
    throw e;
  } finally {
    closeFd(l);
  }
}

/** send(2) the whole buffer (small buffers on loopback go at once). */
export function sendAll(fd: number, data: string | Uint8Array): void {
  const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
  const n = libc().send(fd, addressOf(b), b.length, 0x4000 /* MSG_NOSIGNAL */);
  if (n !== b.length) throw kernelError('send', n < 0 ? sys().errno() : 5 /* EIO */, { detail: `${n} of ${b.length} bytes` });
}

/** Everything waiting on a (TCP) socket now, as text ('' when nothing). */
export function recvText(fd: number): string {
  let out = '';
  for (let b = recvNonBlocking(fd); b && b.length; b = recvNonBlocking(fd)) out += b.toString();
  return out;
}

/** The socket's cookie (SO_COOKIE): what a SOCKMAP lookup returns for it. */
export function socketCookie(fd: number): bigint {
  const v = Buffer.alloc(8);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(8);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_COOKIE, addressOf(v), addressOf(len)) !== 0) throw kernelError('getsockopt', sys().errno());
  return v.readBigUInt64LE(0);
}
