/** `bpfkit link list|show`: BPF links in the kernel with their type, program and target details. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { objectIds, openById, tryOpenById } from '../kernel/info/ids.js';
import { linkInfo, type LinkInfo } from '../kernel/info/info.js';
import { printJson, printTable } from './prog.js';

const row = (i: LinkInfo) => [i.id, i.typeName, i.progId, Object.entries(i.details).map(([k, v]) => `${k}=${v}`).join(' ') || '-'];

/** Register `link`. */
export function register(program: Command): void {
  const link = program.command('link').description('BPF links: list, show');
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
    .argument('<id>', 'link id')
    .option('--json', 'JSON output')
    .action((id: string, opts: { json?: boolean }) => {
      if (!/^\d+$/.test(id)) throw new UsageError(`${id}: not a link id`);
      const fd = openById('link', Number(id));
      try {
        const i = linkInfo(fd.fd);
        if (opts.json) printJson(i);
        else printTable(['ID', 'TYPE', 'PROG', 'DETAILS'], [row(i)]);
      } finally {
        fd.close();
      }
    });
}
