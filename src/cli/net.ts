/**
 * `bpfkit net list [dev IF]`: the BPF programs on this network namespace's hooks, like `bpftool net`: XDP per
 * interface and mode, tcx ingress/egress (with their links), netkit, classic tc cls_bpf filters, and the
 * namespace's flow dissector / sk_lookup programs.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { listNetAttachments, listNetnsAttachments } from '../kernel/info/net-attach.js';
import { ifNameToIndex } from '../kernel/sys/net.js';
import { printJson, printTable, progNameById } from './prog.js';

/** Register `net`. */
export function register(program: Command): void {
  const net = program.command('net').description('BPF programs on network hooks: xdp, tcx, netkit, tc, flow_dissector, sk_lookup');
  net
    .command('list')
    .alias('show')
    .description('list the programs attached to interfaces (all, or `dev IF`) and to the network namespace')
    .argument('[words...]', '`dev IF` to show one interface')
    .option('--dev <if>', 'only this interface (same as `dev IF`)')
    .option('--no-tc', 'skip classic tc filters (one netlink dump per interface and direction)')
    .option('--json', 'JSON output')
    .action((words: string[], opts: { dev?: string; tc: boolean; json?: boolean }) => {
      let dev = opts.dev;
      if (words.length) {
        if (words[0] !== 'dev' || words.length !== 2) throw new UsageError(`net list: expected 'dev IF', got '${words.join(' ')}'`);
        dev = words[1];
      }
      if (dev !== undefined) ifNameToIndex(dev); // a missing interface is an error, not an empty list
      const ifaces = listNetAttachments({ dev, classicTc: opts.tc }).map((a) => ({ ...a, name: a.name ?? progNameById(a.progId) }));
      const netns = dev === undefined ? listNetnsAttachments().map((a) => ({ ...a, name: progNameById(a.progId) })) : [];
      if (opts.json) {
        printJson({
          xdp: ifaces.filter((a) => a.kind === 'xdp'),
          tcx: ifaces.filter((a) => a.kind === 'tcx'),
          netkit: ifaces.filter((a) => a.kind === 'netkit'),
          tc: ifaces.filter((a) => a.kind === 'tc'),
          flow_dissector: netns.filter((a) => a.kind === 'flow_dissector'),
          sk_lookup: netns.filter((a) => a.kind === 'sk_lookup'),
        });
        return;
      }
      const rows = [
        ...ifaces.map((a) => [`${a.devname}(${a.ifindex})`, `${a.kind}/${a.attachPoint}`, a.progId, a.name || '-', a.linkId || '-']),
        ...netns.map((a) => ['netns', a.kind, a.progId, a.name || '-', a.linkId || '-']),
      ];
      printTable(['DEV', 'HOOK', 'PROG', 'NAME', 'LINK'], rows);
    });
}
