/**
 * Code generation for the pcap filter language: the building blocks (conditional blocks chained by
 * true/false patch lists, joined by and/or/not) and one generator per language construct. The generated
 * shapes follow libpcap's gencode.c (read for its semantics: header offsets, the IPv4 fragment check before
 * ports, IPv6's fixed next-header test, `vlan` moving the offsets of everything after it, the ip/arp/rarp
 * expansion of `host`), so that the selected packets are the ones tcpdump selects.
 */
import { CbpfError } from '../../errors.js';
import { AluOp, CClass, CMode, JmpOp, MiscOp, Mode, Size, Source } from '../opcodes.js';

/** A straight-line statement inside a block. */
export interface Stmt {
  code: number;
  k: number;
}

let nextBlockId = 0;

/** A basic block: statements, then a conditional jump (or a `ret` when `ret` is set). */
export class Block {
  readonly id = nextBlockId++;
  stmts: Stmt[] = [];
  /** Jump opcode (JMP|op|src); for a return block, the RET opcode. */
  code: number;
  k: number;
  jt: Block | null = null;
  jf: Block | null = null;
  /** For return blocks: the accept length. */
  ret?: number;
  constructor(code: number, k = 0, stmts: Stmt[] = []) {
    this.code = code;
    this.k = k >>> 0;
    this.stmts = stmts;
  }
}

type Side = 'jt' | 'jf';
interface Patch {
  b: Block;
  side: Side;
}

/** A boolean expression under construction: an entry block and the unresolved true and false exits. */
export interface Expr {
  head: Block;
  t: Patch[];
  f: Patch[];
}

function patch(list: Patch[], target: Block): void {
  for (const p of list) p.b[p.side] = target;
}

/** `e0 and e1`: e0 true continues into e1. */
export function and(e0: Expr, e1: Expr): Expr {
  patch(e0.t, e1.head);
  return { head: e0.head, t: e1.t, f: [...e0.f, ...e1.f] };
}
/** `e0 or e1`: e0 false continues into e1. */
export function or(e0: Expr, e1: Expr): Expr {
  patch(e0.f, e1.head);
  return { head: e0.head, t: [...e0.t, ...e1.t], f: e1.f };
}
/** `not e`. */
export function not(e: Expr): Expr {
  return { head: e.head, t: e.f, f: e.t };
}

/** A leaf test block as an expression. */
export function leaf(b: Block): Expr {
  return { head: b, t: [{ b, side: 'jt' }], f: [{ b, side: 'jf' }] };
}

/** Turn a finished expression into a rooted graph: true exits return `accept`, false exits return 0. */
export function finish(e: Expr, accept: number): Block {
  const yes = new Block(CClass.RET, accept);
  yes.ret = accept >>> 0;
  const no = new Block(CClass.RET, 0);
  no.ret = 0;
  patch(e.t, yes);
  patch(e.f, no);
  return e.head;
}

/** Make a return block. */
export function retBlock(v: number): Block {
  const b = new Block(CClass.RET, v);
  b.ret = v >>> 0;
  return b;
}

// Header reference points (libpcap's e_offrel).
export type OffRel = 'packet' | 'linkhdr' | 'llc' | 'linkpl' | 'linkpl_nosnap' | 'linktype' | 'tran_ipv4' | 'tran_ipv6';

/** Protocol qualifiers. */
export type Proto =
  | 'default' | 'link' | 'ip' | 'arp' | 'rarp' | 'sctp' | 'tcp' | 'udp' | 'icmp' | 'igmp' | 'igrp' | 'atalk' | 'aarp'
  | 'decnet' | 'lat' | 'sca' | 'moprc' | 'mopdl' | 'ip6' | 'icmp6' | 'ah' | 'esp' | 'pim' | 'vrrp' | 'carp' | 'iso'
  | 'esis' | 'isis' | 'clnp' | 'stp' | 'ipx' | 'netbeui' | 'radio' | 'l1' | 'l2' | 'iih' | 'lsp' | 'snp' | 'csnp' | 'psnp';
/** Direction qualifiers. */
export type Dir = 'default' | 'src' | 'dst' | 'or' | 'and' | 'addr1' | 'addr2' | 'addr3' | 'addr4' | 'ra' | 'ta';
/** Address qualifiers. */
export type AddrQ = 'default' | 'host' | 'net' | 'port' | 'portrange' | 'proto' | 'protochain' | 'gateway' | 'undef';

/** A qualifier triple as the grammar carries it. `undef` marks "no qualifiers here" (libpcap's qerr). */
export interface Qual {
  proto: Proto | 'undef';
  dir: Dir | 'undef';
  addr: AddrQ;
}
export const QERR: Qual = { proto: 'undef', dir: 'undef', addr: 'undef' };

/** Link-layer types the compiler knows. */
export const DLT = { EN10MB: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229 } as const;

const ETHERTYPE = {
  IP: 0x0800, ARP: 0x0806, REVARP: 0x8035, IPV6: 0x86dd, ATALK: 0x809b, AARP: 0x80f3, DN: 0x6003, SCA: 0x6007,
  LAT: 0x6004, MOPDL: 0x6001, MOPRC: 0x6002, IPX: 0x8137, VLAN: 0x8100, QINQ_AD: 0x88a8, QINQ: 0x9100,
} as const;
const ETHERMTU = 1500;
const LLCSAP = { ISONS: 0xfe, IP: 0x06, NETBEUI: 0xf0, IPX: 0xe0, SNAP: 0xaa, STP: 0x42 } as const;
const LINUX_SLL_P_802_3 = 0x0001;
const LINUX_SLL_P_802_2 = 0x0004;
const IPPROTO = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, IGRP: 9, FRAGMENT: 44, ICMPV6: 58, AH: 51, ESP: 50, PIM: 103, VRRP: 112, SCTP: 132 } as const;
const ISO = { ESIS: 0x82, ISIS: 0x83, CLNP: 0x81 } as const;
const ISIS_PDU = { L1_LAN_IIH: 15, L2_LAN_IIH: 16, PTP_IIH: 17, L1_LSP: 18, L2_LSP: 20, L1_CSNP: 24, L2_CSNP: 25, L1_PSNP: 26, L2_PSNP: 27 } as const;
const OFFSET_NOT_SET = -1;

const JMP = (op: number) => CClass.JMP | op | Source.K;
const SZ: Record<1 | 2 | 4, number> = { 1: Size.B, 2: Size.H, 4: Size.W };

/** An arithmetic value under construction: statements that leave it in scratch slot `reg`, plus guard tests. */
export interface Arth {
  s: Stmt[];
  reg: number;
  b?: Expr;
}

/** Options of the code generator. */
export interface GenOptions {
  linktype: number;
  /** Accept length (tcpdump uses the snapshot length: 262144). */
  snaplen: number;
  /** IPv4 netmask for `ip broadcast` (unknown by default, as for tcpdump -r). */
  netmask?: number;
}

/** The per-compilation state of the generator (offsets move as `vlan` is parsed). */
export class CodeGen {
  readonly linktype: number;
  readonly snaplen: number;
  readonly netmask?: number;
  offLinktype: number;
  offLinkpl: number;
  offNl: number;
  offNlNosnap: number;
  offLinkhdr = 0;
  vlanDepth = 0;
  private regUsed = new Array<boolean>(16).fill(false);
  private curReg = 0;

  constructor(opts: GenOptions) {
    this.linktype = opts.linktype;
    this.snaplen = opts.snaplen;
    this.netmask = opts.netmask;
    switch (opts.linktype) {
      case DLT.EN10MB:
        [this.offLinktype, this.offLinkpl, this.offNl, this.offNlNosnap] = [12, 14, 0, 3];
        break;
      case DLT.RAW:
      case DLT.IPV4:
      case DLT.IPV6:
        [this.offLinktype, this.offLinkpl, this.offNl, this.offNlNosnap] = [OFFSET_NOT_SET, 0, 0, 0];
        break;
      case DLT.LINUX_SLL:
        [this.offLinktype, this.offLinkpl, this.offNl, this.offNlNosnap] = [14, 16, 0, 0];
        break;
      default:
        throw new CbpfError(`link-layer type ${opts.linktype} is not supported by the filter compiler (EN10MB, RAW, LINUX_SLL, IPV4, IPV6 are)`);
    }
  }

  // ---- scratch registers -------------------------------------------------------------------------
  allocReg(): number {
    for (let n = 0; n < 16; n++) {
      if (this.regUsed[this.curReg]) this.curReg = (this.curReg + 1) % 16;
      else {
        this.regUsed[this.curReg] = true;
        return this.curReg;
      }
    }
    throw new CbpfError('too many registers needed to evaluate expression');
  }
  freeReg(n: number): void {
    this.regUsed[n] = false;
  }

  // ---- loads and comparisons ---------------------------------------------------------------------
  private offsetOf(rel: OffRel, offset: number): number {
    switch (rel) {
      case 'packet':
        return offset;
      case 'linkhdr':
        return this.offLinkhdr + offset;
      case 'llc':
        return this.offLinkpl + offset;
      case 'linkpl':
        return this.offLinkpl + this.offNl + offset;
      case 'linkpl_nosnap':
        return this.offLinkpl + this.offNlNosnap + offset;
      case 'linktype':
        if (this.offLinktype === OFFSET_NOT_SET) throw new CbpfError('link-layer type field not present for this link type');
        return this.offLinktype + offset;
      case 'tran_ipv6':
        return this.offLinkpl + this.offNl + 40 + offset;
      default:
        throw new Error('unreachable');
    }
  }

  /** Statements that load the field into A (libpcap's gen_load_a). */
  loadA(rel: OffRel, offset: number, size: 1 | 2 | 4): Stmt[] {
    if (rel === 'tran_ipv4') {
      return [this.loadxIpHdrLen(), { code: CClass.LD | Mode.IND | SZ[size], k: this.offLinkpl + this.offNl + offset }];
    }
    return [{ code: CClass.LD | Mode.ABS | SZ[size], k: this.offsetOf(rel, offset) }];
  }

  /** `ldxb 4*([ip]&0xf)`: the IPv4 header length into X. */
  loadxIpHdrLen(): Stmt {
    return { code: CClass.LDX | CMode.MSH | Size.B, k: this.offLinkpl + this.offNl };
  }

  /** Compare a (masked) field with v using jtype; `reverse` negates a > or >= test. */
  ncmp(rel: OffRel, offset: number, size: 1 | 2 | 4, mask: number, jtype: number, reverse: boolean, v: number): Expr {
    const s = this.loadA(rel, offset, size);
    if (mask >>> 0 !== 0xffffffff) s.push({ code: CClass.ALU | AluOp.AND | Source.K, k: mask >>> 0 });
    const e = leaf(new Block(JMP(jtype), v, s));
    return reverse && (jtype === JmpOp.JGT || jtype === JmpOp.JGE) ? not(e) : e;
  }
  cmp(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Expr {
    return this.ncmp(rel, offset, size, 0xffffffff, JmpOp.JEQ, false, v);
  }
  cmpGt(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Expr {
    return this.ncmp(rel, offset, size, 0xffffffff, JmpOp.JGT, false, v);
  }
  cmpGe(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Expr {
    return this.ncmp(rel, offset, size, 0xffffffff, JmpOp.JGE, false, v);
  }
  cmpLt(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Expr {
    return this.ncmp(rel, offset, size, 0xffffffff, JmpOp.JGE, true, v);
  }
  cmpLe(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Expr {
    return this.ncmp(rel, offset, size, 0xffffffff, JmpOp.JGT, true, v);
  }
  mcmp(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number, mask: number): Expr {
    return this.ncmp(rel, offset, size, mask, JmpOp.JEQ, false, v);
  }
  /** Compare `bytes` at offset, in 4-, 2- and 1-byte pieces from the end (libpcap's gen_bcmp). */
  bcmp(rel: OffRel, offset: number, bytes: Uint8Array): Expr {
    let size = bytes.length;
    let b: Expr | undefined;
    const add = (t: Expr) => {
      b = b ? and(b, t) : t;
    };
    while (size >= 4) {
      const p = size - 4;
      add(this.cmp(rel, offset + p, 4, ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0));
      size -= 4;
    }
    while (size >= 2) {
      const p = size - 2;
      add(this.cmp(rel, offset + p, 2, (bytes[p]! << 8) | bytes[p + 1]!));
      size -= 2;
    }
    if (size > 0) add(this.cmp(rel, offset, 1, bytes[0]!));
    return b!;
  }
  /** A constant test: true or false. */
  uncond(value: boolean): Expr {
    return leaf(new Block(JMP(JmpOp.JEQ), 0, [{ code: CClass.LD | Mode.IMM, k: value ? 1 : 0 }]));
  }

  // ---- link layer ----------------------------------------------------------------------------------
  private snap(orgcode: number, ptype: number): Expr {
    return this.bcmp('llc', 0, Uint8Array.from([LLCSAP.SNAP, LLCSAP.SNAP, 0x03, orgcode >> 16, orgcode >> 8, orgcode, ptype >> 8, ptype]));
  }

  private etherLinktype(p: number): Expr {
    switch (p) {
      case LLCSAP.ISONS:
      case LLCSAP.IP:
      case LLCSAP.NETBEUI:
        return and(not(this.cmpGt('linktype', 0, 2, ETHERMTU)), this.cmp('llc', 0, 2, (p << 8) | p));
      case LLCSAP.IPX: {
        let b1 = or(this.cmp('llc', 0, 1, LLCSAP.IPX), this.cmp('llc', 0, 2, 0xffff));
        b1 = or(this.snap(0, ETHERTYPE.IPX), b1);
        b1 = and(not(this.cmpGt('linktype', 0, 2, ETHERMTU)), b1);
        return or(this.cmp('linktype', 0, 2, ETHERTYPE.IPX), b1);
      }
      case ETHERTYPE.ATALK:
      case ETHERTYPE.AARP: {
        const b0 = not(this.cmpGt('linktype', 0, 2, ETHERMTU));
        const b1 = and(b0, p === ETHERTYPE.ATALK ? this.snap(0x080007, ETHERTYPE.ATALK) : this.snap(0, ETHERTYPE.AARP));
        return or(this.cmp('linktype', 0, 2, p), b1);
      }
      default:
        if (p <= ETHERMTU) return and(not(this.cmpGt('linktype', 0, 2, ETHERMTU)), this.cmp('linktype', 2, 1, p));
        return this.cmp('linktype', 0, 2, p);
    }
  }

  private sllLinktype(p: number): Expr {
    switch (p) {
      case LLCSAP.ISONS:
      case LLCSAP.IP:
      case LLCSAP.NETBEUI:
        return and(this.cmp('linktype', 0, 2, LINUX_SLL_P_802_2), this.cmp('llc', 0, 2, (p << 8) | p));
      case LLCSAP.IPX: {
        let b1 = or(this.cmp('llc', 0, 1, LLCSAP.IPX), this.snap(0, ETHERTYPE.IPX));
        b1 = and(this.cmp('linktype', 0, 2, LINUX_SLL_P_802_2), b1);
        b1 = or(this.cmp('linktype', 0, 2, LINUX_SLL_P_802_3), b1);
        return or(this.cmp('linktype', 0, 2, ETHERTYPE.IPX), b1);
      }
      case ETHERTYPE.ATALK:
      case ETHERTYPE.AARP: {
        const b1 = and(this.cmp('linktype', 0, 2, LINUX_SLL_P_802_2), p === ETHERTYPE.ATALK ? this.snap(0x080007, ETHERTYPE.ATALK) : this.snap(0, ETHERTYPE.AARP));
        return or(this.cmp('linktype', 0, 2, p), b1);
      }
      default:
        if (p <= ETHERMTU) return and(this.cmp('linktype', 0, 2, LINUX_SLL_P_802_2), this.cmp('linkhdr', this.offLinkpl, 1, p));
        return this.cmp('linktype', 0, 2, p);
    }
  }

  /** Test the link-layer protocol (Ethernet type or LLC SAP). */
  linkProto(p: number): Expr {
    switch (this.linktype) {
      case DLT.EN10MB:
        return this.etherLinktype(p);
      case DLT.LINUX_SLL:
        return this.sllLinktype(p);
      case DLT.RAW:
        if (p === ETHERTYPE.IP) return this.mcmp('linkhdr', 0, 1, 0x40, 0xf0);
        if (p === ETHERTYPE.IPV6) return this.mcmp('linkhdr', 0, 1, 0x60, 0xf0);
        return this.uncond(false);
      case DLT.IPV4:
        return this.uncond(p === ETHERTYPE.IP);
      case DLT.IPV6:
        return this.uncond(p === ETHERTYPE.IPV6);
    }
    throw new CbpfError('unsupported link type');
  }

  // ---- hosts ---------------------------------------------------------------------------------------
  private hostop(addr: number, mask: number, dir: Dir, llProto: number, srcOff: number, dstOff: number): Expr {
    switch (dir) {
      case 'src':
      case 'dst': {
        const b1 = this.mcmp('linkpl', dir === 'src' ? srcOff : dstOff, 4, addr, mask);
        return and(this.linkProto(llProto), b1);
      }
      case 'and':
        return and(this.hostop(addr, mask, 'src', llProto, srcOff, dstOff), this.hostop(addr, mask, 'dst', llProto, srcOff, dstOff));
      case 'default':
      case 'or':
        return or(this.hostop(addr, mask, 'src', llProto, srcOff, dstOff), this.hostop(addr, mask, 'dst', llProto, srcOff, dstOff));
      default:
        throw new CbpfError(`'${dir}' is not a valid qualifier for addresses other than 802.11 MAC addresses`);
    }
  }

  private hostop6(addr: Uint8Array, mask: Uint8Array, dir: Dir, srcOff: number, dstOff: number): Expr {
    switch (dir) {
      case 'src':
      case 'dst': {
        const off = dir === 'src' ? srcOff : dstOff;
        const w = (a: Uint8Array, i: number) => ((a[i * 4]! << 24) | (a[i * 4 + 1]! << 16) | (a[i * 4 + 2]! << 8) | a[i * 4 + 3]!) >>> 0;
        let b1 = this.mcmp('linkpl', off + 12, 4, w(addr, 3), w(mask, 3));
        b1 = and(this.mcmp('linkpl', off + 8, 4, w(addr, 2), w(mask, 2)), b1);
        b1 = and(this.mcmp('linkpl', off + 4, 4, w(addr, 1), w(mask, 1)), b1);
        b1 = and(this.mcmp('linkpl', off + 0, 4, w(addr, 0), w(mask, 0)), b1);
        return and(this.linkProto(ETHERTYPE.IPV6), b1);
      }
      case 'and':
        return and(this.hostop6(addr, mask, 'src', srcOff, dstOff), this.hostop6(addr, mask, 'dst', srcOff, dstOff));
      case 'default':
      case 'or':
        return or(this.hostop6(addr, mask, 'src', srcOff, dstOff), this.hostop6(addr, mask, 'dst', srcOff, dstOff));
      default:
        throw new CbpfError(`'${dir}' is not a valid qualifier for addresses other than 802.11 MAC addresses`);
    }
  }

  /** `[proto] [dir] host|net ADDR/MASK` for IPv4. */
  host(addr: number, mask: number, proto: Proto, dir: Dir, type: AddrQ): Expr {
    const typestr = type === 'net' ? 'net' : 'host';
    switch (proto) {
      case 'default': {
        const b0 = this.host(addr, mask, 'ip', dir, type);
        const b1 = or(b0, this.host(addr, mask, 'arp', dir, type));
        return or(b1, this.host(addr, mask, 'rarp', dir, type));
      }
      case 'link':
        throw new CbpfError(`link-layer modifier applied to ${typestr}`);
      case 'ip':
        return this.hostop(addr, mask, dir, ETHERTYPE.IP, 12, 16);
      case 'arp':
        return this.hostop(addr, mask, dir, ETHERTYPE.ARP, 14, 24);
      case 'rarp':
        return this.hostop(addr, mask, dir, ETHERTYPE.REVARP, 14, 24);
      case 'ip6':
        throw new CbpfError(`'ip6' modifier applied to ip ${typestr}`);
      default:
        throw new CbpfError(`'${proto}' modifier applied to ${typestr}`);
    }
  }

  /** `[proto] [dir] host|net ADDR6/LEN` for IPv6. */
  host6(addr: Uint8Array, mask: Uint8Array, proto: Proto, dir: Dir, type: AddrQ): Expr {
    const typestr = type === 'net' ? 'net' : 'host';
    if (proto === 'default' || proto === 'ip6') return this.hostop6(addr, mask, dir, 8, 24);
    if (proto === 'link') throw new CbpfError(`link-layer modifier applied to ip6 ${typestr}`);
    throw new CbpfError(`'${proto}' modifier applied to ip6 ${typestr}`);
  }

  /** Ethernet address test (libpcap's gen_ehostop). */
  ehost(eaddr: Uint8Array, dir: Dir): Expr {
    if (this.linktype !== DLT.EN10MB) {
      throw new CbpfError('ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel');
    }
    switch (dir) {
      case 'src':
        return this.bcmp('linkhdr', 6, eaddr);
      case 'dst':
        return this.bcmp('linkhdr', 0, eaddr);
      case 'and':
        return and(this.ehost(eaddr, 'src'), this.ehost(eaddr, 'dst'));
      case 'default':
      case 'or':
        return or(this.ehost(eaddr, 'src'), this.ehost(eaddr, 'dst'));
      default:
        throw new CbpfError(`'${dir}' is only supported on 802.11 with 802.11 headers`);
    }
  }

  // ---- protocols -----------------------------------------------------------------------------------
  ipfrag(): Expr {
    return not(leaf(new Block(JMP(JmpOp.JSET), 0x1fff, this.loadA('linkpl', 6, 2))));
  }

  /** `proto N` under a protocol qualifier (libpcap's gen_proto). */
  proto(v: number, proto: Proto, dir: Dir): Expr {
    if (dir !== 'default') throw new CbpfError("direction applied to 'proto'");
    switch (proto) {
      case 'default':
        return or(this.proto(v, 'ip', dir), this.proto(v, 'ip6', dir));
      case 'link':
        return this.linkProto(v);
      case 'ip':
        return and(this.linkProto(ETHERTYPE.IP), this.cmp('linkpl', 9, 1, v));
      case 'ip6': {
        const b0 = this.linkProto(ETHERTYPE.IPV6);
        let b1 = and(this.cmp('linkpl', 6, 1, IPPROTO.FRAGMENT), this.cmp('linkpl', 40, 1, v));
        b1 = or(this.cmp('linkpl', 6, 1, v), b1);
        return and(b0, b1);
      }
      case 'iso':
        return and(this.linkProto(LLCSAP.ISONS), this.cmp('linkpl_nosnap', 0, 1, v));
      case 'isis':
        return and(this.proto(ISO.ISIS, 'iso', 'default'), this.cmp('linkpl_nosnap', 4, 1, v));
      case 'arp':
      case 'rarp':
        throw new CbpfError(`${proto} does not encapsulate another protocol`);
      case 'atalk':
        throw new CbpfError('AppleTalk encapsulation is not specifiable');
      case 'decnet':
        throw new CbpfError('DECNET encapsulation is not specifiable');
      case 'lat':
      case 'sca':
      case 'moprc':
      case 'mopdl':
        throw new CbpfError(`${proto.toUpperCase()} does not encapsulate another protocol`);
      case 'clnp':
        throw new CbpfError("'clnp proto' is not supported");
      default:
        throw new CbpfError(`'${proto} proto' is bogus`);
    }
  }

  /** A protocol keyword on its own (`tcp`, `ip6`, `arp`, ...): libpcap's gen_proto_abbrev. */
  protoAbbrev(proto: Proto): Expr {
    const d = 'default' as const;
    const isis = (...types: number[]) => {
      let b = this.proto(types[0]!, 'isis', d);
      for (const t of types.slice(1)) b = or(b, this.proto(t, 'isis', d));
      return b;
    };
    switch (proto) {
      case 'sctp':
        return this.proto(IPPROTO.SCTP, d, d);
      case 'tcp':
        return this.proto(IPPROTO.TCP, d, d);
      case 'udp':
        return this.proto(IPPROTO.UDP, d, d);
      case 'icmp':
        return this.proto(IPPROTO.ICMP, 'ip', d);
      case 'igmp':
        return this.proto(IPPROTO.IGMP, 'ip', d);
      case 'igrp':
        return this.proto(IPPROTO.IGRP, 'ip', d);
      case 'pim':
        return this.proto(IPPROTO.PIM, d, d);
      case 'vrrp':
      case 'carp':
        return this.proto(IPPROTO.VRRP, 'ip', d);
      case 'ip':
        return this.linkProto(ETHERTYPE.IP);
      case 'arp':
        return this.linkProto(ETHERTYPE.ARP);
      case 'rarp':
        return this.linkProto(ETHERTYPE.REVARP);
      case 'link':
        throw new CbpfError('link layer applied in wrong context');
      case 'atalk':
        return this.linkProto(ETHERTYPE.ATALK);
      case 'aarp':
        return this.linkProto(ETHERTYPE.AARP);
      case 'decnet':
        return this.linkProto(ETHERTYPE.DN);
      case 'sca':
        return this.linkProto(ETHERTYPE.SCA);
      case 'lat':
        return this.linkProto(ETHERTYPE.LAT);
      case 'mopdl':
        return this.linkProto(ETHERTYPE.MOPDL);
      case 'moprc':
        return this.linkProto(ETHERTYPE.MOPRC);
      case 'ip6':
        return this.linkProto(ETHERTYPE.IPV6);
      case 'icmp6':
        return this.proto(IPPROTO.ICMPV6, 'ip6', d);
      case 'ah':
        return this.proto(IPPROTO.AH, d, d);
      case 'esp':
        return this.proto(IPPROTO.ESP, d, d);
      case 'iso':
        return this.linkProto(LLCSAP.ISONS);
      case 'esis':
        return this.proto(ISO.ESIS, 'iso', d);
      case 'isis':
        return this.proto(ISO.ISIS, 'iso', d);
      case 'l1':
        return isis(ISIS_PDU.L1_LAN_IIH, ISIS_PDU.PTP_IIH, ISIS_PDU.L1_LSP, ISIS_PDU.L1_CSNP, ISIS_PDU.L1_PSNP);
      case 'l2':
        return isis(ISIS_PDU.L2_LAN_IIH, ISIS_PDU.PTP_IIH, ISIS_PDU.L2_LSP, ISIS_PDU.L2_CSNP, ISIS_PDU.L2_PSNP);
      case 'iih':
        return isis(ISIS_PDU.L1_LAN_IIH, ISIS_PDU.L2_LAN_IIH, ISIS_PDU.PTP_IIH);
      case 'lsp':
        return isis(ISIS_PDU.L1_LSP, ISIS_PDU.L2_LSP);
      case 'snp':
        return isis(ISIS_PDU.L1_CSNP, ISIS_PDU.L2_CSNP, ISIS_PDU.L1_PSNP, ISIS_PDU.L2_PSNP);
      case 'csnp':
        return isis(ISIS_PDU.L1_CSNP, ISIS_PDU.L2_CSNP);
      case 'psnp':
        return isis(ISIS_PDU.L1_PSNP, ISIS_PDU.L2_PSNP);
      case 'clnp':
        return this.proto(ISO.CLNP, 'iso', d);
      case 'stp':
        return this.linkProto(LLCSAP.STP);
      case 'ipx':
        return this.linkProto(LLCSAP.IPX);
      case 'netbeui':
        return this.linkProto(LLCSAP.NETBEUI);
      case 'radio':
        throw new CbpfError("'radio' is not a valid protocol type");
    }
    throw new CbpfError(`unknown protocol '${proto}'`);
  }

  // ---- ports ---------------------------------------------------------------------------------------
  private portDir(dir: Dir, atom: (off: number) => Expr, what: string): Expr {
    switch (dir) {
      case 'src':
        return atom(0);
      case 'dst':
        return atom(2);
      case 'and':
        return and(atom(0), atom(2));
      case 'default':
      case 'or':
        return or(atom(0), atom(2));
      default:
        throw new CbpfError(`'${dir}' is not a valid qualifier for ${what}`);
    }
  }

  private portop(port: number, proto: number, dir: Dir): Expr {
    const b0 = and(this.cmp('linkpl', 9, 1, proto), this.ipfrag());
    return and(b0, this.portDir(dir, (off) => this.cmp('tran_ipv4', off, 2, port), 'ports'));
  }
  private portop6(port: number, proto: number, dir: Dir): Expr {
    const b0 = this.cmp('linkpl', 6, 1, proto);
    return and(b0, this.portDir(dir, (off) => this.cmp('tran_ipv6', off, 2, port), 'ports'));
  }
  private rangeAtom(rel: OffRel, off: number, v1: number, v2: number): Expr {
    if (v1 > v2) [v1, v2] = [v2, v1];
    return and(this.cmpGe(rel, off, 2, v1), this.cmpLe(rel, off, 2, v2));
  }
  private portrangeop(p1: number, p2: number, proto: number, dir: Dir): Expr {
    const b0 = and(this.cmp('linkpl', 9, 1, proto), this.ipfrag());
    return and(b0, this.portDir(dir, (off) => this.rangeAtom('tran_ipv4', off, p1, p2), 'port ranges'));
  }
  private portrangeop6(p1: number, p2: number, proto: number, dir: Dir): Expr {
    const b0 = this.cmp('linkpl', 6, 1, proto);
    return and(b0, this.portDir(dir, (off) => this.rangeAtom('tran_ipv6', off, p1, p2), 'port ranges'));
  }
  private overProtos(ipProto: number, one: (proto: number) => Expr): Expr {
    if (ipProto >= 0) return one(ipProto);
    let b1 = or(one(IPPROTO.TCP), one(IPPROTO.UDP));
    b1 = or(one(IPPROTO.SCTP), b1);
    return b1;
  }

  /** `[tcp|udp|sctp] [dir] port N`: IPv4 (not a later fragment) or IPv6 with that next header. ipProto -1 = any. */
  port(port: number, ipProto: number, dir: Dir): Expr {
    const v4 = and(this.linkProto(ETHERTYPE.IP), this.overProtos(ipProto, (p) => this.portop(port, p, dir)));
    const v6 = and(this.linkProto(ETHERTYPE.IPV6), this.overProtos(ipProto, (p) => this.portop6(port, p, dir)));
    return or(v6, v4);
  }

  /** `[tcp|udp|sctp] [dir] portrange A-B`. */
  portrange(p1: number, p2: number, ipProto: number, dir: Dir): Expr {
    const v4 = and(this.linkProto(ETHERTYPE.IP), this.overProtos(ipProto, (p) => this.portrangeop(p1, p2, p, dir)));
    const v6 = and(this.linkProto(ETHERTYPE.IPV6), this.overProtos(ipProto, (p) => this.portrangeop6(p1, p2, p, dir)));
    return or(v6, v4);
  }

  // ---- lengths, bytes, broadcast, multicast, vlan -------------------------------------------------
  len(jmp: number, n: number): Expr {
    return leaf(new Block(JMP(jmp), n, [{ code: CClass.LD | Size.W | CMode.LEN, k: 0 }]));
  }
  greater(n: number): Expr {
    return this.len(JmpOp.JGE, n);
  }
  less(n: number): Expr {
    return not(this.len(JmpOp.JGT, n));
  }
  byteop(op: string, idx: number, val: number): Expr {
    switch (op) {
      case '=':
        return this.cmp('linkhdr', idx, 1, val);
      case '<':
        return this.cmpLt('linkhdr', idx, 1, val);
      case '>':
        return this.cmpGt('linkhdr', idx, 1, val);
    }
    // libpcap 1.10 emits only the ALU statement here, without loading the byte first (so `byte N & V`
    // tests whatever A holds). Reproduced as is so that results match tcpdump's.
    const s: Stmt[] = [{ code: CClass.ALU | (op === '|' ? AluOp.OR : AluOp.AND) | Source.K, k: val >>> 0 }];
    return not(leaf(new Block(JMP(JmpOp.JEQ), 0, s)));
  }
  broadcast(proto: Proto): Expr {
    if (proto === 'default' || proto === 'link') {
      if (this.linktype !== DLT.EN10MB) throw new CbpfError('not a broadcast link');
      return this.ehost(Uint8Array.from([255, 255, 255, 255, 255, 255]), 'dst');
    }
    if (proto === 'ip') {
      if (this.netmask === undefined) throw new CbpfError("netmask not known, so 'ip broadcast' not supported");
      const hostmask = ~this.netmask >>> 0;
      const b0 = this.linkProto(ETHERTYPE.IP);
      const b2 = or(this.mcmp('linkpl', 16, 4, 0, hostmask), this.mcmp('linkpl', 16, 4, hostmask, hostmask));
      return and(b0, b2);
    }
    throw new CbpfError('only link-layer/IP broadcast filters supported');
  }
  multicast(proto: Proto): Expr {
    if (proto === 'default' || proto === 'link') {
      if (this.linktype !== DLT.EN10MB) {
        throw new CbpfError('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
      }
      return leaf(new Block(JMP(JmpOp.JSET), 1, this.loadA('linkhdr', 0, 1)));
    }
    if (proto === 'ip') return and(this.linkProto(ETHERTYPE.IP), this.cmpGe('linkpl', 16, 1, 224));
    if (proto === 'ip6') return and(this.linkProto(ETHERTYPE.IPV6), this.cmp('linkpl', 24, 1, 255));
    throw new CbpfError('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
  }
  /** `vlan [id]`: test the TPID, optionally the VID, then move every later offset 4 bytes on (as libpcap does). */
  vlan(id: number | undefined): Expr {
    if (this.linktype !== DLT.EN10MB) throw new CbpfError('no VLAN support for this link-layer type');
    let b0 = or(this.linkProto(ETHERTYPE.VLAN), this.linkProto(ETHERTYPE.QINQ_AD));
    b0 = or(b0, this.linkProto(ETHERTYPE.QINQ));
    if (id !== undefined) {
      if (id > 0x0fff) throw new CbpfError(`VLAN tag ${id} greater than maximum 4095`);
      b0 = and(b0, this.mcmp('linkpl', 0, 2, id, 0x0fff));
    }
    this.offLinkpl += 4;
    this.offLinktype += 4;
    this.vlanDepth++;
    return b0;
  }

  // ---- arithmetic ----------------------------------------------------------------------------------
  loadi(v: number): Arth {
    const reg = this.allocReg();
    return { s: [{ code: CClass.LD | Mode.IMM, k: v >>> 0 }, { code: CClass.ST, k: reg }], reg };
  }
  loadlen(): Arth {
    const reg = this.allocReg();
    return { s: [{ code: CClass.LD | Size.W | CMode.LEN, k: 0 }, { code: CClass.ST, k: reg }], reg };
  }
  private xferX(a: Arth): Stmt {
    return { code: CClass.LDX | Mode.MEM, k: a.reg };
  }
  private xferA(a: Arth): Stmt {
    return { code: CClass.LD | Mode.MEM, k: a.reg };
  }
  /** `proto[expr : size]` (libpcap's gen_load). */
  load(proto: Proto, inst: Arth, size: number): Arth {
    const reg = this.allocReg();
    this.freeReg(inst.reg);
    if (size !== 1 && size !== 2 && size !== 4) throw new CbpfError('data size must be 1, 2, or 4');
    const sz = SZ[size as 1 | 2 | 4];
    switch (proto) {
      case 'link':
        inst.s.push(this.xferX(inst), { code: CClass.LD | Mode.IND | sz, k: this.offLinkhdr });
        break;
      case 'ip':
      case 'arp':
      case 'rarp':
      case 'atalk':
      case 'decnet':
      case 'sca':
      case 'lat':
      case 'moprc':
      case 'mopdl':
      case 'ip6': {
        inst.s.push(this.xferX(inst), { code: CClass.LD | Mode.IND | sz, k: this.offLinkpl + this.offNl });
        const b = this.protoAbbrev(proto);
        inst.b = inst.b ? and(inst.b, b) : b;
        break;
      }
      case 'sctp':
      case 'tcp':
      case 'udp':
      case 'icmp':
      case 'igmp':
      case 'igrp':
      case 'pim':
      case 'vrrp':
      case 'carp': {
        inst.s.push(
          this.loadxIpHdrLen(),
          this.xferA(inst),
          { code: CClass.ALU | AluOp.ADD | Source.X, k: 0 },
          { code: CClass.MISC | MiscOp.TAX, k: 0 },
          { code: CClass.LD | Mode.IND | sz, k: this.offLinkpl + this.offNl },
        );
        let b = and(this.protoAbbrev(proto), this.ipfrag());
        if (inst.b) b = and(inst.b, b);
        b = and(this.protoAbbrev('ip'), b);
        inst.b = b;
        break;
      }
      case 'icmp6': {
        let b = this.protoAbbrev('ip6');
        if (inst.b) b = and(inst.b, b);
        b = and(b, this.cmp('linkpl', 6, 1, IPPROTO.ICMPV6));
        inst.b = b;
        inst.s.push(this.xferX(inst), { code: CClass.LD | Mode.IND | sz, k: this.offLinkpl + this.offNl + 40 });
        break;
      }
      default:
        throw new CbpfError('unsupported index operation');
    }
    inst.reg = reg;
    inst.s.push({ code: CClass.ST, k: reg });
    return inst;
  }
  /** `a0 relop a1` (reversed for <=, <, !=). */
  relation(jop: number, a0: Arth, a1: Arth, reversed: boolean): Expr {
    const s1: Stmt[] = [this.xferX(a1), this.xferA(a0)];
    let b: Expr;
    if (jop === JmpOp.JEQ) {
      s1.push({ code: CClass.ALU | AluOp.SUB | Source.X, k: 0 });
      b = leaf(new Block(JMP(JmpOp.JEQ), 0, []));
    } else {
      b = leaf(new Block(CClass.JMP | jop | Source.X, 0, []));
    }
    if (reversed) b = not(b);
    b.head.stmts = [...a0.s, ...a1.s, ...s1];
    this.freeReg(a0.reg);
    this.freeReg(a1.reg);
    let tmp: Expr | undefined;
    if (a0.b) tmp = a1.b ? and(a0.b, a1.b) : a0.b;
    else tmp = a1.b;
    return tmp ? and(tmp, b) : b;
  }
  neg(a: Arth): Arth {
    a.s.push(this.xferA(a), { code: CClass.ALU | AluOp.NEG, k: 0 }, { code: CClass.ST, k: a.reg });
    return a;
  }
  arth(aop: number, a0: Arth, a1: Arth): Arth {
    const lastImm = a1.s[0]?.code === (CClass.LD | Mode.IMM) ? a1.s[0].k : undefined;
    if (aop === AluOp.DIV && lastImm === 0) throw new CbpfError('division by zero');
    if (aop === AluOp.MOD && lastImm === 0) throw new CbpfError('modulus by zero');
    if ((aop === AluOp.LSH || aop === AluOp.RSH) && lastImm !== undefined && lastImm > 31) throw new CbpfError('shift by more than 31 bits');
    const s: Stmt[] = [this.xferX(a1), this.xferA(a0), { code: CClass.ALU | aop | Source.X, k: 0 }];
    a0.s.push(...a1.s, ...s);
    // libpcap's gen_arth keeps only a0's guard tests; a1's are dropped. Kept as is for identical results.
    this.freeReg(a0.reg);
    this.freeReg(a1.reg);
    a0.reg = this.allocReg();
    a0.s.push({ code: CClass.ST, k: a0.reg });
    return a0;
  }
}
