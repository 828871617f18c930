/**
 * `bpfkit xdp-lb --config lb.json -i IFACE [--mode native|generic] [--stats-interval S] [--duration S] [--dry-run]`:
 * load bpfkit's XDP L4 load balancer (VIPs → weighted backends by Maglev hashing, IPIP or L2 DSR), attach it
 * to an interface until Ctrl-C (or --duration) and print per-VIP / per-backend counters. SIGHUP re-reads the
 * config and applies it live (same ringSize/conntrackSize). `--dry-run` validates the config and prints the
 * program size and each VIP's Maglev table split without loading anything.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { compileLb, lbTableSummary, loadLbKernel, type LbConfig, type LbStats } from '../net/lb/index.js';

function readConfig(path: string): LbConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as LbConfig;
  } catch (e) {
    throw new UsageError(`--config ${path}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Counters as text, one line per VIP and per backend. */
export function formatLbStats(s: LbStats): string {
  const lines: string[] = [];
  for (const v of s.vips) {
    lines.push(`vip ${v.vip} (${v.mode}): ${v.counter.packets} packets ${v.counter.bytes} bytes`);
    for (const b of v.backends) lines.push(`  backend ${b.address} weight ${b.weight}: ${b.counter.packets} packets ${b.counter.bytes} bytes`);
  }
  lines.push(`new flows ${s.newFlows.packets}, passed ${s.pass.packets}, dropped (no backend) ${s.noBackend.packets}, dropped (error) ${s.errors.packets}`);
  return lines.join('\n') + '\n';
}

/** The dry-run report: program size and each VIP's table split. */
function dryRun(config: LbConfig): string {
  const lb = compileLb(config);
  const lines = [`xdp_lb: ${lb.insns.length} instructions, ${lb.maps.length} maps, Maglev table ${lb.config.ringSize} slots per VIP, conntrack ${lb.config.conntrackSize} entries`];
  for (const v of lbTableSummary(lb.config)) {
    lines.push(`vip ${v.vip} (${v.mode}), ${v.backends.length} backends`);
    for (const b of v.backends) lines.push(`  ${b.address} weight ${b.weight}: ${b.slots} slots (${(100 * b.share).toFixed(2)}%, weight share ${(100 * b.weightShare).toFixed(2)}%)`);
  }
  return lines.join('\n') + '\n';
}

/** Register `xdp-lb`. */
export function register(program: Command): void {
  program
    .command('xdp-lb')
    .description('attach an XDP L4 load balancer (Maglev hashing, conntrack, IPIP or L2 DSR) to an interface until Ctrl-C')
    .requiredOption('--config <file>', 'JSON: {"vips":[{"address":"10.0.0.10","protocol":"tcp","port":80,"mode":"ipip","backends":[{"address":"10.1.0.1","weight":2}]}]}')
    .option('-i, --iface <name>', 'interface to attach to (required unless --dry-run)')
    .option('--mode <mode>', 'XDP mode: native | generic (default: native when the driver supports it)')
    .option('--stats-interval <seconds>', 'print counters every S seconds (and at exit)')
    .option('--duration <seconds>', 'detach after this long instead of waiting for Ctrl-C')
    .option('--dry-run', 'validate the config, print the program size and the Maglev table split, load nothing')
    .action(async (opts: { config: string; iface?: string; mode?: string; statsInterval?: string; duration?: string; dryRun?: boolean }) => {
      if (opts.mode !== undefined && opts.mode !== 'native' && opts.mode !== 'generic') throw new UsageError(`--mode: '${opts.mode}' is not native or generic`);
      if (opts.statsInterval !== undefined && !(Number(opts.statsInterval) > 0)) throw new UsageError(`--stats-interval: '${opts.statsInterval}' is not a positive number`);
      if (opts.duration !== undefined && !(Number(opts.duration) > 0)) throw new UsageError(`--duration: '${opts.duration}' is not a positive number`);
      const config = readConfig(opts.config);
      if (opts.dryRun) {
        process.stdout.write(dryRun(config));
        return;
      }
      if (!opts.iface) throw new UsageError('-i/--iface: required (or use --dry-run)');
      const lb = loadLbKernel(config, { iface: opts.iface, mode: (opts.mode as 'native' | 'generic' | undefined) ?? 'auto' });
      let timer: NodeJS.Timeout | undefined;
      const reload = () => {
        try {
          lb.update(readConfig(opts.config));
          process.stderr.write(`xdp-lb: reloaded ${opts.config}\n`);
        } catch (e) {
          process.stderr.write(`xdp-lb: reload failed, keeping the old config: ${(e as Error).message}\n`);
        }
      };
      try {
        process.stderr.write(`xdp-lb: ${lb.control.vips.size} VIPs on ${lb.link!.target}; ${opts.duration ? `running for ${opts.duration} s` : 'Ctrl-C to detach'}, SIGHUP reloads the config\n`);
        if (opts.statsInterval) timer = setInterval(() => process.stdout.write(formatLbStats(lb.stats())), Number(opts.statsInterval) * 1000);
        process.on('SIGHUP', reload);
        await new Promise<void>((resolve) => {
          let stop: NodeJS.Timeout | undefined;
          const done = () => {
            process.off('SIGINT', done);
            process.off('SIGTERM', done);
            if (stop) clearTimeout(stop);
            resolve();
          };
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          if (opts.duration) stop = setTimeout(done, Number(opts.duration) * 1000);
        });
        if (opts.statsInterval) process.stdout.write(formatLbStats(lb.stats()));
      } finally {
        process.off('SIGHUP', reload);
        if (timer) clearInterval(timer);
        lb.close();
        process.stderr.write('xdp-lb: detached\n');
      }
    });
}
