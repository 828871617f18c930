/** Names of program return values per program type (XDP actions, tc actions, socket filter / cgroup skb). */
import { ProgType, XdpAction } from '../../isa/uapi.js';

const XDP_NAMES = Object.fromEntries(Object.entries(XdpAction).map(([k, v]) => [v, `XDP_${k}`]));
/** TC_ACT_* values (include/uapi/linux/pkt_cls.h). */
const TC_NAMES: Record<number, string> = {
  [-1]: 'TC_ACT_UNSPEC',
  0: 'TC_ACT_OK',
  1: 'TC_ACT_RECLASSIFY',
  2: 'TC_ACT_SHOT',
  3: 'TC_ACT_PIPE',
  4: 'TC_ACT_STOLEN',
  5: 'TC_ACT_QUEUED',
  6: 'TC_ACT_REPEAT',
  7: 'TC_ACT_REDIRECT',
  8: 'TC_ACT_TRAP',
};

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
