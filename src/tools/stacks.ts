/**
 * Turning the kstack/ustack ids a tool's map holds into symbolised frames: kernel frames from /proc/kallsyms,
 * user frames from /proc/PID/maps + ELF symbols (read once per process, while it still lives). Same rules as
 * profile: user stacks need frame pointers in the traced code.
 */
import type { StackFrames } from '../trace/runtime.js';
import { kernelSymbol } from '../trace/symbols.js';
import type { ProfileFrame } from './profile.js';
import { readMappings, resolveUser, type UserMapping } from './usym.js';

/** A kernel address as a frame (`[unknown]` when kallsyms has no symbol for it). */
export function kernelFrame(address: bigint): ProfileFrame {
  const s = kernelSymbol(address);
  const plus = s.lastIndexOf('+');
  return { address, name: s.startsWith('0x') ? '[unknown]' : plus > 0 ? s.slice(0, plus) : s, kernel: true };
}

/** Resolves (pid, kernel stack id, user stack id) to frames, caching each process's mappings. */
export class StackResolver {
  private readonly maps = new Map<number, UserMapping[]>();
  constructor(private readonly frames: StackFrames) {}

  /** Innermost first: kernel frames, then user frames (either part empty when its id is negative/unknown). */
  resolve(pid: number, kernelId: bigint, userId: bigint): ProfileFrame[] {
    let maps = this.maps.get(pid);
    if (!maps) this.maps.set(pid, (maps = pid ? readMappings(pid) : []));
    const k = kernelId >= 0n ? this.frames(kernelId, false).map(kernelFrame) : [];
    const u = userId >= 0n
      ? resolveUser(this.frames(userId, true), maps).map((f): ProfileFrame => ({ address: f.address, name: f.name ?? '[unknown]', kernel: false, module: f.module, mapping: f.mapping }))
      : [];
    return [...k, ...u];
  }
}
