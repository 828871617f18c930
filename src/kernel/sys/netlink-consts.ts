/**
 * rtnetlink / traffic-control constants bpfkit's netlink client needs, by their UAPI names, from
 * <linux/netlink.h>, <linux/rtnetlink.h> (and the <linux/if_link.h> it includes), <linux/pkt_sched.h>,
 * <linux/pkt_cls.h>, <linux/if_ether.h> and
 * <sys/socket.h>. One table, checked against the headers with gcc by test/kernel/tc-classic.test.ts.
 */

/** Every constant, by its C name (the test compiles `printf("%lld", (long long)NAME)` for each). */
export const NL = {
  AF_NETLINK: 16,
  AF_UNSPEC: 0,
  SOCK_RAW: 3,
  SOL_NETLINK: 270,
  NETLINK_ROUTE: 0,
  NETLINK_CAP_ACK: 10,
  NETLINK_EXT_ACK: 11,
  NETLINK_GET_STRICT_CHK: 12,

  NLMSG_NOOP: 1,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLMSG_OVERRUN: 4,
  NLM_F_REQUEST: 0x01,
  NLM_F_MULTI: 0x02,
  NLM_F_ACK: 0x04,
  NLM_F_ECHO: 0x08,
  NLM_F_DUMP_INTR: 0x10,
  NLM_F_ROOT: 0x100,
  NLM_F_MATCH: 0x200,
  NLM_F_DUMP: 0x300,
  NLM_F_REPLACE: 0x100,
  NLM_F_EXCL: 0x200,
  NLM_F_CREATE: 0x400,
  NLM_F_APPEND: 0x800,
  NLM_F_CAPPED: 0x100,
  NLM_F_ACK_TLVS: 0x200,
  NLMSGERR_ATTR_MSG: 1,
  NLMSGERR_ATTR_OFFS: 2,
  NLA_F_NESTED: 1 << 15,
  NLA_F_NET_BYTEORDER: 1 << 14,

  RTM_NEWLINK: 16,
  RTM_GETLINK: 18,
  IFLA_IFNAME: 3,
  IFLA_LINKINFO: 18,
  IFLA_INFO_KIND: 1,
  IFLA_XDP: 43,
  IFLA_XDP_ATTACHED: 2,
  IFLA_XDP_PROG_ID: 4,
  IFLA_XDP_DRV_PROG_ID: 5,
  IFLA_XDP_SKB_PROG_ID: 6,
  IFLA_XDP_HW_PROG_ID: 7,
  XDP_ATTACHED_DRV: 1,
  XDP_ATTACHED_SKB: 2,
  XDP_ATTACHED_HW: 3,
  XDP_ATTACHED_MULTI: 4,

  RTM_NEWQDISC: 36,
  RTM_DELQDISC: 37,
  RTM_GETQDISC: 38,
  RTM_NEWTFILTER: 44,
  RTM_DELTFILTER: 45,
  RTM_GETTFILTER: 46,

  TCA_UNSPEC: 0,
  TCA_KIND: 1,
  TCA_OPTIONS: 2,
  TCA_CHAIN: 11,

  TC_H_MAJ_MASK: 0xffff0000,
  TC_H_MIN_MASK: 0x0000ffff,
  TC_H_UNSPEC: 0,
  TC_H_ROOT: 0xffffffff,
  TC_H_INGRESS: 0xfffffff1,
  TC_H_CLSACT: 0xfffffff1,
  TC_H_MIN_INGRESS: 0xfff2,
  TC_H_MIN_EGRESS: 0xfff3,

  TCA_BPF_ACT: 1,
  TCA_BPF_POLICE: 2,
  TCA_BPF_CLASSID: 3,
  TCA_BPF_OPS_LEN: 4,
  TCA_BPF_OPS: 5,
  TCA_BPF_FD: 6,
  TCA_BPF_NAME: 7,
  TCA_BPF_FLAGS: 8,
  TCA_BPF_FLAGS_GEN: 9,
  TCA_BPF_TAG: 10,
  TCA_BPF_ID: 11,
  TCA_BPF_FLAG_ACT_DIRECT: 1,
  TCA_CLS_FLAGS_SKIP_HW: 1,
  TCA_CLS_FLAGS_SKIP_SW: 2,
  TCA_CLS_FLAGS_IN_HW: 4,
  TCA_CLS_FLAGS_NOT_IN_HW: 8,

  ETH_P_ALL: 0x0003,
} as const;

/** Sizes of the wire structs (checked with gcc's sizeof alongside the constants). */
export const NL_SIZES = {
  'struct nlmsghdr': 16,
  'struct nlmsgerr': 20,
  'struct rtattr': 4,
  'struct tcmsg': 20,
  'struct sockaddr_nl': 12,
} as const;

/** TC_H_MAKE(maj, min): a qdisc/class handle from its major and minor parts. */
export function tcHandle(maj: number, min: number): number {
  return ((maj & NL.TC_H_MAJ_MASK) | (min & NL.TC_H_MIN_MASK)) >>> 0;
}

/** 16-bit host → network byte order (tc filter protocols are in network order: ETH_P_ALL → 0x0300). */
export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}
