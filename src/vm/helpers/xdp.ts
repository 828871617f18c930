/**
 * XDP packet helpers with the kernel's limits (net/core/filter.c): xdp_adjust_head (the data may not move
 * into the first sizeof(struct xdp_frame) = 40 bytes of headroom plus the metadata, nor leave less than ETH_HLEN
 * bytes), xdp_adjust_tail (grow up to the frame end minus skb_shared_info, zero-filled; shrink to ETH_HLEN at
 * least), xdp_adjust_meta (4-byte multiples, at most 255 bytes: else EACCES), xdp_get_buff_len,
 * xdp_load_bytes / xdp_store_bytes.
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { Errno } from '../errno.js';
import type { PacketBuffer } from '../contexts/packet.js';
import { envOf } from './env.js';
import { NetConst } from '../../isa/uapi.js';
import { s32, u32 } from './util.js';

/** sizeof(struct xdp_frame): headroom the kernel keeps for the frame descriptor. */
export const XDP_FRAME_SIZE = 40;
const META_MAX = 255;

function pkt(c: HelperCallContext): PacketBuffer | undefined {
  return envOf(c).packet;
}

/** XDP helper implementations by name. */
export const xdpHelpers: Record<string, HelperImpl> = {
  xdp_adjust_head(c, _r1, r2) {
    const p = pkt(c);
    if (!p) return -Errno.EINVAL;
    const delta = s32(r2);
    const metalen = p.metaLength;
    const data = p.data + delta;
    if (data < XDP_FRAME_SIZE + metalen || data > p.end - NetConst.ETH_HLEN) return -Errno.EINVAL;
    if (metalen) p.frame.copyWithin(p.meta + delta, p.meta, p.data);
    p.meta += delta;
    p.data = data;
    p.commit();
    return 0;
  },
  xdp_adjust_tail(c, _r1, r2) {
    const p = pkt(c);
    if (!p) return -Errno.EINVAL;
    const delta = s32(r2);
    const end = p.end + delta;
    if (end > p.frame.length || end < p.data + NetConst.ETH_HLEN) return -Errno.EINVAL;
    if (delta > 0) p.frame.fill(0, p.end, end);
    p.end = end;
    p.commit();
    return 0;
  },
  xdp_adjust_meta(c, _r1, r2) {
    const p = pkt(c);
    if (!p) return -Errno.EINVAL;
    const meta = p.meta + s32(r2);
    const metalen = p.data - meta;
    if (meta < XDP_FRAME_SIZE || meta > p.data) return -Errno.EINVAL;
    if (metalen % 4 || metalen > META_MAX) return -Errno.EACCES;
    p.meta = meta;
    p.commit();
    return 0;
  },
  xdp_get_buff_len: (c) => pkt(c)?.length ?? 0,
  xdp_load_bytes(c, _r1, r2, r3, r4) {
    const p = pkt(c);
    const off = u32(r2);
    const len = u32(r4);
    if (!p) return -Errno.EINVAL;
    // bpf_xdp_pointer: an offset or length above 0xffff is EFAULT, a range past the end EINVAL.
    if (off > 0xffff || len > 0xffff) return -Errno.EFAULT;
    if (off + len > p.length) return -Errno.EINVAL;
    c.mem.view(r3, len, true).set(p.bytes().subarray(off, off + len));
    return 0;
  },
  xdp_store_bytes(c, _r1, r2, r3, r4) {
    const p = pkt(c);
    const off = u32(r2);
    const len = u32(r4);
    if (!p) return -Errno.EINVAL;
    // bpf_xdp_pointer: an offset or length above 0xffff is EFAULT, a range past the end EINVAL.
    if (off > 0xffff || len > 0xffff) return -Errno.EFAULT;
    if (off + len > p.length) return -Errno.EINVAL;
    p.bytes().set(c.mem.view(r3, len), off);
    return 0;
  },
};
