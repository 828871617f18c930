/** `bpfkit feature probe`: what this kernel supports (program types, map types, attach kinds, helpers). */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { probeAll } from '../kernel/features/probe.js';
import { progTypeByName } from '../isa/names.js';
import { printJson, printTable } from './prog.js';

/** Register `feature`. */
export function register(program: Command): void {
  const feature = program.command('feature').description('kernel feature probes');
  feature
    .command('probe')
    .description('probe program types, map types and attach kinds (and helpers with --helpers)')
    .option('--helpers <types...>', 'also probe every helper for these program types (e.g. xdp kprobe)')
    .option('--json', 'JSON output')
    .action((opts: { helpers?: string[]; json?: boolean }) => {
      const helpersFor = (opts.helpers ?? []).map((n) => {
        const t = progTypeByName(n);
        if (t === undefined) throw new UsageError(`--helpers: unknown program type '${n}'`);
        return t;
      });
      const r = probeAll({ helpersFor });
      if (opts.json) return printJson(r);
      const section = (title: string, rec: Record<string, { ok: boolean; reason?: string }>) => {
        process.stdout.write(`${title}\n`);
        printTable(
          ['NAME', 'AVAILABLE', 'NOTE'],
          Object.entries(rec).map(([k, v]) => [k, v.ok ? 'yes' : 'no', (v.reason ?? '').split(' — ')[0]!.slice(0, 100)]),
        );
        process.stdout.write('\n');
      };
      section('Program types', r.progTypes);
      section('Map types', r.mapTypes);
      section('Attach kinds', r.attach);
      for (const [t, rec] of Object.entries(r.helpers)) {
        const yes = Object.entries(rec).filter(([, v]) => v.ok).map(([k]) => k);
        process.stdout.write(`Helpers for ${t} programs (${yes.length}):\n  ${yes.join(' ')}\n\n`);
      }
    });
}
