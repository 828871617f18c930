/**
 * `bpfkit link list|show|pin|detach`: BPF links in the kernel with their type, program and target details;
 * pinning one in bpffs, and detaching one (BPF_LINK_DETACH: the program leaves its hook, the link object stays
 * as a defunct link while referenced).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { objectIds, openById, tryOpenById } from '../kernel/info/ids.js';
import { linkInfo, type LinkInfo } from '../kernel/info/info.js';
import { getPinned, pinFd } from '../kernel/pin.js';
import { bpf } from '../kernel/sys/bpf.js';
import type { FdRef } from '../kernel/sys/fd.js';
import { printJson, printTable } from './prog.js';

/** A link from `ID` or a pinned path (an owned fd). */
function openLink(ref: string): FdRef {
  if (/^\d+$/.test(ref)) return openById('link', Number(ref));
  if (ref.startsWith('/')) return getPinned(ref);
  throw new UsageError(`${ref}: give a link id or a pinned path under bpffs`);
}

const row = (i: LinkInfo) => [i.id, i.typeName, i.progId, Object.entries(i.details).map(([k, v]) => `${k}=${v}`).join(' ') || '-'];

/** Register `link`. */
export function register(program: Command): void {
  const link = program.command('link').description('BPF links: list, show, pin, detach');
  link
    .command('list')
    .description('list every link')
    .option('--json', 'JSON output')
    .action((opts: { json?: boolean }) => {
      const infos: LinkInfo[] = [];
      for (const id of objectIds('link')) {
        const fd = tryOpenById('link', id);
        if (!fd) continue;
        try {
          infos.push(linkInfo(fd.fd));
        } finally {
          fd.close();
        }
      }
      if (opts.json) printJson(infos);
      else printTable(['ID', 'TYPE', 'PROG', 'DETAILS'], infos.map(row));
    });
  link
    .command('show')
    .description('show one link')
    .argument('<link>', 'link id or pinned path')
    .option('--json', 'JSON output')
    .action((id: string, opts: { json?: boolean }) => {
      const fd = openLink(id);
      try {
        const i = linkInfo(fd.fd);
        if (opts.json) printJson(i);
        else printTable(['ID', 'TYPE', 'PROG', 'DETAILS'], [row(i)]);
      } finally {
        fd.close();
      }
    });
  link
    .command('pin')
    .description('pin a link in bpffs (the attachment then outlives its creator)')
    .argument('<link>', 'link id or pinned path')
    .argument('<path>', 'new pin path (under /sys/fs/bpf)')
    .action((ref: string, path: string) => {
      const fd = openLink(ref);
      try {
        pinFd(fd.fd, path);
      } finally {
        fd.close();
      }
    });
  link
    .command('detach')
    .description('detach the program of a link from its hook (BPF_LINK_DETACH); pins of it stay, defunct')
    .argument('<link>', 'link id or pinned path')
    .action((ref: string) => {
      const fd = openLink(ref);
      try {
        bpf('LINK_DETACH', { link_fd: fd.fd }, { detail: `link ${ref}` });
      } finally {
        fd.close();
      }
    });
}
