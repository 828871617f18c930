/**
 * The `xdp_md` context, built like BPF_PROG_TEST_RUN's xdp_buff: XDP_PACKET_HEADROOM (256) bytes of headroom, a
 * 4096-byte frame of which the last 320 (skb_shared_info) are never packet data, so a packet can grow by
 * adjust_tail up to 3520 bytes in all; metadata empty; ingress_ifindex 1 (loopback), rx_queue_index 0. data,
 * data_end and data_meta are packet pointers kept in the shadow slots the ctx pass rewrites loads to.
 */
import { UsageError } from '../../errors.js';
import type { Memory } from '../api.js';
import type { RuntimeEnv } from '../helpers/env.js';
import { PacketBuffer } from './packet.js';
import { XDP_MD, fieldNamed } from './layouts.js';
import { shadowLayout } from './ctx-rewrite.js';
import { readCtxFields, writeCtxFields, type CtxValues, type PreparedContext } from './common.js';

/** XDP_PACKET_HEADROOM. */
export const XDP_HEADROOM = 256;
/** Bytes of a test-run frame usable for headroom + packet (4096 minus skb_shared_info). */
export const XDP_FRAME_DATA = 4096 - 320;

/** Build an XDP context for `packet`. Input fields: ingress_ifindex, rx_queue_index, egress_ifindex. */
export function prepareXdp(mem: Memory, env: RuntimeEnv, packet: Uint8Array, input: CtxValues = {}): PreparedContext {
  for (const k of Object.keys(input)) {
    if (!['ingress_ifindex', 'rx_queue_index', 'egress_ifindex'].includes(k)) throw new UsageError(`xdp_md.${k} cannot be set as input`);
  }
  if (packet.length < 14 || packet.length > XDP_FRAME_DATA - XDP_HEADROOM) {
    throw new UsageError(`XDP packets must be 14..${XDP_FRAME_DATA - XDP_HEADROOM} bytes, as in BPF_PROG_TEST_RUN (got ${packet.length})`);
  }
  const tailroom = Math.max(0, XDP_FRAME_DATA - XDP_HEADROOM - packet.length);
  const p = new PacketBuffer(mem, packet, { headroom: XDP_HEADROOM, tailroom, growable: false });
  const shadow = shadowLayout(XDP_MD);
  const ctx = new Uint8Array(shadow.size);
  const dv = new DataView(ctx.buffer);
  writeCtxFields(XDP_MD, ctx, { ingress_ifindex: 1, rx_queue_index: 0, ...input });
  const off = (n: string) => fieldNamed(XDP_MD, n)!.offset;
  const sync = () => {
    dv.setUint32(off('data'), Number(p.dataAddr & 0xffffffffn), true);
    dv.setUint32(off('data_end'), Number(p.dataEndAddr & 0xffffffffn), true);
    dv.setUint32(off('data_meta'), Number(p.metaAddr & 0xffffffffn), true);
    dv.setBigUint64(shadow.slots.data!, p.dataAddr, true);
    dv.setBigUint64(shadow.slots.data_end!, p.dataEndAddr, true);
    dv.setBigUint64(shadow.slots.data_meta!, p.metaAddr, true);
  };
  sync();
  p.onChange = sync;
  const base = mem.map(ctx, { writable: false, kind: 'ctx', name: 'xdp_md' });
  env.packet = p;
  return {
    r1: base,
    layout: XDP_MD,
    ctxBytes: ctx,
    packet: p,
    finish: () => ({ packet: p.bytes().slice(), meta: p.metaBytes().slice(), ctx: readCtxFields(XDP_MD, ctx) }),
    release() {
      mem.unmap(base);
      mem.unmap(p.base);
    },
  };
}
