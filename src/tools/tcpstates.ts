/**
 * tcpstates: every TCP state change (sock:inet_sock_set_state): socket address, the pid/comm of the context it
 * happened in, local and remote address and port (IPv4 or IPv6, through ntop), old → new state, and the time
 * spent in the old state. `pid` keeps the sockets of that process: from a change only a system call of the
 * process can make (connect → SYN_SENT, listen → LISTEN, close/shutdown → FIN_WAIT1 or LAST_ACK) until CLOSE,
 * including the changes made meanwhile in softirq context. A passively opened socket is thus seen from its
 * close on, and changes of other sockets that merely ran in the process's context (loopback) are not kept.
 */
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';
import { tcpStateName } from './names.js';

/** States only a system call of the socket's process enters. */
const OWNER_STATES = new Set(['SYN_SENT', 'LISTEN', 'FIN_WAIT1', 'LAST_ACK']);

/** One TCP state change. */
export interface TcpStateEvent {
  time: Date;
  /** Kernel address of the socket (hex): the same for every change of one connection. */
  skaddr: string;
  /** Context of the change (often not the owner: changes made while handling packets run in softirq). */
  pid: number;
  comm: string;
  family: 'ipv4' | 'ipv6';
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  oldState: string;
  newState: string;
  /** Milliseconds since the previous change of this socket (0 for the first one seen). */
  ms: number;
}

/**
 * The inet_sock_set_state fields of TCP sockets (AF_INET = 2) as tab-separated printf arguments:
 * source, sport, destination, dport (the tracepoint's ports are in host order).
 */
export const TCP_ADDR_FORMAT = '%s\\t%d\\t%s\\t%d';
export const TCP_ADDR_ARGS = 'args->family == 2 ? ntop(args->saddr) : ntop(args->saddr_v6), args->sport, args->family == 2 ? ntop(args->daddr) : ntop(args->daddr_v6), args->dport';

/** The bpftrace-language script of tcpstates (IPPROTO_TCP = 6, TCP_CLOSE = 7). */
export function tcpstatesScript(): string {
  return (
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { $now = nsecs; $prev = @last[args->skaddr]; $d = $prev ? $now - $prev : 0; ' +
    'if (args->newstate == 7) { delete(@last[args->skaddr]); } else { @last[args->skaddr] = $now; } ' +
    `printf("S\\t%llu\\t%llx\\t%d\\t%d\\t${TCP_ADDR_FORMAT}\\t%d\\t%d\\t%llu\\t%s\\n", $now, args->skaddr, pid, args->family, ${TCP_ADDR_ARGS}, args->oldstate, args->newstate, $d, comm); }`
  );
}

/** Run tcpstates; each state change goes to `onEvent` as it happens. */
export async function tcpstates(o: ToolOptions & { onEvent: (e: TcpStateEvent) => void }): Promise<void> {
  checkToolOptions(o, 'tcpstates');
  // With a pid: sockets it touched, until they close.
  const mine = new Set<string>();
  await runToolScript(tcpstatesScript(), o, {
    onLine: (f) => {
      if (f[0] !== 'S' || f.length < 13) return;
      const pid = Number(f[3]);
      const skaddr = f[2]!;
      const newState = tcpStateName(Number(f[10]));
      if (o.pid !== undefined) {
        if (pid === o.pid && OWNER_STATES.has(newState)) mine.add(skaddr);
        if (!mine.has(skaddr)) return;
        if (newState === 'CLOSE') mine.delete(skaddr);
      }
      o.onEvent({
        time: monoToDate(BigInt(f[1]!)),
        skaddr,
        pid,
        family: f[4] === '10' ? 'ipv6' : 'ipv4',
        saddr: f[5]!,
        sport: Number(f[6]),
        daddr: f[7]!,
        dport: Number(f[8]),
        oldState: tcpStateName(Number(f[9])),
        newState,
        ms: Number(BigInt(f[11]!)) / 1e6,
        comm: f.slice(12).join('\t'),
      });
    },
  }, 'tcpstates');
}
