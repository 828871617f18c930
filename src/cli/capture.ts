/**
 * `bpfkit capture -i IFACE [EXPR] -w OUT.pcap [-c COUNT] [--timeout S]`: capture frames on an interface
 * through an AF_PACKET socket with the compiled filter attached in the kernel, and write them as pcap.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { capture } from '../cbpf/index.js';
import { UsageError } from '../errors.js';
import { writePcap } from '../pcap/index.js';

/** Register the `capture` command. */
export function register(program: Command): void {
  program
    .command('capture')
    .description('capture packets matching a filter expression (kernel-side classic BPF) into a pcap file')
    .requiredOption('-i, --interface <iface>', 'interface to capture on')
    .argument('[expr...]', 'filter expression (default: everything)')
    .requiredOption('-w, --write <file>', 'pcap file to write')
    .option('-c, --count <n>', 'stop after N packets')
    .option('--timeout <seconds>', 'stop after this many seconds')
    .action(async (words: string[], opts: { interface: string; write: string; count?: string; timeout?: string }) => {
      const count = opts.count !== undefined ? Number(opts.count) : undefined;
      const timeout = opts.timeout !== undefined ? Number(opts.timeout) : undefined;
      if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError('--count: must be a positive integer');
      if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout: must be a positive number of seconds');
      if (count === undefined && timeout === undefined) throw new UsageError('capture: give --count or --timeout');
      const { linktype, records } = await capture(opts.interface, words.join(' '), {
        count,
        timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
        onReady: () => process.stderr.write(`capturing on ${opts.interface}\n`),
      });
      writeFileSync(opts.write, writePcap(records, { linktype }));
      process.stderr.write(`${records.length} packets captured\n`);
    });
}
