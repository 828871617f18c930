/**
 * `bpfkit attach FILE.o --program NAME [...]`: load an object, attach one (or every) program the way its
 * section says, and stay attached until Ctrl-C (or --duration), printing ring buffer and perf buffer events
 * as JSON lines (`{"map":..., "size":..., "hex":..., "u64":[...]}`). Detaches and cleans up on exit.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { MapType } from '../isa/uapi.js';
import { Collection } from '../kernel/load/collection.js';
import { attachBySection } from '../kernel/link/auto.js';
import { closeLinks, type Link } from '../kernel/link/link.js';
import { RingBuffer } from '../kernel/ringbuf/reader.js';
import { PerfReader } from '../kernel/perf/reader.js';
import { readObject } from './prog.js';

function event(map: string, data: Uint8Array, extra: Record<string, unknown> = {}): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const u64: (number | string)[] = [];
  for (let o = 0; o + 8 <= b.length && u64.length < 8; o += 8) {
    const v = b.readBigUInt64LE(o);
    u64.push(v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  }
  return JSON.stringify({ map: map, ...extra, size: b.length, hex: b.toString('hex'), u64 }) + '\n';
}

/** Register `attach`. */
export function register(program: Command): void {
  program
    .command('attach')
    .description('load an object, attach programs by their sections, print ring/perf buffer events as JSON lines until Ctrl-C')
    .argument('<file>', 'eBPF ELF object')
    .option('--program <name...>', 'programs to attach (default: every program)')
    .option('--iface <name>', 'interface for XDP / tc programs')
    .option('--xdp-mode <mode>', 'auto | native | generic', 'auto')
    .option('--cgroup <path>', 'cgroup v2 directory for cgroup programs')
    .option('--pid <pid>', 'process for uprobes')
    .option('--frequency <hz>', 'sampling frequency for perf_event programs', '99')
    .option('--ringbuf <map...>', 'ring buffer / perf event array maps to read (default: all of them)')
    .option('--duration <seconds>', 'detach after this long instead of waiting for Ctrl-C')
    .action(async (file: string, opts: { program?: string[]; iface?: string; xdpMode: string; cgroup?: string; pid?: string; frequency: string; ringbuf?: string[]; duration?: string }) => {
      if (!['auto', 'native', 'generic'].includes(opts.xdpMode)) throw new UsageError(`--xdp-mode: '${opts.xdpMode}' is not auto, native or generic`);
      const spec = readObject(file);
      const c = Collection.load(spec, { programs: opts.program });
      const links: Link[] = [];
      const readers: (RingBuffer | PerfReader)[] = [];
      let events = 0;
      try {
        for (const [name, p] of c.programs) {
          const l = attachBySection(p, {
            iface: opts.iface,
            cgroup: opts.cgroup,
            pid: opts.pid ? Number(opts.pid) : undefined,
            frequency: Number(opts.frequency),
            xdpMode: opts.xdpMode as 'auto',
          });
          links.push(l);
          process.stderr.write(`attached ${name}: ${l.kind} ${l.target}\n`);
        }
        for (const [name, m] of c.maps) {
          if (opts.ringbuf && !opts.ringbuf.includes(name)) continue;
          if (m.type === MapType.RINGBUF) {
            const r = new RingBuffer(m);
            r.start((rec) => {
              events++;
              process.stdout.write(event(name, rec));
            });
            readers.push(r);
          } else if (m.type === MapType.PERF_EVENT_ARRAY) {
            const r = new PerfReader(m);
            r.start(
              (s) => {
                events++;
                process.stdout.write(event(name, s.data, { cpu: s.cpu }));
              },
              (cpu, lost) => process.stderr.write(`lost ${lost} events on cpu ${cpu}\n`),
            );
            readers.push(r);
          }
        }
        process.stderr.write(opts.duration ? `running for ${opts.duration} s\n` : 'running: Ctrl-C to detach\n');
        await new Promise<void>((resolve) => {
          const done = () => {
            process.off('SIGINT', done);
            process.off('SIGTERM', done);
            resolve();
          };
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          if (opts.duration) setTimeout(done, Number(opts.duration) * 1000);
        });
      } finally {
        for (const r of readers) {
          if (r instanceof RingBuffer) {
            r.drain((rec) => {
              events++;
              process.stdout.write(event('?', rec));
            });
            r.close();
          } else await r.close();
        }
        await closeLinks(links);
        c.close();
        process.stderr.write(`detached; ${events} events\n`);
      }
    });
}
