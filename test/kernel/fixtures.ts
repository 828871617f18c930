/**
 * Shared helpers for the kernel tests: tiny programs built from src/isa (counters, ring buffer and perf
 * output producers), byte helpers, command running, and the network namespace / cgroup scaffolding tests
 * create and always remove.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
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

/** Create the netns + veth scaffolding (skip the test when `ip` is missing). Always call `cleanup()`. */
export function makeVethNetns(tag: string): VethNetns {
  const id = process.pid % 10000;
  const ns = `bpfkit-test-${process.pid}-${tag}`;
  const host = `bk${tag.slice(0, 3)}${id}h`.slice(0, 15);
  const peer = `bk${tag.slice(0, 3)}${id}p`.slice(0, 15);
  const net = 10 + ((process.pid + tag.length * 7 + tag.charCodeAt(0)) % 200);
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
  for (const s of steps) {
    const r = run('ip', s);
    if (r.status !== 0) {
      cleanup();
      throw new Error(`ip ${s.join(' ')}: ${r.stderr.trim()}`);
    }
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
