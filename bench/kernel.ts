/**
 * Kernel backend benchmarks: the cost of one bpf(2) call through the binding (map lookup ns/call, with and
 * without the KernelMap layer), ring buffer consumption in events/s with the producer's drop count (producer:
 * a socket filter calling bpf_ringbuf_output, driven by BPF_PROG_TEST_RUN with `repeat`, in the same thread;
 * and a real tracepoint fed by a C child process calling getpid, consumed through libuv polling), side by side
 * with a libbpf C reader (bench/c/kernel_ref.c, built in a temp dir when gcc + libbpf-dev are present); and
 * detaching many uprobe sites: one uprobe_multi link against one perf-event uprobe per site.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperId } from '../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { PseudoLd } from '../src/isa/opcodes.js';
import { BpfCmd, MapType, ProgType } from '../src/isa/uapi.js';
import { KernelMap } from '../src/kernel/maps/map.js';
import { loadInsns } from '../src/kernel/load/program.js';
import { RingBuffer } from '../src/kernel/ringbuf/reader.js';
import { attachTracepoint } from '../src/kernel/link/tracepoint.js';
import { attachUprobe } from '../src/kernel/link/uprobe.js';
import { attachUprobeMulti } from '../src/kernel/link/uprobe-multi.js';
import { closeLinks } from '../src/kernel/link/link.js';
import { uprobeMulti } from '../src/kernel/features/probe.js';
import { AttachType } from '../src/isa/uapi.js';
import { Attr, bpfRaw } from '../src/kernel/sys/bpf.js';
import { projectRoot, result, timeIt, type BenchResult } from './harness.js';

const SUBJECT = 'kernel';

/** bpf_ringbuf_output(rb, &u64, 8, 0); on failure add 1 to drops[0]. Optional tgid filter. */
function producer(rbFd: number, dropFd: number, tgid?: number): Insn[] {
  const body: Insn[] = [
    insn(0x7a, 10, 0, -8, 42),
    ...lddw(1, rbFd, PseudoLd.MAP_FD),
    insn(0xbf, 2, 10),
    insn(0x07, 2, 0, 0, -8),
    insn(0xb7, 3, 0, 0, 8),
    insn(0xb7, 4, 0, 0, 0),
    insn(0x85, 0, 0, 0, HelperId.ringbuf_output!),
    insn(0x15, 0, 0, 9, 0), // ok → exit
    insn(0x62, 10, 0, -12, 0),
    ...lddw(1, dropFd, PseudoLd.MAP_FD),
    insn(0xbf, 2, 10),
    insn(0x07, 2, 0, 0, -12),
    insn(0x85, 0, 0, 0, HelperId.map_lookup_elem!),
    insn(0x15, 0, 0, 2, 0),
    insn(0xb7, 1, 0, 0, 1),
    insn(0xdb, 0, 1, 0, 0),
  ];
  const pre: Insn[] = tgid === undefined ? [] : [insn(0x85, 0, 0, 0, HelperId.get_current_pid_tgid!), insn(0x77, 0, 0, 0, 32), insn(0x55, 0, 0, body.length, tgid)];
  return [...pre, ...body, insn(0xb7, 0, 0, 0, 0), insn(0x95)];
}

function readDrops(m: KernelMap): number {
  const v = m.lookup(Buffer.alloc(4));
  return v ? Number(Buffer.from(v).readBigUInt64LE(0)) : 0;
}

interface CRef {
  lookup_ns: number;
  ringbuf_events_per_s: number;
}

/** Build and run the libbpf reference when gcc and libbpf-dev are there. */
function cReference(dir: string): CRef | string {
  const src = join(projectRoot(), 'bench', 'c', 'kernel_ref.c');
  const exe = join(dir, 'kernel_ref');
  const cc = spawnSync('gcc', ['-O2', '-o', exe, src, '-lbpf'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return `libbpf reference not built: ${(cc.stderr || String(cc.error)).trim().split('\n')[0]}`;
  const r = spawnSync(exe, ['1000000', '1.0', '8000'], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) return `libbpf reference failed: ${r.stderr.trim()}`;
  return JSON.parse(r.stdout.trim()) as CRef;
}

/** A C program calling getpid() n times (the tracepoint producer). */
function buildGetpidLoop(dir: string): string | undefined {
  const src = join(dir, 'getpid_loop.c');
  writeFileSync(src, '#include <unistd.h>\n#include <stdlib.h>\nint main(int c, char **v) { long n = atol(v[1]); char b; if (read(0, &b, 1) != 1) return 1; for (long i = 0; i < n; i++) getpid(); return 0; }\n');
  const exe = join(dir, 'getpid_loop');
  const cc = spawnSync('gcc', ['-O2', '-o', exe, src]);
  return cc.status === 0 ? exe : undefined;
}

/**
 * Detach cost of `n` uprobe sites (functions f0..f{n-1} of a generated binary nobody runs): one uprobe_multi
 * link (close) against n perf-event uprobes closed concurrently by `closeLinks`. Undefined without gcc;
 * a note-only result when the kernel lacks uprobe_multi.
 */
export async function uprobeDetach(dir: string, n: number): Promise<BenchResult | undefined> {
  const f = uprobeMulti();
  if (!f.ok) return { subject: SUBJECT, case: `detach ${n} uprobe sites`, metric: 'ms', value: NaN, unit: 'ms', notes: `not measured: ${f.reason}` };
  const src = join(dir, 'many_fns.c');
  let c = '';
  for (let i = 0; i < n; i++) c += `__attribute__((noinline)) int f${i}(int x) { __asm__ volatile("" ::: "memory"); return x + ${i}; }\n`;
  writeFileSync(src, `${c}int main(void) { return 0; }\n`);
  const exe = join(dir, 'many_fns');
  if (spawnSync('gcc', ['-O1', '-o', exe, src]).status !== 0) return undefined;
  const names = Array.from({ length: n }, (_, i) => `f${i}`);
  const ret0 = [insn(0xb7, 0, 0, 0, 0), insn(0x95)];
  const plain = loadInsns(ProgType.KPROBE, ret0, { name: 'bench_up' });
  const multiProg = loadInsns(ProgType.KPROBE, ret0, { name: 'bench_upm', expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
  try {
    let t = performance.now();
    const perf = names.map((symbol) => attachUprobe(plain, { binary: exe, symbol }));
    const perfAttach = performance.now() - t;
    t = performance.now();
    await closeLinks(perf);
    const perfClose = performance.now() - t;
    const multi: number[] = [];
    let multiAttach = 0;
    for (let trial = 0; trial < 5; trial++) {
      t = performance.now();
      const l = attachUprobeMulti(multiProg, { binary: exe, symbols: names });
      multiAttach += performance.now() - t;
      t = performance.now();
      l.close();
      multi.push(performance.now() - t);
    }
    multi.sort((a, b) => a - b);
    return result({
      subject: SUBJECT,
      case: `detach ${n} uprobe sites: one uprobe_multi link`,
      metric: 'ms (median of 5)',
      value: multi[2]!,
      unit: 'ms',
      reference: { name: `${n} perf-event uprobes closed concurrently (closeLinks), measured`, value: perfClose },
      notes: `attach: uprobe_multi ${(multiAttach / 5).toFixed(2)} ms, ${n} perf uprobes ${perfAttach.toFixed(1)} ms; ratio < 1 = multi faster`,
    });
  } finally {
    plain.close();
    multiProg.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bench-'));
  const closers: { close(): void }[] = [];
  try {
    const ref = cReference(dir);
    const refNote = typeof ref === 'string' ? ref : undefined;

    // 1. Per-call overhead of a map lookup.
    const arr = KernelMap.create({ name: 'bench_arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    closers.push(arr);
    const key = Buffer.alloc(4);
    const t1 = timeIt(() => arr.lookup(key), { trials: 9, minTrialMs: 50 });
    out.push(
      result({
        subject: SUBJECT,
        case: 'KernelMap.lookup (array, hit)',
        metric: 'ns/call (median)',
        value: t1.median,
        unit: 'ns',
        reference: typeof ref === 'string' ? undefined : { name: 'libbpf bpf_map_lookup_elem (C)', value: ref.lookup_ns },
        notes: refNote,
      }),
    );
    const a = new Attr('MAP_ELEM');
    const val = Buffer.alloc(8);
    a.setAll({ map_fd: arr.fd, key, value: val });
    const t2 = timeIt(() => bpfRaw(BpfCmd.MAP_LOOKUP_ELEM, a.addr, a.size), { trials: 9, minTrialMs: 50 });
    out.push(
      result({
        subject: SUBJECT,
        case: 'raw bpf(2) LOOKUP, prebuilt attr',
        metric: 'ns/call (median)',
        value: t2.median,
        unit: 'ns',
        reference: typeof ref === 'string' ? undefined : { name: 'libbpf bpf_map_lookup_elem (C)', value: ref.lookup_ns },
      }),
    );

    // 2. Ring buffer, same-thread producer (test_run repeat) and synchronous drain.
    const rb = KernelMap.create({ name: 'bench_rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 20, flags: 0 });
    const drops = KernelMap.create({ name: 'bench_drops', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
    closers.push(rb, drops);
    const prog = loadInsns(ProgType.SOCKET_FILTER, producer(rb.fd, drops.fd), { name: 'bench_rb' });
    closers.push(prog);
    const reader = new RingBuffer(rb);
    closers.push(reader);
    const pkt = Buffer.alloc(64);
    const repeat = 8000;
    let got = 0;
    let produced = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      prog.testRun({ data: pkt, repeat });
      produced += repeat;
      got += reader.drain(() => {});
    }
    const secs = (performance.now() - t0) / 1000;
    out.push(
      result({
        subject: SUBJECT,
        case: 'ringbuf drain, test_run producer (same thread), 8-byte records',
        metric: 'events/s',
        value: got / secs,
        unit: 'ev/s',
        reference: typeof ref === 'string' ? undefined : { name: 'libbpf ring_buffer__consume (C), same producer', value: ref.ringbuf_events_per_s },
        notes: `${produced - got} not consumed, producer drops ${readDrops(drops)}; target ≥ 1M ev/s`,
      }),
    );

    // 3. Ring buffer fed by a real tracepoint from another process, consumed via libuv polling + 1 ms coalescing.
    const loop = buildGetpidLoop(dir);
    if (loop) {
      const rb2 = KernelMap.create({ name: 'bench_rb2', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 20, flags: 0 });
      const drops2 = KernelMap.create({ name: 'bench_drops2', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
      closers.push(rb2, drops2);
      const n = 2_000_000;
      // The child waits for a byte on stdin: attach (filtered on its tgid) first, then let it go.
      const child = spawn(loop, [String(n)], { stdio: ['pipe', 'ignore', 'inherit'] });
      await new Promise((res) => child.once('spawn', res));
      const tp = loadInsns(ProgType.TRACEPOINT, producer(rb2.fd, drops2.fd, child.pid), { name: 'bench_tp' });
      closers.push(tp);
      const link = attachTracepoint(tp, 'syscalls', 'sys_enter_getpid');
      const r2 = new RingBuffer(rb2, { coalesceMs: 1 });
      let events = 0;
      const start = performance.now();
      r2.start(() => events++);
      const exited = new Promise((res) => child.once('exit', res));
      child.stdin!.end('g');
      await exited;
      await new Promise((res) => setTimeout(res, 20));
      r2.drain(() => events++);
      const secs2 = (performance.now() - start) / 1000;
      link.close();
      r2.close();
      out.push(
        result({
          subject: SUBJECT,
          case: 'ringbuf via poll + 1 ms coalescing, tracepoint sys_enter_getpid, C child',
          metric: 'events/s',
          value: events / secs2,
          unit: 'ev/s',
          notes: `${events} events of ${n} getpid calls, producer drops ${readDrops(drops2)}, ${r2.stats.wakeups} wake-ups`,
        }),
      );
    }

    // 4. Detaching many uprobe sites at once.
    const detach = await uprobeDetach(dir, 32);
    if (detach) out.push(detach);
  } finally {
    for (const c of closers.reverse()) c.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
