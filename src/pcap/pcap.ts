/**
 * Reading and writing capture files: classic pcap (microsecond and nanosecond, either byte order) and
 * pcapng (SHB/IDB/EPB/SPB/OPB blocks, either byte order, several interfaces, if_tsresol).
 *
 * Written here rather than taken from npm: the npm readers checked (pcap-parser 0.2.1, pcap-ng-parser 1.0.0)
 * are stream-event parsers that read only one of the two formats, cannot write, and pull in packet
 * decoders we do not want; the formats are small and fully specified, so ~250 lines cover both directions.
 */
import { UsageError } from '../errors.js';

/** One captured packet. */
export interface PcapRecord {
  /** The captured bytes (may be shorter than the packet on the wire). */
  data: Uint8Array;
  /** Timestamp in microseconds since the epoch. */
  ts: number;
  /** Length on the wire; defaults to data.length. */
  origLen?: number;
  /** Link type of the packet's interface (pcapng files may mix them); set by the readers. */
  linktype?: number;
}

/** A whole capture file. */
export interface PcapFile {
  format: 'pcap' | 'pcapng';
  /** Link type (DLT_*) of the file, or of the first interface for pcapng. */
  linktype: number;
  snaplen: number;
  /** Timestamp resolution of the file: 'us' or 'ns' (pcap); pcapng reports 'us' after conversion. */
  resolution: 'us' | 'ns';
  records: PcapRecord[];
}

/** Link types used by bpfkit. */
export const Linktype = { NULL: 0, EN10MB: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

/** Parse a pcap or pcapng file (chosen by its magic number). Throws UsageError on a malformed file. */
export function readCapture(bytes: Uint8Array): PcapFile {
  if (bytes.length < 4) throw new UsageError('capture file is too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = v.getUint32(0, true);
  if (magicLE === PCAPNG_SHB) return readPcapng(bytes);
  return readPcap(bytes);
}

/** Parse a classic pcap file. */
export function readPcap(bytes: Uint8Array): PcapFile {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new UsageError('pcap file is shorter than its 24-byte header');
  let le: boolean;
  let ns: boolean;
  const m = v.getUint32(0, true);
  if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) le = true;
  else if (v.getUint32(0, false) === PCAP_MAGIC_US || v.getUint32(0, false) === PCAP_MAGIC_NS) le = false;
  else throw new UsageError(`not a pcap file (magic 0x${m.toString(16)})`);
  ns = v.getUint32(0, le) === PCAP_MAGIC_NS;
  const snaplen = v.getUint32(16, le);
  const linktype = v.getUint32(20, le) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let at = 24;
  while (at < bytes.length) {
    if (at + 16 > bytes.length) throw new UsageError(`pcap record header at offset ${at} is truncated`);
    const sec = v.getUint32(at, le);
    const frac = v.getUint32(at + 4, le);
    const incl = v.getUint32(at + 8, le);
    const orig = v.getUint32(at + 12, le);
    at += 16;
    if (at + incl > bytes.length) throw new UsageError(`pcap record at offset ${at - 16} claims ${incl} bytes past the end`);
    records.push({
      data: bytes.slice(at, at + incl),
      ts: sec * 1e6 + (ns ? Math.floor(frac / 1000) : frac),
      origLen: orig,
      linktype,
    });
    at += incl;
  }
  return { format: 'pcap', linktype, snaplen, resolution: ns ? 'ns' : 'us', records };
}

/** Options for {@link writePcap}. */
export interface WritePcapOptions {
  linktype?: number;
  snaplen?: number;
  /** Write nanosecond timestamps (magic a1b23c4d). Default microseconds. */
  nanoseconds?: boolean;
}

/** Serialise packets as a little-endian classic pcap file (default Ethernet, snaplen 262144). */
export function writePcap(records: readonly PcapRecord[], opts: WritePcapOptions = {}): Uint8Array {
  const total = 24 + records.reduce((s, r) => s + 16 + r.data.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nanoseconds ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, opts.snaplen ?? 262144, true);
  v.setUint32(20, opts.linktype ?? Linktype.EN10MB, true);
  let at = 24;
  for (const r of records) {
    const sec = Math.floor(r.ts / 1e6);
    const us = r.ts - sec * 1e6;
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, opts.nanoseconds ? us * 1000 : us, true);
    v.setUint32(at + 8, r.data.length, true);
    v.setUint32(at + 12, r.origLen ?? r.data.length, true);
    out.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return out;
}

interface NgIface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSec: bigint;
}

/** Parse a pcapng file: every section, every interface; records carry their interface's link type. */
export function readPcapng(bytes: Uint8Array): PcapFile {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let le = true;
  let ifaces: NgIface[] = [];
  const all: NgIface[] = [];
  const records: PcapRecord[] = [];
  while (at + 12 <= bytes.length) {
    const typeLE = v.getUint32(at, true);
    if (typeLE === PCAPNG_SHB) {
      const bom = v.getUint32(at + 8, true);
      if (bom === PCAPNG_BOM) le = true;
      else if (v.getUint32(at + 8, false) === PCAPNG_BOM) le = false;
      else throw new UsageError(`pcapng section at offset ${at} has a bad byte-order magic`);
      ifaces = [];
    }
    const type = v.getUint32(at, le);
    const len = v.getUint32(at + 4, le);
    if (len < 12 || len % 4 !== 0 || at + len > bytes.length) throw new UsageError(`pcapng block at offset ${at} has a bad length ${len}`);
    const body = at + 8;
    const bodyEnd = at + len - 4;
    switch (type) {
      case 1: {
        // Interface Description Block.
        const iface: NgIface = { linktype: v.getUint16(body, le), snaplen: v.getUint32(body + 4, le), unitsPerSec: 1000000n };
        let o = body + 8;
        while (o + 4 <= bodyEnd) {
          const code = v.getUint16(o, le);
          const olen = v.getUint16(o + 2, le);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const r = bytes[o + 4]!;
            iface.unitsPerSec = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
          }
          o += 4 + ((olen + 3) & ~3);
        }
        ifaces.push(iface);
        all.push(iface);
        break;
      }
      case 6:
      case 2: {
        // Enhanced Packet Block (6) and the obsolete Packet Block (2).
        const ifId = type === 6 ? v.getUint32(body, le) : v.getUint16(body, le);
        const iface = ifaces[ifId];
        if (!iface) throw new UsageError(`pcapng packet at offset ${at} names interface ${ifId}, which is not described`);
        const tsv = (BigInt(v.getUint32(body + 4, le)) << 32n) | BigInt(v.getUint32(body + 8, le));
        const cap = v.getUint32(body + 12, le);
        const orig = v.getUint32(body + 16, le);
        if (body + 20 + cap > bodyEnd) throw new UsageError(`pcapng packet at offset ${at} is truncated`);
        records.push({
          data: bytes.slice(body + 20, body + 20 + cap),
          ts: Number((tsv * 1000000n) / iface.unitsPerSec),
          origLen: orig,
          linktype: iface.linktype,
        });
        break;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp.
        const iface = ifaces[0];
        if (!iface) throw new UsageError(`pcapng simple packet at offset ${at} without an interface`);
        const orig = v.getUint32(body, le);
        const cap = Math.min(orig, iface.snaplen || orig, bodyEnd - body - 4);
        records.push({ data: bytes.slice(body + 4, body + 4 + cap), ts: 0, origLen: orig, linktype: iface.linktype });
        break;
      }
      default:
        break; // Name resolution, statistics, custom blocks: skipped.
    }
    at += len;
  }
  const first = all[0];
  return { format: 'pcapng', linktype: first?.linktype ?? Linktype.EN10MB, snaplen: first?.snaplen ?? 262144, resolution: 'us', records };
}

/** Serialise packets as a little-endian pcapng file with one interface (microsecond timestamps). */
export function writePcapng(records: readonly PcapRecord[], opts: { linktype?: number; snaplen?: number } = {}): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + body.length;
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, len, true);
    b.set(body, 8);
    v.setUint32(len - 4, len, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, PCAPNG_BOM, true);
  sv.setUint16(4, 1, true);
  sv.setUint16(6, 0, true);
  sv.setBigInt64(8, -1n, true);
  block(PCAPNG_SHB, shb);
  const idb = new Uint8Array(8);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, opts.linktype ?? Linktype.EN10MB, true);
  iv.setUint32(4, opts.snaplen ?? 262144, true);
  block(1, idb);
  for (const r of records) {
    const padded = (r.data.length + 3) & ~3;
    const epb = new Uint8Array(20 + padded);
    const ev = new DataView(epb.buffer);
    const ts = BigInt(Math.round(r.ts));
    ev.setUint32(0, 0, true);
    ev.setUint32(4, Number(ts >> 32n), true);
    ev.setUint32(8, Number(ts & 0xffffffffn), true);
    ev.setUint32(12, r.data.length, true);
    ev.setUint32(16, r.origLen ?? r.data.length, true);
    epb.set(r.data, 20);
    block(6, epb);
  }
  const out = new Uint8Array(blocks.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
