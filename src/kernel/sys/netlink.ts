/**
 * A small NETLINK_ROUTE client over koffi: an AF_NETLINK socket, message building (nlmsghdr + a family header
 * + nested rtattrs), request/ACK and dump exchanges, and kernel errors (with the extended-ACK message when the
 * kernel gives one) as `KernelError` carrying the errno name. Used for classic tc (clsact + cls_bpf).
 */
import { KernelError } from '../../errors.js';
import { kernelError } from './errno.js';
import { addressOf, libcFunction, sys } from './ffi.js';
import { FdRef } from './fd.js';
import { NL } from './netlink-consts.js';

import { MSG_TRUNC, SOCK_CLOEXEC, SOL_SOCKET } from './net.js';

const SO_RCVTIMEO = 20;
const MSG_PEEK = 0x2;
const EINTR = 4;
const EAGAIN = 11;

const align4 = (n: number) => (n + 3) & ~3;

/** Builds one netlink message: header, a fixed family struct, then attributes (nestable). */
export class NetlinkMessage {
  private buf = Buffer.alloc(256);
  private len = 16;
  private readonly nests: number[] = [];

  /** `type` (RTM_*) and `flags` (NLM_F_*; NLM_F_REQUEST is always added). */
  constructor(
    readonly type: number,
    readonly flags: number,
  ) {}

  private reserve(n: number): number {
    const at = this.len;
    const need = at + align4(n);
    if (need > this.buf.length) {
      const b = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
    this.len = need;
    return at;
  }

  /** Append raw bytes (the family header, e.g. a struct tcmsg), padded to 4. */
  bytes(data: Uint8Array): this {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
    return this;
  }

  /** Append an attribute with a raw payload. */
  attr(type: number, data: Uint8Array = new Uint8Array(0)): this {
    const at = this.reserve(4 + data.length);
    this.buf.writeUInt16LE(4 + data.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(data, at + 4);
    return this;
  }

  /** A u32 attribute (host byte order). */
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }

  /** A NUL-terminated string attribute. */
  str(type: number, s: string): this {
    const b = Buffer.alloc(Buffer.byteLength(s) + 1);
    b.write(s, 0);
    return this.attr(type, b);
  }

  /** A nested attribute: everything `fill` appends goes inside it. */
  nest(type: number, fill: (m: this) => void): this {
    const at = this.reserve(4);
    this.buf.writeUInt16LE(type, at + 2);
    this.nests.push(at);
    fill(this);
    this.nests.pop();
    this.buf.writeUInt16LE(this.len - at, at);
    return this;
  }

  /** The finished message with its sequence number (port id 0: the kernel fills it). */
  encode(seq: number, extraFlags = 0): Buffer {
    if (this.nests.length) throw new Error('internal: unclosed netlink nest');
    const out = Buffer.from(this.buf.subarray(0, this.len));
    out.writeUInt32LE(this.len, 0);
    out.writeUInt16LE(this.type, 4);
    out.writeUInt16LE(this.flags | extraFlags | NL.NLM_F_REQUEST, 6);
    out.writeUInt32LE(seq >>> 0, 8);
    out.writeUInt32LE(0, 12);
    return out;
  }
}

/** One received message. `payload` is everything after the 16-byte header. */
export interface NetlinkReply {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** Split a datagram into messages. */
export function parseMessages(data: Buffer): NetlinkReply[] {
  const out: NetlinkReply[] = [];
  let at = 0;
  while (at + 16 <= data.length) {
    const len = data.readUInt32LE(at);
    if (len < 16 || at + len > data.length) break;
    out.push({ type: data.readUInt16LE(at + 4), flags: data.readUInt16LE(at + 6), seq: data.readUInt32LE(at + 8), pid: data.readUInt32LE(at + 12), payload: data.subarray(at + 16, at + len) });
    at += align4(len);
  }
  return out;
}

/** Attributes of a payload region by type (NLA_F_NESTED / NET_BYTEORDER bits masked off; last one wins). */
export function parseAttrs(data: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = offset;
  while (at + 4 <= data.length) {
    const len = data.readUInt16LE(at);
    if (len < 4 || at + len > data.length) break;
    out.set(data.readUInt16LE(at + 2) & ~(NL.NLA_F_NESTED | NL.NLA_F_NET_BYTEORDER), data.subarray(at + 4, at + len));
    at += align4(len);
  }
  return out;
}

/** A NUL-terminated string attribute's text. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString();
}

/** The errno and extended-ACK message of an NLMSG_ERROR reply (errno 0 = plain ACK). */
export function parseError(reply: NetlinkReply): { errno: number; message?: string } {
  const p = reply.payload;
  if (p.length < 4) return { errno: 0 };
  const errno = -p.readInt32LE(0);
  let message: string | undefined;
  if (reply.flags & NL.NLM_F_ACK_TLVS && p.length >= 20) {
    // struct nlmsgerr { int error; struct nlmsghdr msg; } then the request's payload unless capped, then TLVs.
    const origLen = p.readUInt32LE(4);
    const tlvAt = reply.flags & NL.NLM_F_CAPPED ? 20 : 4 + align4(origLen);
    message = attrString(parseAttrs(p, tlvAt).get(NL.NLMSGERR_ATTR_MSG));
  }
  return { errno, message: message || undefined };
}

type SendTo = (fd: number, buf: bigint, len: number, flags: number, addr: bigint, addrlen: number) => number | bigint;
let sendto: SendTo | undefined;

/** A bound NETLINK_ROUTE (or other protocol) socket. Not safe for concurrent use (single-threaded JS is fine). */
export class NetlinkSocket {
  readonly fdRef: FdRef;
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;
  private rx = Buffer.alloc(64 * 1024);
  private rxAddr = addressOf(this.rx);

  private constructor(fd: FdRef) {
    this.fdRef = fd;
  }

  /**
   * Open and bind a netlink socket (extended ACKs requested, 5 s receive timeout so a lost reply cannot hang
   * the process). Throws `KernelError('socket'|'bind', errno)`.
   */
  static open(protocol: number = NL.NETLINK_ROUTE): NetlinkSocket {
    const s = sys();
    sendto ??= libcFunction('long sendto(int fd, uint64_t buf, size_t len, int flags, uint64_t addr, uint32_t addrlen)') as SendTo;
    const fd = s.socket(NL.AF_NETLINK, NL.SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw kernelError('socket', s.errno(), { detail: 'AF_NETLINK' });
    const ref = new FdRef(fd, 'netlink socket');
    try {
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(NL.AF_NETLINK, 0);
      if (s.bind(fd, addressOf(sa), 12) !== 0) throw kernelError('bind', s.errno(), { detail: 'AF_NETLINK' });
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      // Best effort: old kernels lack these options; errors then just have no message.
      s.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_EXT_ACK, addressOf(one), 4);
      s.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_CAP_ACK, addressOf(one), 4);
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(5n, 0);
      s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, addressOf(tv), 16);
    } catch (e) {
      ref.close();
      throw e;
    }
    return new NetlinkSocket(ref);
  }

  get fd(): number {
    return this.fdRef.fd;
  }

  private send(msg: Buffer, command: string): void {
    const s = sys();
    const dst = Buffer.alloc(12);
    dst.writeUInt16LE(NL.AF_NETLINK, 0);
    for (;;) {
      const n = Number(sendto!(this.fd, addressOf(msg), msg.length, 0, addressOf(dst), 12));
      if (n >= 0) return;
      const e = s.errno();
      if (e !== EINTR) throw kernelError(command, e, { detail: 'netlink sendto' });
    }
  }

  private receive(command: string): NetlinkReply[] {
    const s = sys();
    for (;;) {
      // Peek with MSG_TRUNC for the datagram's real size, grow the buffer if needed, then take it.
      let n = Number(s.recv(this.fd, this.rxAddr, this.rx.length, MSG_PEEK | MSG_TRUNC));
      if (n >= 0 && n > this.rx.length) {
        this.rx = Buffer.alloc(n + 4096);
        this.rxAddr = addressOf(this.rx);
      }
      if (n >= 0) n = Number(s.recv(this.fd, this.rxAddr, this.rx.length, 0));
      if (n >= 0) return parseMessages(Buffer.from(this.rx.subarray(0, n)));
      const e = s.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) throw new KernelError(command, 110, 'ETIMEDOUT', { hint: 'no netlink reply from the kernel within 5 s' });
      throw kernelError(command, e, { detail: 'netlink recv' });
    }
  }

  /**
   * Send a request (NLM_F_ACK added unless it is a dump) and collect what the kernel answers up to the ACK (echoed objects with
   * NLM_F_ECHO, or every part of a NLM_F_DUMP up to NLMSG_DONE). Throws `KernelError(command, errno)` when
   * the kernel says no, the hint being the kernel's extended-ACK message when it gave one.
   */
  request(msg: NetlinkMessage, command: string, detail?: string): NetlinkReply[] {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const dump = (msg.flags & NL.NLM_F_DUMP) === NL.NLM_F_DUMP;
    this.send(msg.encode(seq, dump ? 0 : NL.NLM_F_ACK), command);
    const out: NetlinkReply[] = [];
    for (;;) {
      for (const r of this.receive(command)) {
        if (r.seq !== seq) continue; // a stale reply of an earlier, abandoned request
        if (r.type === NL.NLMSG_ERROR) {
          const { errno, message } = parseError(r);
          if (errno === 0) return out;
          throw kernelError(command, errno, { detail, hint: message });
        }
        if (r.type === NL.NLMSG_DONE) {
          // A dump's end (its payload may carry an error, e.g. an interrupted dump).
          if (r.payload.length >= 4 && r.payload.readInt32LE(0) < 0) {
            const { errno, message } = parseError(r);
            throw kernelError(command, errno, { detail, hint: message });
          }
          if (dump) return out;
          continue;
        }
        if (r.type === NL.NLMSG_NOOP) continue;
        out.push(r);
      }
    }
  }

  close(): void {
    this.fdRef.close();
  }
}

/** Run `fn` with a fresh NETLINK_ROUTE socket, closed after. */
export function withRtnetlink<T>(fn: (s: NetlinkSocket) => T): T {
  const s = NetlinkSocket.open(NL.NETLINK_ROUTE);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
