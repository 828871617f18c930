/**
 * Parity harness: runs one program of an object on the same packets in the kernel (BPF_PROG_TEST_RUN through
 * src/kernel's loader) and in the userspace runtime, then compares return values, output packets, the context
 * fields the kernel reports back, and the final contents of every map. Returns the list of differences.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObjectSpec } from '../../src/elf/object.js';
import { Collection as KernelCollection } from '../../src/kernel/load/collection.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { RingBuffer } from '../../src/kernel/ringbuf/reader.js';
import { possibleCpus } from '../../src/kernel/sys/fs.js';
import { KernelError } from '../../src/errors.js';
import { MapType, ProgType } from '../../src/isa/uapi.js';
import type { BpfMap } from '../../src/spec/map.js';
import { loadCollection, type Collection } from '../../src/vm/collection.js';
import { QueueStackMap } from '../../src/vm/maps/queue-stack.js';
import { RingBufMap } from '../../src/vm/maps/ringbuf.js';
import { SK_BUFF, fieldNamed } from '../../src/vm/contexts/layouts.js';
import { withCpu } from './affinity.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '(none)');

/** Why kernel parity tests cannot run here, or undefined when they can. */
export function parityUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (BPF_PROG_TEST_RUN)';
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'clang not installed';
  }
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf headers (libbpf-dev) missing';
  return undefined;
}

/** Compile test/parity/progs/*.bpf.c into a temporary directory; returns it (remove with `rmSync`). */
export function compileProgs(srcDir: string): string {
  const out = mkdtempSync(join(tmpdir(), 'bpfkit-parity-'));
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  for (const f of readdirSync(srcDir).filter((x) => x.endsWith('.bpf.c'))) {
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', join(srcDir, f), '-o', join(out, f.replace(/\.c$/, '.o'))], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  return out;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** One parity scenario. */
export interface ParityCase {
  /** Path of the .o file. */
  object: string;
  program: string;
  /** Packets (XDP, tc, socket filter, cgroup skb programs). */
  packets?: Uint8Array[];
  /** Argument lists (raw_tp programs: the ctx is an array of u64). */
  argSets?: bigint[][];
  /** Fill maps before running (called on the kernel's and the runtime's maps alike). */
  setup?: (maps: (name: string) => BpfMap) => void;
  /** Maps not to compare (e.g. ones holding fds). */
  skipMaps?: string[];
}

export interface ParityReport {
  runs: number;
  /** Packets both sides refused (kernel EINVAL, runtime UsageError). */
  refused: number;
  diffs: string[];
}

const L2_TYPES: ReadonlySet<number> = new Set([ProgType.SCHED_CLS, ProgType.SCHED_ACT]);
const SKB_TYPES: ReadonlySet<number> = new Set([ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB]);
/** __sk_buff fields the kernel's test run writes back to ctx_out. */
const SKB_OUT_FIELDS = ['mark', 'priority', 'cb', 'ifindex'];

function perCpu(v: Uint8Array, ncpus: number): string {
  const stride = v.length / ncpus;
  const parts: string[] = [];
  for (let i = 0; i < ncpus; i++) parts.push(hex(v.subarray(i * stride, (i + 1) * stride)));
  return parts.join('|');
}

function mapContents(m: BpfMap, ncpus: number, ordered: boolean): string[] {
  const percpu = [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH].includes(m.type as never);
  const out: string[] = [];
  for (const [k, v] of m.entries()) out.push(`${hex(k)}=${percpu ? perCpu(v, ncpus) : hex(v)}`);
  return ordered ? out : out.sort();
}

function drainQueue(m: BpfMap): string[] {
  const out: string[] = [];
  const pop = (m as unknown as { pop(): Uint8Array | undefined }).pop.bind(m);
  for (let v = pop(); v; v = pop()) out.push(hex(v));
  return out;
}

/**
 * Run a scenario on both sides and list every difference. The kernel side runs pinned to CPU 0, the runtime
 * simulates CPU 0, so per-CPU values must match CPU by CPU.
 */
export function runParity(c: ParityCase): ParityReport {
  return withCpu(0, () => runPinned(c));
}

function runPinned(c: ParityCase): ParityReport {
  const bytes = readFileSync(c.object);
  const kspec = loadObjectSpec(bytes);
  const uspec = loadObjectSpec(bytes);
  const ncpus = possibleCpus().length;
  const kernel = KernelCollection.load(kspec);
  let user: Collection | undefined;
  const diffs: string[] = [];
  let refused = 0;
  try {
    user = loadCollection(uspec, { ncpus, cpu: 0 });
    const kp = kernel.program(c.program);
    const up = user.programs[c.program];
    if (!up) throw new Error(`runtime has no program ${c.program}`);
    if (c.setup) {
      c.setup((n) => kernel.map(n));
      c.setup((n) => user!.maps[n]);
    }
    const type = up.type;
    const isSkb = SKB_TYPES.has(type);
    (c.argSets ?? []).forEach((args, i) => {
      const ctx = new Uint8Array(args.length * 8);
      args.forEach((a, j) => new DataView(ctx.buffer).setBigUint64(j * 8, a, true));
      const k = kp.testRun({ ctx }); // raw_tp: testRun passes no ctx_out for this type
      const u = user!.run(c.program, { args });
      if ((k.retval >>> 0) !== u.retval) diffs.push(`${c.program} args #${i}: retval kernel ${k.retval} runtime ${u.retval}`);
    });
    (c.packets ?? []).forEach((pkt, i) => {
      let k: { retval: number; data?: Uint8Array; ctx?: Uint8Array } | undefined;
      let kerr: string | undefined;
      try {
        k = kp.testRun({ data: pkt, ctx: isSkb ? new Uint8Array(SK_BUFF.size) : undefined, dataSizeOut: pkt.length + 4096 });
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        kerr = e.errnoName;
      }
      let u: ReturnType<Collection['run']> | undefined;
      let uerr: string | undefined;
      try {
        u = user!.run(c.program, { packet: pkt });
      } catch (e) {
        uerr = (e as Error).message;
      }
      const where = `${c.program} packet #${i} (${pkt.length} bytes ${hex(pkt.subarray(0, 16))}…)`;
      if (kerr || uerr) {
        if (kerr && uerr) refused++;
        else diffs.push(`${where}: kernel ${kerr ? `error ${kerr}` : `retval ${k!.retval}`}, runtime ${uerr ? `error ${uerr}` : `retval ${u!.retval}`}`);
        return;
      }
      if ((k!.retval >>> 0) !== u!.retval) diffs.push(`${where}: retval kernel ${k!.retval} runtime ${u!.retval}`);
      let kout = k!.data;
      let uout = type === ProgType.XDP ? new Uint8Array([...(u!.meta ?? []), ...(u!.packet ?? [])]) : u!.packet;
      if (isSkb && !L2_TYPES.has(type)) {
        // Test runs of non-L2 programs zero the MAC header they re-push into the output.
        kout = kout?.subarray(14);
        uout = uout?.subarray(14);
      }
      if (hex(kout) !== hex(uout)) diffs.push(`${where}: output packet differs\n  kernel  ${hex(kout)}\n  runtime ${hex(uout)}`);
      if (isSkb && k!.ctx && u!.ctx) {
        const kdv = new DataView(k!.ctx.buffer, k!.ctx.byteOffset, k!.ctx.byteLength);
        for (const name of SKB_OUT_FIELDS) {
          const f = fieldNamed(SK_BUFF, name)!;
          const kv: number[] = [];
          for (let o = 0; o < f.size; o += 4) kv.push(kdv.getUint32(f.offset + o, true));
          const uvRaw = u!.ctx[name];
          const uv = (Array.isArray(uvRaw) ? uvRaw : [uvRaw]).map(Number);
          if (kv.join(',') !== uv.join(',')) diffs.push(`${where}: __sk_buff.${name} kernel ${kv} runtime ${uv}`);
        }
      }
    });
    // Final map contents.
    for (const [name, km] of kernel.maps) {
      if (c.skipMaps?.includes(name)) continue;
      const um = user.maps[name];
      if (!um) {
        diffs.push(`map ${name}: missing in the runtime`);
        continue;
      }
      if (km.type === MapType.PROG_ARRAY || km.type === MapType.ARRAY_OF_MAPS || km.type === MapType.HASH_OF_MAPS) continue;
      if (km.type === MapType.PERF_EVENT_ARRAY || km.type === MapType.BLOOM_FILTER) continue;
      let a: string[];
      let b: string[];
      if (km.type === MapType.RINGBUF) {
        const rb = new RingBuffer(km as KernelMap);
        a = [];
        rb.drain((r) => a.push(hex(r)));
        rb.close();
        b = [];
        (um as RingBufMap).reader().drain((r) => b.push(hex(r)));
      } else if (km.type === MapType.QUEUE || km.type === MapType.STACK) {
        a = drainQueue(km);
        b = drainQueue(um as QueueStackMap);
      } else {
        const ordered = km.type === MapType.LPM_TRIE || km.type === MapType.ARRAY || km.type === MapType.PERCPU_ARRAY;
        a = mapContents(km, ncpus, ordered);
        b = mapContents(um, ncpus, ordered);
      }
      if (a.join('\n') !== b.join('\n')) {
        const onlyK = a.filter((x) => !b.includes(x)).slice(0, 5);
        const onlyU = b.filter((x) => !a.includes(x)).slice(0, 5);
        diffs.push(`map ${name}: contents differ (kernel ${a.length} entries, runtime ${b.length})\n  kernel only:  ${onlyK.join('\n                ')}\n  runtime only: ${onlyU.join('\n                ')}`);
      }
    }
    return { runs: (c.packets?.length ?? 0) + (c.argSets?.length ?? 0), refused, diffs };
  } finally {
    kernel.close();
    user?.close();
  }
}
