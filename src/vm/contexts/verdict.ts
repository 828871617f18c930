/** Names of program return values per program type (XDP actions, tc actions, socket filter / cgroup skb). */
import { NetConst, ProgType, XdpAction } from '../../isa/uapi.js';

const XDP_NAMES = Object.fromEntries(Object.entries(XdpAction).map(([k, v]) => [v, `XDP_${k}`]));
/** TC_ACT_* names by value (linux/pkt_cls.h; TC_ACT_VALUE_MAX is a bound, not a verdict). */
const TC_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(NetConst)
    .filter(([k]) => k.startsWith('TC_ACT_') && k !== 'TC_ACT_VALUE_MAX')
    .map(([k, v]) => [v, k]),
);

/** The verdict a return value means for a program type, or undefined when the type has no verdicts. */
export function verdictName(progType: number, retval: number): string | undefined {
  switch (progType) {
    case ProgType.XDP:
      return XDP_NAMES[retval >>> 0] ?? `XDP_INVALID(${retval >>> 0})`;
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
      return TC_NAMES[retval | 0] ?? `TC_ACT_UNKNOWN(${retval | 0})`;
    case ProgType.SOCKET_FILTER:
      return retval === 0 ? 'DROP' : `ACCEPT(${retval >>> 0})`;
    case ProgType.CGROUP_SKB:
      return retval & 1 ? 'ALLOW' : 'DROP';
    default:
      return undefined;
  }
}
