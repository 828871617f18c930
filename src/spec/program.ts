/**
 * Program and object specs: plain data produced by parsing (ELF objects, assembly, tracing scripts, classic
 * filters) before anything is loaded. The kernel backend and the userspace runtime both turn a spec into live
 * objects with the same interfaces (cilium/ebpf's spec/instance split).
 */
import type { Insn } from '../isa/insn.js';
import type { MapSpec } from './map.js';

/** A reference from an instruction to something resolved at load time. */
export type InsnReference =
  /** lddw of a map (src PSEUDO_MAP_FD / MAP_IDX) or of a map value (MAP_VALUE / MAP_IDX_VALUE, `offset` in the value). */
  | { kind: 'map'; pc: number; map: string; offset?: number; value: boolean }
  /** bpf-to-bpf call or lddw of a function (`pseudo func`) to a subprogram, resolved by symbol. */
  | { kind: 'call'; pc: number; symbol: string }
  /** `.kconfig` extern: lddw of the extern's value (after relocation, an offset in the kconfig map). */
  | { kind: 'kconfig'; pc: number; symbol: string }
  /** `.ksyms` extern: variable (lddw BTF id) or kfunc call. */
  | { kind: 'ksym'; pc: number; symbol: string; func: boolean };

/** Source position of an instruction (from BTF line_info, or the assembly line). */
export interface SourceLine {
  file: string;
  line: number;
  column: number;
  /** The text of the source line, when known. */
  text?: string;
}

/** One program, ready to be loaded: instructions plus everything the loader needs to know. */
export interface ProgramSpec {
  /** Function name (ELF symbol) or a given name. */
  name: string;
  /** ELF section name (`SEC("xdp")`, `tracepoint/syscalls/sys_enter_execve`), or '' when not from ELF. */
  section: string;
  /** `BPF_PROG_TYPE_*` value (see `ProgType` in src/isa/uapi.ts). */
  type: number;
  /** Expected attach type (`BPF_*` from `AttachType`) when the program type needs one. */
  expectedAttachType?: number;
  /** What to attach to, parsed from the section name (tracepoint `cat/name`, kprobe function, uprobe binary:symbol...). */
  attachTo?: string;
  /** Program flags for BPF_PROG_LOAD (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS...). */
  flags?: number;
  /** Instructions, kernel slot numbering, subprograms appended and calls relocated. */
  insns: Insn[];
  /** Unresolved references (maps, externs) the loader patches in. */
  references: InsnReference[];
  license: string;
  /** Kernel version word (legacy `version` section). */
  kernelVersion?: number;
  /** Source line per instruction (same indexing as `insns`), when known. */
  lines?: (SourceLine | undefined)[];
  /** BTF func_info / line_info for the kernel loader, already offset to this program's insns (opaque here). */
  btfExt?: unknown;
}

/** A parsed object: the programs and maps of one ELF file (or another source). */
export interface ObjectSpec {
  programs: ProgramSpec[];
  maps: MapSpec[];
  license: string;
  kernelVersion?: number;
  /** The object's BTF (a `Btf` from src/btf), when it has one. */
  btf?: unknown;
  /**
   * The object's BTF bytes fixed up for BPF_BTF_LOAD the way libbpf does (DATASEC sizes and variable offsets
   * from the ELF, extern variables/functions made acceptable to the kernel), when the object has BTF.
   */
  btfRaw?: Uint8Array;
}
