/**
 * Names the event tools print: signal names, TCP states (include/net/tcp_states.h) and block device names
 * (/sys/dev/block/MAJ:MIN, the kernel's dev_t split as MAJOR = dev >> 20, MINOR = dev & 0xfffff).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

let sigNames: Map<number, string> | undefined;
/** `SIGTERM` for 15; `0` for the null signal; `SIG<n>` for numbers without a name (real-time signals). */
export function signalName(n: number): string {
  if (!sigNames) {
    sigNames = new Map();
    for (const [name, num] of Object.entries(constants.signals)) if (!sigNames.has(num)) sigNames.set(num, name);
  }
  return n === 0 ? '0' : sigNames.get(n) ?? `SIG${n}`;
}

/** TCP states by number. */
export const TCP_STATES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE',
  8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV', 13: 'BOUND_INACTIVE',
};

/** The name of TCP state `n` (`UNKNOWN_<n>` for numbers this table does not know). */
export const tcpStateName = (n: number): string => TCP_STATES[n] ?? `UNKNOWN_${n}`;

const devNames = new Map<number, string>();
/** The block device name of a kernel dev_t (`vda`, `nvme0n1p2`), or `MAJ:MIN` when /sys does not say. */
export function blockDeviceName(dev: number): string {
  let n = devNames.get(dev);
  if (n === undefined) {
    const mm = `${dev >>> 20}:${dev & 0xfffff}`;
    try {
      n = /^DEVNAME=(.*)$/m.exec(readFileSync(`/sys/dev/block/${mm}/uevent`, 'utf8'))?.[1] ?? mm;
    } catch {
      n = mm;
    }
    devNames.set(dev, n);
  }
  return n;
}
