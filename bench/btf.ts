/**
 * Benchmark subject: kernel BTF. In fresh child processes: time to load /sys/kernel/btf/vmlinux, time to resolve
 * 100 named types (the first name lookup builds the name index), and the RSS it costs (delta over an idle node
 * process, plus the absolute and peak RSS), against the 20 MB target. Side by side: `bpftool btf dump file
 * vmlinux > /dev/null` (wall time and max RSS via /usr/bin/time -v) and `bpfkit btf dump` raw/C to /dev/null.
 * The C dump is also measured in-process (`btfToCBytes` after parsing, fresh child processes), and the CLI's C
 * dump is timed and its peak RSS taken beside bpftool's `format c`, runs alternating, in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { result, type BenchResult } from './harness.js';

const SUBJECT = 'btf';
const VMLINUX = '/sys/kernel/btf/vmlinux';
const RSS_TARGET_MB = 20;
const TRIALS = 5;

/** The child: one cold load + 100 lookups in a fresh process, printed as JSON. */
function childScript(btfModule: string): string {
  return `
import { readFileSync } from 'node:fs';
const hwm = () => { const m = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8')); return m ? +m[1] / 1024 : 0; };
const rss0 = process.memoryUsage().rss;
const { Btf } = await import(${JSON.stringify(btfModule)});
const rss1 = process.memoryUsage().rss;
const t0 = performance.now();
const btf = Btf.parse(readFileSync(${JSON.stringify(VMLINUX)}), { name: 'vmlinux' });
const t1 = performance.now();
const names = [];
for (let id = 1; names.length < 100 && id < btf.typeCount; id += 997) { const n = btf.nameOf(id); if (n && !names.includes(n)) names.push(n); }
for (let id = 1; names.length < 100 && id < btf.typeCount; id++) { const n = btf.nameOf(id); if (n && !names.includes(n)) names.push(n); }
const t2 = performance.now();
let found = 0;
for (const n of names) { const t = btf.findByName(n); if (t) { found++; btf.typeToC(t.id); } }
const t3 = performance.now();
const rss2 = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ loadMs: t1 - t0, lookupMs: t3 - t2, found, types: btf.typeCount, baseMB: rss0 / 2 ** 20, importMB: (rss1 - rss0) / 2 ** 20, deltaMB: (rss2 - rss0) / 2 ** 20, rssMB: rss2 / 2 ** 20, peakMB: hwm() }));
`;
}

interface ChildResult {
  loadMs: number;
  lookupMs: number;
  found: number;
  types: number;
  baseMB: number;
  importMB: number;
  deltaMB: number;
  rssMB: number;
  peakMB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The child for the in-process C dump: parse vmlinux, pull every chunk of `btfToCBytes`, print JSON. */
function dumpChildScript(indexModule: string): string {
  return `
import { readFileSync } from 'node:fs';
const hwm = () => { const m = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8')); return m ? +m[1] / 1024 : 0; };
const { Btf, btfToCBytes } = await import(${JSON.stringify(indexModule)});
const btf = Btf.parse(readFileSync(${JSON.stringify(VMLINUX)}), { name: 'vmlinux' });
const before = hwm();
const t0 = performance.now();
let bytes = 0, chunks = 0;
for (const c of btfToCBytes(btf)) { bytes += c.length; chunks++; }
const t1 = performance.now();
process.stdout.write(JSON.stringify({ dumpMs: t1 - t0, bytes, chunks, hwmBeforeMB: before, hwmAfterMB: hwm() }));
`;
}

interface DumpChildResult {
  dumpMs: number;
  bytes: number;
  chunks: number;
  hwmBeforeMB: number;
  hwmAfterMB: number;
}

/** Wall time (ms) and max RSS (MB) of a shell command writing to /dev/null, via /usr/bin/time -v when present. */
function timeCommand(cmd: string): { ms: number; maxRssMB?: number } {
  const hasTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-v', 'sh', '-c', `${cmd} > /dev/null`], { encoding: 'utf8' })
    : spawnSync('sh', ['-c', `${cmd} > /dev/null`], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const m = hasTime ? /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr) : null;
  return { ms, maxRssMB: m ? Number(m[1]) / 1024 : undefined };
}

/** Run the subject. */
export async function run(): Promise<BenchResult[]> {
  if (!existsSync(VMLINUX)) {
    return [result({ subject: SUBJECT, case: 'vmlinux BTF', metric: 'skipped', value: 0, unit: '', notes: `no ${VMLINUX}` })];
  }
  const btfModule = new URL('../src/btf/btf.js', import.meta.url).href;
  const script = childScript(btfModule);
  const runs: ChildResult[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout) as ChildResult);
  }
  const out: BenchResult[] = [];
  const types = runs[0]!.types;
  const notes = `${types} types; median of ${TRIALS} fresh processes`;

  let bpftool: { ms: number; maxRssMB?: number } | undefined;
  let bpftoolNote = '';
  if (spawnSync('bpftool', ['version']).status === 0) {
    const ts = [1, 2, 3].map(() => timeCommand(`bpftool btf dump file ${VMLINUX}`));
    bpftool = { ms: median(ts.map((t) => t.ms)), maxRssMB: ts[0]!.maxRssMB };
    bpftoolNote = 'bpftool btf dump file vmlinux > /dev/null (whole process: parse + raw dump)';
  } else bpftoolNote = 'bpftool not installed';

  out.push(
    result({
      subject: SUBJECT,
      case: 'load vmlinux BTF (read + index)',
      metric: 'time (median)',
      value: median(runs.map((r) => r.loadMs)),
      unit: 'ms',
      reference: bpftool ? { name: 'bpftool btf dump (whole process)', value: bpftool.ms } : undefined,
      notes: `${notes}; ${bpftoolNote}`,
    }),
    result({
      subject: SUBJECT,
      case: 'resolve 100 named types (cold: builds name index)',
      metric: 'time (median)',
      value: median(runs.map((r) => r.lookupMs)),
      unit: 'ms',
      notes: `found ${runs[0]!.found}/100, each also formatted as C`,
    }),
    result({
      subject: SUBJECT,
      case: 'load + resolve 100 types',
      metric: 'RSS delta over idle node (median)',
      value: median(runs.map((r) => r.deltaMB)),
      unit: 'MB',
      reference: { name: 'target', value: RSS_TARGET_MB },
      notes: `idle node RSS ${median(runs.map((r) => r.baseMB)).toFixed(1)} MB; importing the module ${median(runs.map((r) => r.importMB)).toFixed(1)} MB of it`,
    }),
    result({
      subject: SUBJECT,
      case: 'load + resolve 100 types',
      metric: 'RSS absolute / peak (median)',
      value: median(runs.map((r) => r.rssMB)),
      unit: 'MB',
      reference: bpftool?.maxRssMB ? { name: 'bpftool btf dump max RSS', value: bpftool.maxRssMB } : undefined,
      notes: `peak (VmHWM) ${median(runs.map((r) => r.peakMB)).toFixed(1)} MB; absolute includes node itself`,
    }),
  );

  // The C dump in-process: library time after parsing, and how much it raises the peak RSS.
  const dumpScript = dumpChildScript(new URL('../src/btf/index.js', import.meta.url).href);
  const dumps: DumpChildResult[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', dumpScript], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dump child failed: ${r.stderr}`);
    dumps.push(JSON.parse(r.stdout) as DumpChildResult);
  }
  out.push(
    result({
      subject: SUBJECT,
      case: 'btfToCBytes(vmlinux), in-process after parse',
      metric: 'time (median)',
      value: median(dumps.map((d) => d.dumpMs)),
      unit: 'ms',
      notes: `${dumps[0]!.bytes} bytes in ${dumps[0]!.chunks} chunks; median of ${TRIALS} fresh processes; peak RSS +${median(dumps.map((d) => d.hwmAfterMB - d.hwmBeforeMB)).toFixed(1)} MB over the parsed BTF (${median(dumps.map((d) => d.hwmBeforeMB)).toFixed(1)} MB)`,
    }),
  );

  // The whole CLI dump, like for like with bpftool.
  const bin = fileURLToPath(new URL('../../bin/bpfkit.js', import.meta.url));
  if (existsSync(bin)) {
    const ts = [1, 2, 3].map(() => timeCommand(`${process.execPath} ${bin} btf dump ${VMLINUX} --format raw`));
    let ref: { name: string; value: number } | undefined;
    if (bpftool) {
      const b = [1, 2, 3].map(() => timeCommand(`bpftool btf dump file ${VMLINUX} format raw`));
      ref = { name: 'bpftool btf dump format raw', value: median(b.map((t) => t.ms)) };
    }
    out.push(
      result({
        subject: SUBJECT,
        case: 'bpfkit btf dump vmlinux --format raw > /dev/null',
        metric: 'wall time (median of 3)',
        value: median(ts.map((t) => t.ms)),
        unit: 'ms',
        reference: ref,
        notes: ts[0]!.maxRssMB ? `max RSS ${ts[0]!.maxRssMB.toFixed(1)} MB (whole process incl. node start-up and CLI)` : undefined,
      }),
    );

    // --format c: bpfkit and bpftool alternate so both see the same machine load.
    const C_RUNS = 5;
    const ours: { ms: number; maxRssMB?: number }[] = [];
    const theirs: { ms: number; maxRssMB?: number }[] = [];
    for (let i = 0; i < C_RUNS; i++) {
      ours.push(timeCommand(`${process.execPath} ${bin} btf dump ${VMLINUX} --format c`));
      if (bpftool) theirs.push(timeCommand(`bpftool btf dump file ${VMLINUX} format c`));
    }
    const startup = [1, 2, 3].map(() => timeCommand(`${process.execPath} ${bin} btf dump --help`));
    const startupNote = `CLI start-up alone (btf dump --help): ${median(startup.map((t) => t.ms)).toFixed(0)} ms${
      startup[0]!.maxRssMB ? `, ${median(startup.map((t) => t.maxRssMB ?? 0)).toFixed(1)} MB` : ''
    }`;
    const rss = ours.map((t) => t.maxRssMB).filter((x): x is number => x !== undefined);
    const bRss = theirs.map((t) => t.maxRssMB).filter((x): x is number => x !== undefined);
    out.push(
      result({
        subject: SUBJECT,
        case: 'bpfkit btf dump vmlinux --format c > /dev/null',
        metric: `wall time (median of ${C_RUNS})`,
        value: median(ours.map((t) => t.ms)),
        unit: 'ms',
        reference: bpftool ? { name: 'bpftool btf dump format c', value: median(theirs.map((t) => t.ms)) } : undefined,
        notes: `whole process incl. node start-up; ${startupNote}${bpftool ? '' : `; ${bpftoolNote}`}`,
      }),
    );
    if (rss.length) {
      out.push(
        result({
          subject: SUBJECT,
          case: 'bpfkit btf dump vmlinux --format c > /dev/null',
          metric: `peak RSS (median of ${C_RUNS})`,
          value: median(rss),
          unit: 'MB',
          reference: bRss.length ? { name: 'bpftool btf dump format c max RSS', value: median(bRss) } : undefined,
          notes: `max ${Math.max(...rss).toFixed(1)} MB; target < 80 MB; whole process incl. node itself`,
        }),
      );
    }
  }
  return out;
}
