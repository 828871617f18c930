/**
 * BPF flow dissectors: running one on a packet with BPF_PROG_TEST_RUN (the kernel hands back the
 * `struct bpf_flow_keys` the program filled) and decoding those keys. Attaching one to a network namespace is
 * `attachFlowDissector` (sk-lookup.ts: a netns link, like sk_lookup).
 */
import { inetNtop } from '../../net/inet.js';
import { KernelError } from '../../errors.js';
import { ProgType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';

/** Size of `struct bpf_flow_keys` (linux/bpf.h). */
export const FLOW_KEYS_SIZE = 56;

/** The flow dissector's return values (enum bpf_ret_code): BPF_OK dissected, BPF_DROP could not. */
export const FlowDissectorVerdict = { OK: 0, DROP: 2, FLOW_DISSECTOR_CONTINUE: 129 } as const;

/** `struct bpf_flow_keys`, ports in host byte order, addresses as text. */
export interface FlowKeys {
  nhoff: number;
  thoff: number;
  /** ETH_P_IP (0x0800) or ETH_P_IPV6 (0x86dd) when the addresses are set. */
  addrProto: number;
  isFrag: boolean;
  isFirstFrag: boolean;
  isEncap: boolean;
  ipProto: number;
  /** The network protocol (EtherType), host byte order. */
  nProto: number;
  sport: number;
  dport: number;
  /** Source / destination address (dotted IPv4 or IPv6 text) per addrProto; undefined otherwise. */
  src?: string;
  dst?: string;
  flags: number;
  /** IPv6 flow label (host byte order). */
  flowLabel: number;
}

/** Decode a `struct bpf_flow_keys` (56 bytes, as BPF_PROG_TEST_RUN of a flow dissector returns it). */
export function decodeFlowKeys(bytes: Uint8Array): FlowKeys {
  if (bytes.length < FLOW_KEYS_SIZE) throw new KernelError('PROG_TEST_RUN', 22, 'EINVAL', { detail: 'flow keys', hint: `${bytes.length} bytes, struct bpf_flow_keys has ${FLOW_KEYS_SIZE}` });
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const addrProto = b.readUInt16LE(4);
  const keys: FlowKeys = {
    nhoff: b.readUInt16LE(0),
    thoff: b.readUInt16LE(2),
    addrProto,
    isFrag: b[6] !== 0,
    isFirstFrag: b[7] !== 0,
    isEncap: b[8] !== 0,
    ipProto: b[9]!,
    nProto: b.readUInt16BE(10),
    sport: b.readUInt16BE(12),
    dport: b.readUInt16BE(14),
    flags: b.readUInt32LE(48),
    flowLabel: b.readUInt32BE(52),
  };
  if (addrProto === 0x0800) {
    keys.src = inetNtop(2, b.subarray(16, 20));
    keys.dst = inetNtop(2, b.subarray(20, 24));
  } else if (addrProto === 0x86dd) {
    keys.src = inetNtop(10, b.subarray(16, 32));
    keys.dst = inetNtop(10, b.subarray(32, 48));
  }
  return keys;
}

/** What one flow dissector run gave. */
export interface DissectResult {
  /** The program's return value (FlowDissectorVerdict.OK / DROP ...). */
  retval: number;
  keys: FlowKeys;
}

/**
 * Run a FLOW_DISSECTOR program on one Ethernet frame (BPF_PROG_TEST_RUN: the kernel starts it at the network
 * header, nhoff 14, with n_proto from the Ethernet header). `flags`: BPF_FLOW_DISSECTOR_F_* passed in the keys.
 */
export function dissectPacket(prog: KernelProgram, frame: Uint8Array, opts: { flags?: number } = {}): DissectResult {
  if (prog.type !== ProgType.FLOW_DISSECTOR) throw new KernelError('PROG_TEST_RUN', 22, 'EINVAL', { detail: prog.name, hint: 'not a flow_dissector program' });
  if (frame.length < 14) throw new KernelError('PROG_TEST_RUN', 22, 'EINVAL', { detail: prog.name, hint: `a ${frame.length}-byte frame has no Ethernet header` });
  let ctx: Uint8Array | undefined;
  if (opts.flags) {
    ctx = new Uint8Array(FLOW_KEYS_SIZE);
    Buffer.from(ctx.buffer).writeUInt32LE(opts.flags >>> 0, 48);
  }
  const r = prog.testRun({ data: frame, dataSizeOut: FLOW_KEYS_SIZE, ctx });
  return { retval: r.retval, keys: decodeFlowKeys(r.data ?? new Uint8Array()) };
}
