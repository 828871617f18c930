/**
 * tcplife: one line per TCP connection when it closes (sock:inet_sock_set_state, bpftrace's tcplife on the
 * tracepoint instead of a kprobe): pid and comm (cached when the socket enters SYN_SENT or LAST_ACK — the
 * process that connected or closed — else the context of the close), addresses and ports, bytes sent (acked)
 * and received (from struct tcp_sock through kernel BTF) and the lifetime from the first state change seen.
 * `pid` filters on that reported pid. Connections already open when the tool started are not reported.
 */
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';
import { TCP_ADDR_ARGS, TCP_ADDR_FORMAT } from './tcpstates.js';

/** One closed TCP connection. */
export interface TcpLifeEvent {
  time: Date;
  pid: number;
  comm: string;
  family: 'ipv4' | 'ipv6';
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** Bytes the peer acknowledged (tcp_sock.bytes_acked) and bytes received (tcp_sock.bytes_received). */
  txBytes: number;
  rxBytes: number;
  /** Lifetime in nanoseconds and milliseconds. */
  durationNs: bigint;
  ms: number;
}

/**
 * The bpftrace-language script of tcplife (IPPROTO_TCP = 6; states: SYN_SENT 2, FIN_WAIT1 4, CLOSE 7,
 * LAST_ACK 9).
 */
export function tcplifeScript(): string {
  return [
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {',
    '  $sk = args->skaddr;',
    '  if (args->newstate < 4 && @birth[$sk] == 0) { @birth[$sk] = nsecs; }',
    '  if (args->newstate == 2 || args->newstate == 9) { @skpid[$sk] = pid; @skcomm[$sk] = comm; }',
    '  if (args->newstate == 7 && @birth[$sk] != 0) {',
    '    $tp = (struct tcp_sock *)$sk;',
    '    $pid = @skpid[$sk]; $comm = @skcomm[$sk];',
    '    if ($comm == "") { $pid = pid; $comm = comm; }',
    `    printf("L\\t%llu\\t%llu\\t%d\\t%d\\t${TCP_ADDR_FORMAT}\\t%llu\\t%llu\\t%s\\n", nsecs, nsecs - @birth[$sk], $pid, args->family, ${TCP_ADDR_ARGS}, $tp->bytes_acked, $tp->bytes_received, $comm);`,
    '  }',
    '  if (args->newstate == 7) { delete(@birth[$sk]); delete(@skpid[$sk]); delete(@skcomm[$sk]); }',
    '}',
  ].join('\n');
}

/** Run tcplife; each closed connection goes to `onEvent`. */
export async function tcplife(o: ToolOptions & { onEvent: (e: TcpLifeEvent) => void }): Promise<void> {
  checkToolOptions(o, 'tcplife');
  await runToolScript(tcplifeScript(), o, {
    onLine: (f) => {
      if (f[0] !== 'L' || f.length < 12) return;
      const pid = Number(f[3]);
      if (o.pid !== undefined && pid !== o.pid) return;
      const durationNs = BigInt(f[2]!);
      o.onEvent({
        time: monoToDate(BigInt(f[1]!)),
        durationNs,
        ms: Number(durationNs) / 1e6,
        pid,
        family: f[4] === '10' ? 'ipv6' : 'ipv4',
        saddr: f[5]!,
        sport: Number(f[6]),
        daddr: f[7]!,
        dport: Number(f[8]),
        txBytes: Number(f[9]),
        rxBytes: Number(f[10]),
        comm: f.slice(11).join('\t'),
      });
    },
  }, 'tcplife');
}
