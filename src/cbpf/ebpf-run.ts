/**
 * Runs a translated classic program (see to-ebpf.ts) in bpfkit's userspace eBPF VM: a `struct __sk_buff`
 * context region filled from the packet and its metadata, the packet served to the legacy LD_ABS/LD_IND
 * loads, and the two helpers the translation may call (get_prandom_u32, get_smp_processor_id).
 */
import type { Insn } from '../isa/insn.js';
import { HelperId } from '../isa/helpers.js';
import { Vm } from '../vm/vm.js';
import type { HelperImpl } from '../vm/api.js';
import type { CbpfContext } from './interp.js';
import { SK_BUFF, SK_BUFF_SIZE } from './to-ebpf.js';

/** A prepared eBPF socket-filter program that runs over many packets. */
export class EbpfFilterRunner {
  readonly vm: Vm;
  private readonly ctxBytes = new Uint8Array(SK_BUFF_SIZE);
  private readonly ctxView = new DataView(this.ctxBytes.buffer);
  private readonly ctxAddr: bigint;
  private packet: Uint8Array = new Uint8Array(0);
  private meta: CbpfContext = {};

  constructor(insns: readonly Insn[]) {
    const helpers = new Map<number, HelperImpl>([
      [HelperId.get_prandom_u32, () => Math.floor((this.meta.random ?? Math.random)() * 0x100000000)],
      [HelperId.get_smp_processor_id, () => this.meta.cpu ?? 0],
    ]);
    this.vm = new Vm(insns, { helpers, legacyPacket: () => this.packet });
    this.ctxAddr = this.vm.memory.map(this.ctxBytes, { writable: false, kind: 'ctx', name: '__sk_buff' });
  }

  /** Run over one packet; returns the accept length (r0, 32 bits). */
  run(data: Uint8Array, opts: { wireLen?: number; ctx?: CbpfContext } = {}): number {
    const m = opts.ctx ?? {};
    this.packet = data;
    this.meta = m;
    const v = this.ctxView;
    v.setUint32(SK_BUFF.len, opts.wireLen ?? data.length, true);
    v.setUint32(SK_BUFF.pkt_type, m.pktType ?? 0, true);
    v.setUint32(SK_BUFF.mark, m.mark ?? 0, true);
    v.setUint32(SK_BUFF.queue_mapping, m.queue ?? 0, true);
    // protocol and vlan_proto hold network-order 16-bit values.
    v.setUint32(SK_BUFF.protocol, ((m.protocol ?? 0) >> 8 | ((m.protocol ?? 0) & 0xff) << 8) & 0xffff, true);
    v.setUint32(SK_BUFF.vlan_present, m.vlanPresent ? 1 : 0, true);
    v.setUint32(SK_BUFF.vlan_tci, m.vlanTci ?? 0, true);
    v.setUint32(SK_BUFF.vlan_proto, ((m.vlanTpid ?? 0) >> 8 | ((m.vlanTpid ?? 0) & 0xff) << 8) & 0xffff, true);
    v.setUint32(SK_BUFF.ifindex, m.ifindex ?? 0, true);
    v.setUint32(SK_BUFF.hash, m.rxhash ?? 0, true);
    return Number(this.vm.run(this.ctxAddr) & 0xffffffffn);
  }
}
