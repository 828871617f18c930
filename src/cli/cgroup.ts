/**
 * `bpfkit cgroup show PATH` and `bpfkit cgroup tree [ROOT]`: the programs attached to cgroup v2 directories,
 * one BPF_PROG_QUERY per cgroup attach type, as `bpftool cgroup show/tree` lists them (`--effective` adds
 * what a cgroup inherits from its ancestors).
 */
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { attachTypeName } from '../isa/names.js';
import { AttachType, Uapi } from '../isa/uapi.js';
import { cgroup2Root } from '../kernel/features/probe.js';
import { queryAttached } from '../kernel/info/query.js';
import { printJson, printTable, progNameById } from './prog.js';

/** Every cgroup attach type (the `cgroup_*` values of enum bpf_attach_type). */
const CGROUP_TYPES = Object.entries(AttachType)
  .filter(([k]) => k.startsWith('CGROUP_'))
  .map(([, v]) => v)
  .sort((a, b) => a - b);

/** One program on a cgroup. */
interface CgroupProg {
  id: number;
  attach_type: string;
  /** `multi`, `override` or '' (bpftool's spelling). */
  attach_flags: string;
  name: string;
}

const flagName = (f: number) => (f & Uapi.BPF_F_ALLOW_MULTI ? 'multi' : f & Uapi.BPF_F_ALLOW_OVERRIDE ? 'override' : '');

/** The programs on one cgroup directory, by attach type. */
function cgroupPrograms(path: string, effective: boolean): CgroupProg[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageError(`${path}: cannot open cgroup directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const out: CgroupProg[] = [];
    for (const at of CGROUP_TYPES) {
      const q = queryAttached({ fd }, at, { effective });
      if (!q) continue;
      q.progIds.forEach((id, i) => out.push({ id, attach_type: attachTypeName(at), attach_flags: flagName(effective ? 0 : q.progAttachFlags[i] || q.attachFlags), name: progNameById(id) }));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Cgroup directories under `root` (root first, depth first, sorted by name). */
function* walk(root: string): Generator<string> {
  yield root;
  let entries: string[];
  try {
    entries = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return; // removed meanwhile
  }
  for (const e of entries) yield* walk(join(root, e));
}

const HEADER = ['ID', 'ATTACH_TYPE', 'FLAGS', 'NAME'];
const row = (p: CgroupProg) => [p.id, p.attach_type, p.attach_flags || '-', p.name || '-'];

/** Register `cgroup`. */
export function register(program: Command): void {
  const cg = program.command('cgroup').description('BPF programs attached to cgroups: show, tree');
  cg.command('show')
    .description('list the programs attached to one cgroup')
    .argument('<path>', 'cgroup v2 directory')
    .option('--effective', 'include programs inherited from ancestors (BPF_F_QUERY_EFFECTIVE)')
    .option('--json', 'JSON output')
    .action((path: string, opts: { effective?: boolean; json?: boolean }) => {
      const progs = cgroupPrograms(path, !!opts.effective);
      if (opts.json) printJson(progs);
      else printTable(HEADER, progs.map(row));
    });
  cg.command('tree')
    .description('list the programs of every cgroup under ROOT (default: the cgroup v2 mount) that has any')
    .argument('[root]', 'cgroup v2 directory to start from')
    .option('--effective', 'include programs inherited from ancestors (BPF_F_QUERY_EFFECTIVE)')
    .option('--json', 'JSON output')
    .action((rootArg: string | undefined, opts: { effective?: boolean; json?: boolean }) => {
      const root = rootArg ?? cgroup2Root();
      if (!root) throw new UsageError('cgroup tree: no cgroup v2 mount found (give ROOT)');
      if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${root}: not a directory`);
      const found: { cgroup: string; programs: CgroupProg[] }[] = [];
      for (const dir of walk(root)) {
        let progs: CgroupProg[];
        try {
          progs = cgroupPrograms(dir, !!opts.effective);
        } catch (e) {
          if (e instanceof UsageError && dir !== root) continue; // removed while walking
          throw e;
        }
        if (progs.length) found.push({ cgroup: dir, programs: progs });
      }
      if (opts.json) printJson(found);
      else printTable(['CGROUP', ...HEADER], found.flatMap((c) => c.programs.map((p) => [c.cgroup, ...row(p)])));
    });
}
