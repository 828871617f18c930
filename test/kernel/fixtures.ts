/**
 * Shared helpers for the kernel tests: tiny programs built from src/isa (counters, ring buffer and perf
 * output producers), byte helpers, command running, and the network namespace / cgroup scaffolding tests
 * create and always remove.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperId } from '../../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { PseudoLd } from '../../src/isa/opcodes.js';
import { cgroup2Root } from '../../src/kernel/features/probe.js';

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const u64 = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
export const readU64 = (b: Uint8Array | undefined): bigint => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(0) : -1n);
export const readU32 = (b: Uint8Array | undefined): number => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(0) : -1);

const MOV_IMM = 0xb7;
const MOV_REG = 0xbf;
const ADD_IMM = 0x07;
const RSH_IMM = 0x77;
const JNE_IMM = 0x55;
const JEQ_IMM = 0x15;
const ST_W = 0x62;
const ST_DW = 0x7a;
const STX_DW = 0x7b;
const ATOMIC_DW = 0xdb;
const CALL = 0x85;
const EXIT = 0x95;

/** Close the program: `r0 = ret; exit`. */
const ret = (r0: number): Insn[] => [insn(MOV_IMM, 0, 0, 0, r0), insn(EXIT)];

/**
 * A program that adds 1 to the u64 at key 0 of an array map (lock xadd), optionally only for one process
 * (tgid from bpf_get_current_pid_tgid), and returns `r0`.
 */
export function counterProgram(mapFd: number, opts: { tgid?: number; r0?: number } = {}): Insn[] {
  const body: Insn[] = [
    insn(ST_W, 10, 0, -4, 0),
    ...lddw(1, mapFd, PseudoLd.MAP_FD),
    insn(MOV_REG, 2, 10),
    insn(ADD_IMM, 2, 0, 0, -4),
    insn(CALL, 0, 0, 0, HelperId.map_lookup_elem!),
    insn(JEQ_IMM, 0, 0, 2, 0),
    insn(MOV_IMM, 1, 0, 0, 1),
    insn(ATOMIC_DW, 0, 1, 0, 0),
  ];
  const pre: Insn[] = [];
  if (opts.tgid !== undefined) {
    pre.push(insn(CALL, 0, 0, 0, HelperId.get_current_pid_tgid!), insn(RSH_IMM, 0, 0, 0, 32), insn(JNE_IMM, 0, 0, body.length, opts.tgid));
  }
  return [...pre, ...body, ...ret(opts.r0 ?? 0)];
}

/** A program that writes the u64 `value` (or the caller's tgid) to a ring buffer with bpf_ringbuf_output. */
export function ringbufProgram(rbFd: number, opts: { value?: number; tgid?: boolean; r0?: number } = {}): Insn[] {
  const head: Insn[] = opts.tgid
    ? [insn(CALL, 0, 0, 0, HelperId.get_current_pid_tgid!), insn(RSH_IMM, 0, 0, 0, 32), insn(STX_DW, 10, 0, -8, 0)]
    : [insn(ST_DW, 10, 0, -8, opts.value ?? 42)];
  return [
    ...head,
    ...lddw(1, rbFd, PseudoLd.MAP_FD),
    insn(MOV_REG, 2, 10),
    insn(ADD_IMM, 2, 0, 0, -8),
    insn(MOV_IMM, 3, 0, 0, 8),
    insn(MOV_IMM, 4, 0, 0, 0),
    insn(CALL, 0, 0, 0, HelperId.ringbuf_output!),
    ...ret(opts.r0 ?? 0),
  ];
}

/** A program that sends the u64 `value` through bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, &v, 8). */
export function perfOutputProgram(mapFd: number, value = 7): Insn[] {
  return [
    insn(ST_DW, 10, 0, -8, value),
    ...lddw(2, mapFd, PseudoLd.MAP_FD),
    ...lddw(3, 0xffffffffn),
    insn(MOV_REG, 4, 10),
    insn(ADD_IMM, 4, 0, 0, -8),
    insn(MOV_IMM, 5, 0, 0, 8),
    insn(CALL, 0, 0, 0, HelperId.perf_event_output!),
    ...ret(0),
  ];
}

/** Run a command; returns status and output (never throws). */
export function run(cmd: string, args: string[], opts: { input?: string; timeout?: number } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeout ?? 20000, maxBuffer: 512 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** True when a command exists on PATH. */
export function hasTool(name: string): boolean {
  return run('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** A veth pair: `host` end in this namespace (10.231.x.1), `peer` in a fresh netns (10.231.x.2). */
export interface VethNetns {
  ns: string;
  host: string;
  peer: string;
  hostIp: string;
  peerIp: string;
  /** Run a command inside the netns. */
  exec(cmd: string[]): { status: number; stdout: string; stderr: string };
  cleanup(): void;
}

/** The python3 interpreter (tests send traffic from inside a netns with it), or undefined when not installed. */
export const python3 = ['/usr/bin/python3', '/usr/local/bin/python3'].find(existsSync);

/** Send `n` UDP datagrams (port 9999) from inside the netns to the host end: they arrive on its ingress. Needs python3. */
export function udpFromNetns(net: VethNetns, n: number): void {
  const r = net.exec([python3!, '-c', `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(${n}): s.sendto(b'bpfkit', ('${net.hostIp}', 9999))\n`]);
  assert.equal(r.status, 0, r.stderr);
}

/** Send `n` UDP datagrams (port 9999) from the host end into the netns: they leave through the host end's egress. */
export async function udpToNetns(net: VethNetns, n: number): Promise<void> {
  const s = createSocket('udp4');
  try {
    for (let i = 0; i < n; i++) await new Promise<void>((res, rej) => s.send('bpfkit', 9999, net.peerIp, (e) => (e ? rej(e) : res())));
  } finally {
    s.close();
  }
}

/**
 * Create the netns + veth scaffolding (skip the test when `ip` is missing). Always call `cleanup()`.
 * `quiet`: no traffic of its own on the link — IPv6 off on both ends (no ND/MLD/RS) and permanent ARP entries
 * both ways — so packet counters see exactly what a test sends. The /24 is one no interface uses yet.
 */
export function makeVethNetns(tag: string, opts: { quiet?: boolean } = {}): VethNetns {
  const id = process.pid % 10000;
  const ns = `bpfkit-test-${process.pid}-${tag}`;
  const host = `bk${tag.slice(0, 3)}${id}h`.slice(0, 15);
  const peer = `bk${tag.slice(0, 3)}${id}p`.slice(0, 15);
  let net = 10 + ((process.pid + tag.length * 7 + tag.charCodeAt(0)) % 200);
  const used = run('ip', ['-o', '-4', 'addr']).stdout;
  for (let i = 0; i < 200 && used.includes(`10.231.${net}.`); i++) net = 10 + ((net - 10 + 1) % 200);
  const hostIp = `10.231.${net}.1`;
  const peerIp = `10.231.${net}.2`;
  const cleanup = () => {
    run('ip', ['link', 'del', host]);
    run('ip', ['netns', 'del', ns]);
  };
  cleanup();
  const steps: string[][] = [
    ['netns', 'add', ns],
    ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer],
    ['link', 'set', peer, 'netns', ns],
    ['addr', 'add', `${hostIp}/24`, 'dev', host],
    ['link', 'set', host, 'up'],
    ['-n', ns, 'addr', 'add', `${peerIp}/24`, 'dev', peer],
    ['-n', ns, 'link', 'set', peer, 'up'],
    ['-n', ns, 'link', 'set', 'lo', 'up'],
  ];
  const fail = (what: string, stderr: string): never => {
    cleanup();
    throw new Error(`${what}: ${stderr.trim()}`);
  };
  for (const s of steps) {
    if (opts.quiet && s.includes('up') && s.includes(host)) {
      // Before the links come up: no IPv6 (its autoconfiguration traffic), static neighbours (no ARP).
      const mac = (dev: string, inNs: boolean) => run('ip', [...(inNs ? ['-n', ns] : []), '-o', 'link', 'show', dev]).stdout.match(/link\/ether ([0-9a-f:]{17})/)?.[1];
      const hostMac = mac(host, false);
      const peerMac = mac(peer, true);
      if (!hostMac || !peerMac) fail('veth MAC addresses', 'not found');
      const quiet = [
        // (A kernel without IPv6 has no such file and no IPv6 traffic either.)
        ['sh', '-c', `f=/proc/sys/net/ipv6/conf/${host}/disable_ipv6; [ ! -e $f ] || echo 1 > $f`],
        ['ip', 'netns', 'exec', ns, 'sh', '-c', `f=/proc/sys/net/ipv6/conf/${peer}/disable_ipv6; [ ! -e $f ] || echo 1 > $f`],
        ['ip', 'neigh', 'replace', peerIp, 'lladdr', peerMac!, 'dev', host, 'nud', 'permanent'],
        ['ip', '-n', ns, 'neigh', 'replace', hostIp, 'lladdr', hostMac!, 'dev', peer, 'nud', 'permanent'],
      ];
      for (const [cmd, ...args] of quiet) {
        const r = run(cmd!, args);
        if (r.status !== 0) fail(`${cmd} ${args.join(' ')}`, r.stderr);
      }
    }
    const r = run('ip', s);
    if (r.status !== 0) fail(`ip ${s.join(' ')}`, r.stderr);
  }
  return { ns, host, peer, hostIp, peerIp, exec: (cmd) => run('ip', ['netns', 'exec', ns, ...cmd]), cleanup };
}

/** A fresh cgroup v2 directory (undefined when there is no cgroup2 mount). */
export function makeCgroup(tag: string): { path: string; cleanup(): void } | undefined {
  const root = cgroup2Root();
  if (!root) return undefined;
  const path = `${root}/bpfkit-test-${process.pid}-${tag}`;
  if (!existsSync(path)) mkdirSync(path);
  return {
    path,
    cleanup() {
      try {
        rmdirSync(path);
      } catch {
        /* processes may linger a moment */
      }
    },
  };
}

/** Wait until `cond()` holds or `ms` pass. */
export async function waitFor(cond: () => boolean, ms = 2000, step = 10): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}

/** A minimal BTF blob: [1] int (4 bytes, signed), [2] unsigned long long (8 bytes) — for storage maps. */
export function tinyBtf(): Uint8Array {
  const strings = Buffer.from('\0int\0unsigned long long\0');
  const types = Buffer.alloc(2 * 16);
  // [1] INT "int" size 4, encoding SIGNED, 32 bits
  types.writeUInt32LE(1, 0);
  types.writeUInt32LE(1 << 24, 4);
  types.writeUInt32LE(4, 8);
  types.writeUInt32LE((1 << 24) | 32, 12);
  // [2] INT "unsigned long long" size 8, 64 bits
  types.writeUInt32LE(5, 16);
  types.writeUInt32LE(1 << 24, 20);
  types.writeUInt32LE(8, 24);
  types.writeUInt32LE(64, 28);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(types.length, 12);
  hdr.writeUInt32LE(types.length, 16);
  hdr.writeUInt32LE(strings.length, 20);
  return Buffer.concat([hdr, types, strings]);
}

/** Source of the test helper program (see `testHelper`). */
const HELPER_C = String.raw`
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static void say(const char *s) { if (write(1, s, strlen(s)) < 0) _exit(9); }
static struct sockaddr_in addr(const char *ip, int port) {
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(port); inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}
/* Modes (each prints "ready", waits for one byte on stdin, does its work, prints "done"):
 *   openat N              N openat(2) of /dev/null (through syscall(2), nothing else)
 *   getpid N              N calls of libc getpid()
 *   udp IP PORT N LEN     N UDP datagrams of LEN payload bytes to IP:PORT
 *   icmp IP N             N ICMP echo requests to IP (raw socket)
 *   udpio IP PORT N M     bind 127.0.0.1:0 (prints "port P"), send N datagrams to IP:PORT, receive up to M
 *                         (1 s timeout each), prints "got K" */
int main(int argc, char **argv) {
  char c, line[64];
  if (argc < 3) return 2;
  say("ready\n");
  if (read(0, &c, 1) != 1) return 4;
  if (!strcmp(argv[1], "openat")) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) { long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY); if (fd >= 0) close(fd); }
  } else if (!strcmp(argv[1], "getpid")) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) getpid();
  } else if (!strcmp(argv[1], "udp") && argc >= 6) {
    struct sockaddr_in to = addr(argv[2], atoi(argv[3]));
    int n = atoi(argv[4]), len = atoi(argv[5]);
    char buf[2048]; memset(buf, 'b', sizeof buf);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < n; i++) if (sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof to) != len) return 6;
  } else if (!strcmp(argv[1], "icmp") && argc >= 4) {
    struct sockaddr_in to = addr(argv[2], 0);
    int n = atoi(argv[3]);
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) return 7;
    for (int i = 0; i < n; i++) {
      struct icmphdr h; memset(&h, 0, sizeof h);
      h.type = ICMP_ECHO; h.un.echo.id = htons(getpid() & 0xffff); h.un.echo.sequence = htons(i);
      unsigned sum = 0; unsigned short *p = (unsigned short *)&h;
      for (unsigned k = 0; k < sizeof h / 2; k++) sum += p[k];
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      h.checksum = ~sum;
      if (sendto(s, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) != sizeof h) return 6;
    }
  } else if (!strcmp(argv[1], "udpio") && argc >= 6) {
    struct sockaddr_in to = addr(argv[2], atoi(argv[3])), me = addr("127.0.0.1", 0);
    int n = atoi(argv[4]), m = atoi(argv[5]), got = 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t l = sizeof me;
    struct timeval tv = { 1, 0 };
    if (bind(s, (struct sockaddr *)&me, sizeof me) || getsockname(s, (struct sockaddr *)&me, &l)) return 6;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    snprintf(line, sizeof line, "port %d\n", ntohs(me.sin_port)); say(line);
    for (int i = 0; i < n; i++) if (sendto(s, "bpfkit", 6, 0, (struct sockaddr *)&to, sizeof to) != 6) return 6;
    for (int i = 0; i < m; i++) { char b[64]; if (recv(s, b, sizeof b, 0) < 0) break; got++; }
    snprintf(line, sizeof line, "got %d\n", got); say(line);
  } else return 2;
  say("done\n");
  return 0;
}
`;

let helperPath: string | undefined;
let helperError: string | undefined;

/**
 * A small C program the tests run as a child whose system calls are known exactly (compiled once per process
 * with gcc into a temporary directory removed at exit). Returns its path, or a string saying why there is none.
 */
export function testHelper(): { path: string } | { skip: string } {
  if (helperPath) return { path: helperPath };
  if (helperError) return { skip: helperError };
  if (!hasTool('gcc')) return { skip: (helperError = 'gcc not installed (needed to build the test helper program)') };
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-helper-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'helper.c'), HELPER_C);
  const out = join(dir, 'bk_helper');
  const r = run('gcc', ['-O1', '-o', out, join(dir, 'helper.c')]);
  if (r.status !== 0) return { skip: (helperError = `cannot build the test helper: ${r.stderr.trim().split('\n')[0]}`) };
  helperPath = out;
  return { path: out };
}

/** A running helper (or any child speaking its protocol: "ready" line, one byte on stdin to go). */
export interface HelperChild {
  readonly pid: number;
  /** stdout so far. */
  output(): string;
  /** Wait until stdout matches `re` (rejects after `ms`). */
  waitOutput(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Let it do its work. */
  go(): void;
  /** Resolves with the exit status and full stdout/stderr when it ends (kills it after `ms`). */
  done(ms?: number): Promise<{ status: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

/**
 * Spawn `cmd args` and wait for its "ready" line. The child gets killed on timeout and at process exit, never
 * outliving the test file.
 */
export async function startHelper(cmd: string, args: string[], opts: { ready?: RegExp; ms?: number } = {}): Promise<HelperChild> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of listeners) l();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      for (const l of listeners) l();
      resolve({ status: code, stdout, stderr });
    }),
  );
  const killAtExit = () => child.kill('SIGKILL');
  process.on('exit', killAtExit);
  void exited.then(() => process.off('exit', killAtExit));
  const waitOutput = (re: RegExp, ms = 5000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = stdout.match(re);
        if (m) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(m);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`${cmd} exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${stdout}${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`${cmd}: no ${re} within ${ms} ms (stdout: ${stdout}, stderr: ${stderr})`));
      }, ms);
      listeners.add(check);
      check();
    });
  const h: HelperChild = {
    get pid() {
      return child.pid ?? -1;
    },
    output: () => stdout,
    waitOutput,
    go: () => child.stdin.end('g'),
    done: async (ms = 5000) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  try {
    await waitOutput(opts.ready ?? /^ready$/m, opts.ms);
  } catch (e) {
    h.kill();
    await exited;
    throw e;
  }
  return h;
}

/** Read a whole file as text, or undefined. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
