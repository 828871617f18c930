/**
 * The syntax-independent half of assembling: collects instructions with their source lines, defines
 * labels, records label references and resolves them (second pass) into jump offsets / call immediates.
 */
import { AsmError } from '../errors.js';
import type { Insn } from '../isa/index.js';
import { fitsS16, fitsS32 } from './numbers.js';

/** A position in the assembly text (1-based line and column). */
export interface Loc {
  line: number;
  column: number;
}

/** Which field a label reference fills: `off` (jumps, s16) or `imm` (gotol / local calls, s32). */
export type FixupField = 'off' | 'imm';

interface Fixup {
  pc: number;
  label: string;
  field: FixupField;
  loc: Loc;
}

/** Result of assembling with source information kept. */
export interface AssembledProgram {
  insns: Insn[];
  /** Source line (1-based) of every slot (both slots of an lddw carry its line). */
  lines: number[];
  /** Label name → slot index. */
  labels: Map<string, number>;
}

/** Accumulates one program; `fail` throws an `AsmError` carrying file, line and column. */
export class ProgramBuilder {
  readonly insns: Insn[] = [];
  readonly lines: number[] = [];
  readonly labels = new Map<string, number>();
  private readonly labelLocs = new Map<string, Loc>();
  private readonly fixups: Fixup[] = [];

  constructor(readonly file?: string) {}

  /** Throw an `AsmError` at `loc`. */
  fail(reason: string, loc: Loc): never {
    throw new AsmError(reason, { file: this.file, line: loc.line, column: loc.column });
  }

  /** Current slot index. */
  get pc(): number {
    return this.insns.length;
  }

  defineLabel(name: string, loc: Loc): void {
    const prev = this.labelLocs.get(name);
    if (prev) this.fail(`duplicate label ${name} (first defined at line ${prev.line})`, loc);
    this.labels.set(name, this.pc);
    this.labelLocs.set(name, loc);
  }

  /** Define `name` at the current pc only if it is not defined (yet or later): used for uBPF's implicit `exit`. */
  defineImplicitLabel(name: string): void {
    if (!this.implicit.has(name)) this.implicit.set(name, this.pc);
  }
  private readonly implicit = new Map<string, number>();

  emit(line: number, ...insns: Insn[]): void {
    for (const i of insns) {
      this.insns.push(i);
      this.lines.push(line);
    }
  }

  /** The instruction about to be emitted refers to `label` in `field`. */
  reference(label: string, field: FixupField, loc: Loc): void {
    this.fixups.push({ pc: this.pc, label, field, loc });
  }

  /** Resolve label references and return the program. */
  finish(): AssembledProgram {
    for (const [name, pc] of this.implicit) if (!this.labels.has(name)) this.labels.set(name, pc);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) this.fail(`unknown label ${f.label}`, f.loc);
      const rel = target - f.pc - 1;
      const i = this.insns[f.pc]!;
      if (f.field === 'off') {
        if (!fitsS16(rel)) this.fail(`jump to ${f.label} (${rel} slots) out of 16-bit offset range`, f.loc);
        i.off = rel;
      } else {
        if (!fitsS32(rel)) this.fail(`jump to ${f.label} (${rel} slots) out of 32-bit range`, f.loc);
        i.imm = rel;
      }
    }
    return { insns: this.insns, lines: this.lines, labels: this.labels };
  }
}
