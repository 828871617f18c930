/**
 * `bpfkit prog detach PROG ATTACH_TYPE TARGET`: BPF_PROG_DETACH of a program attached with BPF_PROG_ATTACH,
 * the target named by the attach type: a cgroup directory (cgroup_*), an interface (tcx_*, netkit_*), a network
 * namespace file (flow_dissector; default this process's), a sockmap/sockhash (sk_skb_*, sk_msg_verdict) or a
 * lirc device (lirc_mode2). Link-based attachments are detached with `bpfkit link detach ID`.
 */
import { closeSync, openSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { AttachType } from '../isa/uapi.js';
import { bpfTry } from '../kernel/sys/bpf.js';
import { kernelError } from '../kernel/sys/errno.js';
import { ifNameToIndex } from '../kernel/sys/net.js';
import { openMap } from './map.js';
import { openProgram } from './prog.js';

type TargetKind = 'cgroup' | 'ifindex' | 'netns' | 'map' | 'device';

/** What kind of target each detachable attach type names. */
function targetKind(name: string): TargetKind | undefined {
  if (name.startsWith('cgroup_')) return 'cgroup';
  if (/^(tcx|netkit)_/.test(name)) return 'ifindex';
  if (name === 'flow_dissector') return 'netns';
  if (/^sk_(skb|msg)_/.test(name)) return 'map';
  if (name === 'lirc_mode2') return 'device';
  return undefined;
}

/** Register `prog detach` under the `prog` command. */
export function registerDetach(prog: Command): void {
  prog
    .command('detach')
    .description('detach a program attached with BPF_PROG_ATTACH (cgroup_*, tcx_*, netkit_*, flow_dissector, sk_*, lirc_mode2)')
    .argument('<prog>', 'program id or pinned path')
    .argument('<attach-type>', 'attach type, e.g. cgroup_inet_ingress, tcx_ingress, flow_dissector, sk_msg_verdict')
    .argument('[target]', 'cgroup directory | interface | netns file (default: ours) | map id or pin | lirc device')
    .action((ref: string, typeName: string, target: string | undefined) => {
      const name = typeName.toLowerCase();
      const at = (AttachType as Record<string, number>)[name.toUpperCase()];
      const kind = at === undefined ? undefined : targetKind(name);
      if (at === undefined) throw new UsageError(`${typeName}: unknown attach type (e.g. cgroup_inet_ingress, tcx_egress, flow_dissector)`);
      if (!kind) {
        throw new UsageError(`${typeName}: not detachable with BPF_PROG_DETACH (${name === 'xdp' ? 'XDP' : 'this hook'} is attached by a link: use 'bpfkit link detach ID')`);
      }
      if (!target && kind !== 'netns') throw new UsageError(`prog detach ${name}: name the target (${kind === 'ifindex' ? 'interface' : kind === 'map' ? 'map id or pin' : kind === 'cgroup' ? 'cgroup directory' : 'device'})`);
      const p = openProgram(ref);
      let fd: number | undefined;
      let closeTarget = () => {};
      try {
        let where: { target_fd: number } | { target_ifindex: number };
        if (kind === 'ifindex') where = { target_ifindex: /^\d+$/.test(target!) ? Number(target) : ifNameToIndex(target!) };
        else if (kind === 'map') {
          const m = openMap(target!);
          closeTarget = () => m.close();
          where = { target_fd: m.fd };
        } else {
          const path = target ?? '/proc/self/ns/net';
          fd = openSync(path, 'r');
          where = { target_fd: fd };
        }
        const { ret } = bpfTry('PROG_DETACH', { ...where, attach_bpf_fd: p.fd, attach_type: at });
        if (ret < 0) {
          const hint = -ret === 2 ? `program ${p.id} is not attached to ${target ?? 'this netns'} as ${name} with PROG_ATTACH (a link? see 'bpfkit link list')` : undefined;
          throw kernelError('PROG_DETACH', -ret, { detail: `${name} on ${target ?? 'this netns'}`, hint });
        }
      } finally {
        if (fd !== undefined) closeSync(fd);
        closeTarget();
        p.close();
      }
    });
}
