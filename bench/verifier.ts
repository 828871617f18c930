/**
 * Static verifier benchmark: bpfkit's `verify` on real programs — every program of examples/build/*.bpf.o, the
 * XDP firewall (50 rules), the XDP load balancer, the runtime security programs (one rule per event), the
 * bounded loop of the verifier corpus and the parity programs of test/parity/progs (compiled with clang when
 * present) — in µs per verification and ns per processed instruction, side by side with the kernel verifying
 * the same program in the same run (root only: loaded with log_level BPF_LOG_STATS, "verification time N usec"
 * and "processed N insns" parsed from the log; median of a few loads). `BPFKIT_BENCH_VERIFIER_ONLY=text` keeps only
 * the programs whose label contains `text`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../src/asm/index.js';
import { Btf } from '../src/btf/btf.js';
import { loadObjectSpec } from '../src/elf/object.js';
import { ProgType } from '../src/isa/uapi.js';
import { compileFirewall, type FirewallRule } from '../src/net/firewall/index.js';
import { compileLb } from '../src/net/lb/index.js';
import { compileSecurity, normalizeSecurityRules } from '../src/security/index.js';
import type { MapSpec } from '../src/spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../src/spec/program.js';
import { verify } from '../src/verifier/index.js';
import { projectRoot, result, timeIt, type BenchResult } from './harness.js';

const SUBJECT = 'verifier';
/** BPF_LOG_STATS: the kernel prints only its statistics. */
const LOG_STATS = 4;
/** Kernel loads per object (the median verification time is kept). */
const KERNEL_LOADS = 5;

/** One program to verify, and the object the kernel loads it from. */
interface Case {
  label: string;
  prog: ProgramSpec;
  maps: MapSpec[];
  object: ObjectSpec;
}

interface KernelStats {
  usec: number;
  insns: number;
}

/** 50 firewall rules: prefixes, protocols, ports and ranges. */
function firewallRules(): FirewallRule[] {
  const rules: FirewallRule[] = [];
  for (let i = 0; i < 50; i++) {
    const r: FirewallRule = { action: i % 3 ? 'drop' : 'pass' };
    if (i % 2) r.src = `10.${i}.0.0/16`;
    if (i % 5 === 0) r.dst = `192.168.${i}.0/24`;
    if (i % 4 !== 3) r.proto = i % 4 === 0 ? 'tcp' : i % 4 === 1 ? 'udp' : 'icmp';
    if (i % 4 < 2) r.dport = i % 7 ? 1000 + i : [2000 + i * 10, 2005 + i * 10];
    rules.push(r);
  }
  return rules;
}

function exampleCases(root: string, btf: Btf | undefined): Case[] {
  const dir = join(root, 'examples/build');
  if (!existsSync(dir)) return [];
  const out: Case[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.bpf.o')).sort()) {
    const spec = loadObjectSpec(readFileSync(join(dir, f)), { targetBtf: btf as never });
    for (const p of spec.programs) out.push({ label: `${f.replace('.bpf.o', '')}:${p.name}`, prog: p, maps: spec.maps, object: spec });
  }
  return out;
}

function parityCases(root: string, btf: Btf | undefined, tmp: string): Case[] {
  const src = join(root, 'test/parity/progs');
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    return [];
  }
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const out: Case[] = [];
  for (const f of readdirSync(src).filter((x) => x.endsWith('.bpf.c')).sort()) {
    const obj = join(tmp, f.replace(/\.c$/, '.o'));
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', join(src, f), '-o', obj], { stdio: ['ignore', 'ignore', 'pipe'] });
    const spec = loadObjectSpec(readFileSync(obj), { targetBtf: btf as never });
    for (const p of spec.programs) out.push({ label: `parity/${f.replace('.bpf.c', '')}:${p.name}`, prog: p, maps: spec.maps, object: spec });
  }
  return out;
}

function generatedCases(): Case[] {
  const out: Case[] = [];
  const fw = compileFirewall(firewallRules());
  out.push({ label: 'firewall (50 rules)', prog: fw.program, maps: fw.maps, object: fw.object() });
  const lb = compileLb({
    vips: [
      { address: '10.0.0.1', protocol: 'tcp', port: 80, backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2', weight: 2 }] },
      { address: '10.0.0.2', protocol: 'udp', port: 53, mode: 'dsr', backends: [{ address: '10.1.0.3', mac: '02:00:00:00:00:03' }] },
    ],
    ringSize: 251,
    conntrackSize: 1024,
  });
  out.push({ label: 'lb', prog: lb.program, maps: lb.maps, object: lb.object() });
  const rules = normalizeSecurityRules([
    { name: 'nc', event: 'exec', binary: { exact: '/usr/bin/nc', prefix: ['/tmp/', '/dev/shm/'] }, comm: ['sh', 'bash'] },
    { name: 'shadow', event: 'open', path: '/etc/shadow', access: 'write', uid: { not: [0] } },
    { name: 'c2', event: 'connect', dst: ['10.1.2.3/8', '192.168.1.1'], port: [22, [8000, 8100]] },
    { name: 'ptrace', event: 'ptrace', request: 16 },
    { name: 'root', event: 'setuid', targetUid: 0 },
    { name: 'kill9', event: 'kill', signal: 9 },
  ]);
  const sec = compileSecurity(rules);
  for (const p of sec.programs) out.push({ label: `security:${p.spec.name}`, prog: p.spec, maps: sec.maps, object: sec.object });
  const loop: ProgramSpec = {
    name: 'bounded_loop',
    section: 'socket',
    type: ProgType.SOCKET_FILTER,
    insns: assemble('r0 = 0\nr1 = 0\nl: r0 += r1\nr1 += 1\nif r1 < 100 goto l\nexit', { syntax: 'llvm' }),
    references: [],
    license: 'GPL',
  };
  out.push({ label: 'corpus: bounded loop (100 iterations)', prog: loop, maps: [], object: { programs: [loop], maps: [], license: 'GPL' } });
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Kernel verification stats per program name of `object` (root only), or why not. */
async function kernelStats(object: ObjectSpec): Promise<Map<string, KernelStats> | string> {
  if (process.getuid?.() !== 0) return 'not root: kernel not measured';
  const { Collection } = await import('../src/kernel/load/collection.js');
  const runs = new Map<string, { usec: number[]; insns: number }>();
  const failures = new Map<string, string>();
  for (let k = 0; k < KERNEL_LOADS; k++) {
    const c = Collection.load(object, { logLevel: LOG_STATS, skipFailedPrograms: true });
    try {
      for (const [name, e] of c.failures) failures.set(name, e.message.split('\n')[0]!);
      for (const [name, p] of c.programs) {
        const log = p.verifierLog ?? '';
        const t = /verification time (\d+) usec/.exec(log);
        const n = /processed (\d+) insns/.exec(log);
        if (!t || !n) continue;
        const r = runs.get(name) ?? { usec: [], insns: Number(n[1]) };
        r.usec.push(Number(t[1]));
        runs.set(name, r);
      }
    } finally {
      c.close();
    }
  }
  const out = new Map<string, KernelStats>();
  for (const [name, r] of runs) out.set(name, { usec: median(r.usec), insns: r.insns });
  return out.size || !failures.size ? out : `kernel refused: ${[...failures.values()][0]}`;
}

export async function run(): Promise<BenchResult[]> {
  const root = projectRoot();
  const btf = existsSync('/sys/kernel/btf/vmlinux') ? Btf.loadKernel() : undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'bpfkit-bench-verifier-'));
  const out: BenchResult[] = [];
  const only = process.env.BPFKIT_BENCH_VERIFIER_ONLY;
  try {
    const cases = [...exampleCases(root, btf), ...generatedCases(), ...parityCases(root, btf, tmp)].filter((c) => !only || c.label.includes(only));
    const kernelByObject = new Map<ObjectSpec, Promise<Map<string, KernelStats> | string>>();
    let totalNs = 0;
    let totalInsns = 0;
    let totalKernelUs = 0;
    let totalKernelInsns = 0;
    let kernelMissing = false;
    let verified = 0;
    for (const c of cases) {
      const first = verify(c.prog, { maps: c.maps });
      if (!first.ok) {
        out.push(result({ subject: SUBJECT, case: c.label, metric: 'verdict', value: 0, unit: '', notes: `bpfkit refuses it: ${first.errors[0]?.message.split('\n')[0]}` }));
        continue;
      }
      verified++;
      const processed = first.stats.insnsProcessed;
      const t = timeIt(() => verify(c.prog, { maps: c.maps }), { warmup: 3, trials: 7, minTrialMs: 100 });
      const perInsn = t.median / processed;
      if (!kernelByObject.has(c.object)) kernelByObject.set(c.object, kernelStats(c.object).catch((e: unknown) => `kernel load failed: ${(e as Error)?.message?.split('\n')[0] ?? e}`));
      const ks = await kernelByObject.get(c.object)!;
      const k = typeof ks === 'string' ? undefined : ks.get(c.prog.name);
      const why = typeof ks === 'string' ? ks : k ? undefined : 'kernel log had no stats for this program';
      totalNs += t.median;
      totalInsns += processed;
      if (k && k.usec > 0) {
        totalKernelUs += k.usec;
        totalKernelInsns += k.insns;
      } else kernelMissing = true;
      const counts = `bpfkit ${processed} insns / ${first.stats.states} states${k ? `; kernel ${k.insns} insns` : ''}`;
      out.push(
        result({
          subject: SUBJECT,
          case: `${c.label} (${c.prog.insns.length} insns)`,
          metric: 'µs/verify (median)',
          value: t.median / 1000,
          unit: 'µs',
          reference: k ? { name: 'kernel verification time', value: k.usec } : undefined,
          notes: why ? `${counts}; ${why}` : counts,
        }),
      );
      out.push(
        result({
          subject: SUBJECT,
          case: `${c.label} (${c.prog.insns.length} insns)`,
          metric: 'ns/processed insn',
          value: perInsn,
          unit: 'ns',
          reference: k && k.insns ? { name: 'kernel ns/processed insn', value: (k.usec * 1000) / k.insns } : undefined,
          notes: 'target ≤ 5000 ns',
        }),
      );
    }
    out.push(
      result({
        subject: SUBJECT,
        case: `all ${verified} programs bpfkit accepts (of ${cases.length})`,
        metric: 'ns/processed insn (total)',
        value: totalNs / Math.max(totalInsns, 1),
        unit: 'ns',
        reference: totalKernelInsns ? { name: 'kernel ns/processed insn (total)', value: (totalKernelUs * 1000) / totalKernelInsns } : undefined,
        notes: `${totalInsns} insns processed by bpfkit${totalKernelInsns ? `, ${totalKernelInsns} by the kernel` : ''}${kernelMissing ? '; some programs without a kernel figure' : ''}`,
      }),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
