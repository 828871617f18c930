/**
 * `bpfkit xdp-firewall --iface IF --rules rules.json [--default drop|pass] [--duration S] [--stats]`: compile a
 * JSON rule list (an array of rules, or `{ "default": "drop", "rules": [...] }`) into bpfkit's XDP firewall,
 * attach it to an interface until Ctrl-C (or --duration), then detach. `--stats` prints per-rule counters
 * every second and at exit.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadFirewallKernel, type FirewallAction, type FirewallRule, type KernelFirewall } from '../net/firewall/index.js';

function readRules(path: string): { rules: FirewallRule[]; def?: FirewallAction } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--rules ${path}: ${(e as Error).message}`);
  }
  if (Array.isArray(json)) return { rules: json as FirewallRule[] };
  if (json && typeof json === 'object' && Array.isArray((json as { rules?: unknown }).rules)) {
    const o = json as { rules: FirewallRule[]; default?: FirewallAction };
    return { rules: o.rules, def: o.default };
  }
  throw new UsageError(`--rules ${path}: expected an array of rules or { "default": ..., "rules": [...] }`);
}

function statsLines(fw: KernelFirewall, rules: FirewallRule[]): string {
  const c = fw.counters();
  const lines = c.rules.map((r, i) => `rule ${i} ${JSON.stringify(rules[i])}: ${r.packets} packets ${r.bytes} bytes`);
  lines.push(`default: ${c.default.packets} packets ${c.default.bytes} bytes`);
  return lines.join('\n') + '\n';
}

/** Register `xdp-firewall`. */
export function register(program: Command): void {
  program
    .command('xdp-firewall')
    .description('attach an XDP IPv4/IPv6 firewall (first-match rules from a JSON file) to an interface until Ctrl-C')
    .requiredOption('--iface <name>', 'interface to attach to')
    .requiredOption('--rules <file>', 'JSON rules: [{"action":"drop","src":"10.0.0.0/8","proto":"udp","dport":[1000,2000]}, {"action":"pass","dst":"fd00::/8","tcpFlags":"syn,!ack"}, ...] (fields: action family src dst proto dport sport icmpType tcpFlags)')
    .option('--default <action>', 'action when no rule matches: pass | drop (overrides the file)')
    .option('--xdp-mode <mode>', 'auto | native | generic', 'auto')
    .option('--duration <seconds>', 'detach after this long instead of waiting for Ctrl-C')
    .option('--stats', 'print per-rule counters every second and at exit')
    .action(async (opts: { iface: string; rules: string; default?: string; xdpMode: string; duration?: string; stats?: boolean }) => {
      if (!['auto', 'native', 'generic'].includes(opts.xdpMode)) throw new UsageError(`--xdp-mode: '${opts.xdpMode}' is not auto, native or generic`);
      if (opts.default !== undefined && opts.default !== 'pass' && opts.default !== 'drop') throw new UsageError(`--default: '${opts.default}' is not pass or drop`);
      if (opts.duration !== undefined && !(Number(opts.duration) > 0)) throw new UsageError(`--duration: '${opts.duration}' is not a positive number`);
      const { rules, def } = readRules(opts.rules);
      const fw = loadFirewallKernel(rules, { iface: opts.iface, mode: opts.xdpMode as 'auto', defaultAction: (opts.default as FirewallAction | undefined) ?? def });
      let timer: NodeJS.Timeout | undefined;
      try {
        process.stderr.write(`xdp-firewall: ${rules.length} rules on ${fw.link!.target}; ${opts.duration ? `running for ${opts.duration} s` : 'Ctrl-C to detach'}\n`);
        if (opts.stats) timer = setInterval(() => process.stdout.write(statsLines(fw, rules)), 1000);
        await new Promise<void>((resolve) => {
          let stop: NodeJS.Timeout | undefined;
          const done = () => {
            process.off('SIGINT', done);
            process.off('SIGTERM', done);
            if (stop) clearTimeout(stop); // Ctrl-C before --duration ends: nothing may keep the process alive
            resolve();
          };
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          if (opts.duration) stop = setTimeout(done, Number(opts.duration) * 1000);
        });
        if (opts.stats) process.stdout.write(statsLines(fw, rules));
      } finally {
        if (timer) clearInterval(timer);
        fw.close();
        process.stderr.write('xdp-firewall: detached\n');
      }
    });
}
