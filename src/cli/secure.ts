/**
 * `bpfkit secure --rules rules.json [--json] [--duration S]`: run runtime security rules (exec/open/connect/
 * ptrace/setuid/kill; alert or SIGKILL) in the kernel until Ctrl-C, one alert per line on stdout, counters on
 * stderr at exit. `bpfkit secure check rules.json`: validate a rules file, one line per problem.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { alertJson, alertText, checkRules, parseRulesJson, watch, type SecurityStats } from '../security/index.js';

function readDoc(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseRulesJson(text, path);
}

function statsLine(s: SecurityStats): string {
  const per = Object.entries(s.rules)
    .map(([n, c]) => `${n}=${c}`)
    .join(' ');
  return `secure: ${s.emitted} alerts emitted, ${s.received} received, ${s.dropped} dropped (ring buffer full), ${s.kills} kills, ${s.killFailed} kill failures; per rule: ${per}\n`;
}

/** Register `secure` and `secure check`. */
export function register(program: Command): void {
  const secure = program
    .command('secure')
    .description('runtime security rules (JSON) filtered in the kernel: alert on, or SIGKILL, exec/open/connect/ptrace/setuid/kill calls')
    .option('--rules <file>', 'JSON rules: [{"name":"no-nc","event":"exec","binary":"/usr/bin/nc","action":"kill"}, ...]')
    .option('--json', 'one JSON object per alert')
    .option('--duration <seconds>', 'stop after this long instead of waiting for Ctrl-C')
    .action(async (opts: { rules?: string; json?: boolean; duration?: string }) => {
      if (!opts.rules) throw new UsageError('secure: --rules <file> is required (or: secure check <file>)');
      if (opts.duration !== undefined && !(Number(opts.duration) > 0)) throw new UsageError(`--duration: '${opts.duration}' is not a positive number`);
      const doc = readDoc(opts.rules);
      const { problems, rules } = checkRules(doc, opts.rules);
      if (problems.length) throw new UsageError(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more: run 'bpfkit secure check ${opts.rules}')` : problems[0]!);
      const ac = new AbortController();
      const w = watch(rules!, {
        signal: ac.signal,
        onAlert: (a) => process.stdout.write((opts.json ? alertJson(a) : alertText(a)) + '\n'),
      });
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const timer = opts.duration ? setTimeout(stop, Number(opts.duration) * 1000) : undefined;
      process.stderr.write(`secure: ${rules!.length} rules on ${w.tracepoints.length} tracepoints; ${opts.duration ? `running for ${opts.duration} s` : 'Ctrl-C to stop'}\n`);
      try {
        await w.closed;
      } finally {
        if (timer) clearTimeout(timer);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await w.close();
        process.stderr.write(statsLine(w.stats()));
      }
    });
  secure
    .command('check <file>')
    .description('validate a rules file: one line per problem (file, rule index and name, field, why)')
    .action((file: string) => {
      const { problems, rules } = checkRules(readDoc(file), file);
      if (problems.length) {
        for (const p of problems) process.stderr.write(`error: ${p}\n`);
        process.exitCode = 1;
        return;
      }
      const byEvent = new Map<string, number>();
      for (const r of rules!) byEvent.set(r.event, (byEvent.get(r.event) ?? 0) + 1);
      process.stdout.write(`${file}: ${rules!.length} rule${rules!.length === 1 ? "" : "s"} OK (${[...byEvent].map(([e, n]) => `${n} ${e}`).join(', ')})\n`);
    });
}
