/**
 * The verification environment shared by the checkers: the program, its type and options, maps resolved per
 * instruction, fresh ids, per-function stack depth, and the internal rejection exception that messages.ts turns
 * into a `VerifierError`.
 */
import type { Insn } from '../isa/insn.js';
import type { Cfg } from './cfg.js';
import type { MapInfo } from './state.js';

/** Internal: why the program is refused at `pc` (plain words, plus the kernel's wording when it has one). */
export class Reject extends Error {
  constructor(
    readonly pc: number,
    readonly why: string,
    readonly kernel?: string,
  ) {
    super(why);
  }
}

/** Program-wide facts and counters for one verification. */
export interface Env {
  readonly insns: readonly Insn[];
  readonly progType: number;
  readonly expectedAttachType?: number;
  /** The kernel's rules for a privileged loader (CAP_BPF + CAP_PERFMON): pointer subtraction, copies, leaks. */
  readonly privileged: boolean;
  /** Refuse uninitialised stack reads and pointer return values even when `privileged` (bpfkit's stricter default). */
  readonly strict: boolean;
  readonly cfg: Cfg;
  /** Map referenced by the lddw at a pc (a map pointer or, with `valueOff`, a pointer into its value). */
  readonly lddwMaps: Map<number, { map: MapInfo; valueOff?: number }>;
  /** Deepest stack byte used, per subprogram start. */
  readonly stackDepth: Map<number, number>;
  nextId(): number;
  /** Append to the verifier log when logging is on. */
  log(line: string): void;
}

/** Throw a rejection. */
export function reject(pc: number, why: string, kernel?: string): never {
  throw new Reject(pc, why, kernel);
}
