/**
 * Userspace runtime benchmark: packets per second through an XDP program (examples/xdp_proto: parse Ethernet,
 * IPv4/IPv6, count per protocol in a per-CPU array) on a generated capture of 100,000 packets —
 *  - `bpfkit run FILE.o --pcap in.pcap --json` end to end (process start, ELF load, pcap read, output),
 *  - the library loop (`Collection.run` per packet, in process),
 *  - and, as reference when root, the kernel running the same program per packet with BPF_PROG_TEST_RUN
 *    (one bpf(2) call per packet, like the runtime's one run per packet).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePackets, writePcap } from '../test/fixtures/packets.js';
import { loadObjectSpec } from '../src/elf/object.js';
import { loadCollection } from '../src/vm/collection.js';
import { projectRoot, result, type BenchResult } from './harness.js';

const SUBJECT = 'runtime';
const N = 100_000;

export async function run(): Promise<BenchResult[]> {
  const root = projectRoot();
  const obj = join(root, 'examples/build/xdp_proto.bpf.o');
  if (!existsSync(obj)) {
    return [result({ subject: SUBJECT, case: 'xdp_proto', metric: 'skipped', value: 0, unit: '', notes: 'examples not built (scripts/build-examples.sh)' })];
  }
  // XDP (like the kernel's test run) takes frames of at least an Ethernet header: generate a few more than N,
  // keep those, and run exactly N.
  const records = generatePackets(Math.ceil(N * 1.05), 42)
    .filter((r) => r.data.length >= 14)
    .slice(0, N);
  if (records.length < N) throw new Error(`packet generator gave only ${records.length} usable packets`);
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bench-runtime-'));
  const out: BenchResult[] = [];
  try {
    const pcap = join(dir, 'in.pcap');
    writeFileSync(pcap, writePcap(records));
    const bytes = readFileSync(obj);

    // Library loop.
    const c = loadCollection(bytes);
    const pkts = records.map((r) => r.data);
    for (let i = 0; i < 2000; i++) c.run('xdp_count_proto', { packet: pkts[i % pkts.length] });
    let best = Infinity;
    for (let t = 0; t < 3; t++) {
      const t0 = process.hrtime.bigint();
      for (const p of pkts) c.run('xdp_count_proto', { packet: p });
      best = Math.min(best, Number(process.hrtime.bigint() - t0));
    }
    const libPps = pkts.length / (best / 1e9);

    // Kernel reference: BPF_PROG_TEST_RUN once per packet.
    let kernelPps: number | undefined;
    let kernelNote = 'not root: no kernel reference';
    if (process.getuid?.() === 0) {
      try {
        const { Collection } = await import('../src/kernel/load/collection.js');
        const k = Collection.load(loadObjectSpec(bytes));
        try {
          const prog = k.program('xdp_count_proto');
          const sample = pkts.slice(0, 20_000);
          for (let i = 0; i < 500; i++) prog.testRun({ data: sample[i] });
          const t0 = process.hrtime.bigint();
          for (const p of sample) prog.testRun({ data: p });
          kernelPps = sample.length / (Number(process.hrtime.bigint() - t0) / 1e9);
          kernelNote = `kernel: ${sample.length} BPF_PROG_TEST_RUN calls (repeat 1), one per packet`;
        } finally {
          k.close();
        }
      } catch (e) {
        kernelNote = `kernel reference failed: ${(e as Error).message}`;
      }
    }
    out.push(
      result({
        subject: SUBJECT,
        case: `xdp_proto, ${pkts.length} packets, Collection.run loop`,
        metric: 'packets/s (best of 3)',
        value: libPps,
        unit: 'pkt/s',
        reference: kernelPps ? { name: 'kernel test_run pkt/s', value: kernelPps } : undefined,
        notes: kernelNote,
      }),
    );

    // CLI end to end.
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [join(root, 'bin/bpfkit.js'), 'run', obj, '--pcap', pcap, '--json'], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`bpfkit run failed: ${r.stderr?.toString().slice(0, 500)}`);
    out.push(
      result({
        subject: SUBJECT,
        case: `bpfkit run xdp_proto.bpf.o --pcap (${records.length} packets) --json`,
        metric: 'packets/s (wall, incl. startup and JSON output)',
        value: records.length / secs,
        unit: 'pkt/s',
        reference: kernelPps ? { name: 'kernel test_run pkt/s', value: kernelPps } : undefined,
        notes: `${secs.toFixed(2)} s in all`,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
