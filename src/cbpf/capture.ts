/**
 * Live capture with a kernel-side classic filter: an AF_PACKET socket whose filter is attached before the
 * socket is bound (so no unfiltered frame slips in), polled without blocking the event loop.
 * Note: the kernel strips VLAN tags into packet metadata on most devices, so frames arrive untagged and
 * `vlan` tests (which look at the frame bytes, as for capture files) do not see them.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { PcapRecord } from '../pcap/index.js';
import { Linktype } from '../pcap/index.js';
import { compileFilter } from './filter/index.js';
import type { SockFilter } from './insn.js';
import { closeFd, ifNameToIndex, packetSocket, recvNonBlocking } from './sys.js';

/** Link type of an interface from its ARPHRD type (/sys/class/net/IF/type). */
export function interfaceLinktype(iface: string): number {
  let t: number;
  try {
    t = Number(readFileSync(`/sys/class/net/${iface}/type`, 'utf8').trim());
  } catch {
    throw new UsageError(`no such interface '${iface}'`);
  }
  if (t === 1 || t === 772) return Linktype.EN10MB; // ARPHRD_ETHER, ARPHRD_LOOPBACK
  if (t === 65534) return Linktype.RAW; // ARPHRD_NONE (tun)
  throw new UsageError(`interface '${iface}' has hardware type ${t}, which capture does not support`);
}

/** An open capture socket. */
export class LiveCapture {
  readonly fd: number;
  readonly ifindex: number;
  readonly linktype: number;
  private closed = false;

  /** Open `iface` with `prog` as its kernel filter. */
  constructor(iface: string, prog: readonly SockFilter[], linktype = interfaceLinktype(iface)) {
    let ifindex: number;
    try {
      ifindex = ifNameToIndex(iface);
    } catch {
      throw new UsageError(`no such interface '${iface}'`);
    }
    this.ifindex = ifindex;
    this.linktype = linktype;
    this.fd = packetSocket(ifindex, prog);
  }

  /** The next queued frame, or undefined. */
  poll(): PcapRecord | undefined {
    const r = recvNonBlocking(this.fd);
    if (!r) return undefined;
    return { data: r.data, ts: Date.now() * 1000, origLen: r.len, linktype: this.linktype };
  }

  close(): void {
    if (!this.closed) closeFd(this.fd);
    this.closed = true;
  }
}

/** Options of {@link capture}. */
export interface CaptureOptions {
  /** Stop after this many packets. */
  count?: number;
  /** Stop after this many milliseconds. */
  timeoutMs?: number;
  /** Called once the socket is open and filtering (e.g. to start sending test traffic). */
  onReady?: () => void;
  /** Poll interval in ms (default 2). */
  intervalMs?: number;
}

/** Capture frames matching `expr` on `iface` until `count` frames or the timeout. */
export async function capture(iface: string, expr: string, opts: CaptureOptions = {}): Promise<{ linktype: number; records: PcapRecord[] }> {
  const linktype = interfaceLinktype(iface);
  const prog = compileFilter(expr, { linktype, snaplen: 262144 });
  const cap = new LiveCapture(iface, prog, linktype);
  const records: PcapRecord[] = [];
  const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : Infinity;
  try {
    opts.onReady?.();
    for (;;) {
      let r: PcapRecord | undefined;
      while ((r = cap.poll())) {
        records.push(r);
        if (opts.count !== undefined && records.length >= opts.count) return { linktype, records };
      }
      if (Date.now() >= deadline) return { linktype, records };
      await new Promise((res) => setTimeout(res, opts.intervalMs ?? 2));
    }
  } finally {
    cap.close();
  }
}
