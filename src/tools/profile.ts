/**
 * profile: CPU sampling — a perf software cpu-clock event at `hz` on every CPU runs
 * `@stacks[comm, pid, kstack, ustack] = count()`; at the end the stack ids are resolved to frame addresses,
 * kernel frames symbolised from /proc/kallsyms and user frames from /proc/PID/maps + ELF symbols (while the
 * processes still live). User stacks need frame pointers in the sampled code (partial otherwise, as with bpftrace).
 */
import { UsageError } from '../errors.js';
import { kernelSymbol } from '../trace/symbols.js';
import { s64At, strAt, u64At, entryTotal } from './maps.js';
import { checkToolOptions, pidPredicate, runToolScript, type ToolOptions } from './runner.js';
import { readMappings, resolveUser, type UserMapping } from './usym.js';
import { STRLEN } from '../trace/types.js';

/** One stack frame. */
export interface ProfileFrame {
  address: bigint;
  /** Function name (`[unknown]` when no symbol covers the address). */
  name: string;
  kernel: boolean;
  /** The mapped file of a user frame (when known). */
  module?: string;
  mapping?: UserMapping;
}

/** One distinct (process, stack) and how many samples hit it. */
export interface ProfileStack {
  comm: string;
  pid: number;
  /** Innermost first: kernel frames, then user frames. */
  frames: ProfileFrame[];
  count: number;
}

/** What a profile run collected. */
export interface ProfileResult {
  hz: number;
  startTime: Date;
  durationNs: number;
  totalSamples: number;
  stacks: ProfileStack[];
}

/** Options of profile. */
export interface ProfileOptions extends ToolOptions {
  /** Samples per second per CPU (default 99). */
  hz?: number;
}

/** The bpftrace-language script of profile. */
export function profileScript(hz: number, pid?: number): string {
  return `profile:hz:${hz} ${pidPredicate(pid)}{ @stacks[comm, pid, kstack, ustack] = count(); }`;
}

function kernelFrame(address: bigint): ProfileFrame {
  const s = kernelSymbol(address);
  const plus = s.lastIndexOf('+');
  return { address, name: s.startsWith('0x') ? '[unknown]' : plus > 0 ? s.slice(0, plus) : s, kernel: true };
}

/** Run the profiler; returns the sampled stacks. */
export async function profile(o: ProfileOptions = {}): Promise<ProfileResult> {
  checkToolOptions(o, 'profile');
  const hz = o.hz ?? 99;
  if (!Number.isInteger(hz) || hz <= 0 || hz > 10000) throw new UsageError(`profile: hz must be an integer in 1..10000, not ${hz}`);
  const startTime = new Date();
  const t0 = process.hrtime.bigint();
  let durationNs = 0;
  const stacks: ProfileStack[] = [];
  await runToolScript(profileScript(hz, o.pid), o, {
    onMap: (info, entries, frames) => {
      if (info.name !== 'stacks') return;
      durationNs = Number(process.hrtime.bigint() - t0);
      const mapsOf = new Map<number, UserMapping[]>();
      for (const e of entries) {
        const count = Number(entryTotal(e));
        if (!count) continue;
        const pid = Number(u64At(e.key, STRLEN));
        const kid = s64At(e.key, STRLEN + 8);
        const uid = s64At(e.key, STRLEN + 16);
        let maps = mapsOf.get(pid);
        if (!maps) mapsOf.set(pid, (maps = pid ? readMappings(pid) : []));
        const k = frames(kid, false).map(kernelFrame);
        const u = resolveUser(frames(uid, true), maps).map((f): ProfileFrame => ({
          address: f.address,
          name: f.name ?? '[unknown]',
          kernel: false,
          module: f.module,
          mapping: f.mapping,
        }));
        stacks.push({ comm: strAt(e.key, 0), pid, frames: [...k, ...u], count });
      }
    },
  }, 'profile');
  stacks.sort((a, b) => b.count - a.count);
  return { hz, startTime, durationNs, totalSamples: stacks.reduce((s, x) => s + x.count, 0), stacks };
}
