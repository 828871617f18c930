/**
 * Typed errors for every place a user can go wrong. The library throws these and never prints;
 * the CLI turns them into one `error: <message>` line and a non-zero exit.
 */

/** Base class of every error bpfkit throws on purpose. `code` is a stable machine-readable tag. */
export class BpfkitError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Where in a text file something went wrong. */
export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
}

function where(loc: SourceLocation): string {
  const parts: string[] = [];
  if (loc.file) parts.push(loc.file);
  if (loc.line !== undefined) parts.push(String(loc.line));
  if (loc.column !== undefined) parts.push(String(loc.column));
  return parts.length ? parts.join(':') + ': ' : '';
}

/** Malformed assembly text (either syntax). */
export class AsmError extends BpfkitError {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly reason: string;
  constructor(reason: string, loc: SourceLocation = {}) {
    super('EASM', `${where(loc)}${reason}`);
    this.reason = reason;
    this.file = loc.file;
    this.line = loc.line;
    this.column = loc.column;
  }
}

/** Bytes that are not a valid eBPF instruction stream (unknown opcode, reserved field set, bad lddw pair). */
export class DecodeError extends BpfkitError {
  readonly pc: number;
  readonly reason: string;
  constructor(pc: number, reason: string) {
    super('EDECODE', `insn ${pc}: ${reason}`);
    this.pc = pc;
    this.reason = reason;
  }
}

/** A runtime fault in the userspace VM (out-of-bounds access, bad jump, budget exceeded, ...). */
export class VmError extends BpfkitError {
  readonly pc: number;
  readonly kind: string;
  readonly reason: string;
  constructor(pc: number, kind: string, reason: string) {
    super('EVM', `pc ${pc}: ${reason}`);
    this.pc = pc;
    this.kind = kind;
    this.reason = reason;
  }
}

/** A program the static verifier refuses. */
export class VerifierError extends BpfkitError {
  readonly pc: number;
  readonly reason: string;
  readonly sourceLine?: string;
  readonly log?: string;
  constructor(pc: number, reason: string, opts: { sourceLine?: string; log?: string } = {}) {
    super('EVERIFIER', `insn ${pc}: ${reason}${opts.sourceLine ? ` (source: ${opts.sourceLine.trim()})` : ''}`);
    this.pc = pc;
    this.reason = reason;
    this.sourceLine = opts.sourceLine;
    this.log = opts.log;
  }
}

/** Where in a binary object something went wrong: a section and/or a byte offset. */
export interface ObjectLocation {
  section?: string;
  offset?: number;
}

/**
 * The shared shape of `ElfError` and `BtfError`: the message is prefixed with the location
 * (`section .BTF, offset 0x18: reason`), which is also kept in `section` / `offset`.
 */
export abstract class ObjectError extends BpfkitError {
  readonly section?: string;
  readonly offset?: number;
  constructor(code: string, reason: string, loc: ObjectLocation) {
    const at = [loc.section ? `section ${loc.section}` : '', loc.offset !== undefined ? `offset 0x${loc.offset.toString(16)}` : '']
      .filter(Boolean)
      .join(', ');
    super(code, at ? `${at}: ${reason}` : reason);
    this.section = loc.section;
    this.offset = loc.offset;
  }
}

/** A malformed or unsupported ELF object. */
export class ElfError extends ObjectError {
  constructor(reason: string, opts: ObjectLocation = {}) {
    super('EELF', reason, opts);
  }
}

/** Malformed BTF, or a BTF query / CO-RE relocation that cannot be satisfied. */
export class BtfError extends ObjectError {
  constructor(reason: string, opts: ObjectLocation = {}) {
    super('EBTF', reason, opts);
  }
}

/** A failed system call into the kernel (bpf(2), perf_event_open, ioctl, ...). */
export class KernelError extends BpfkitError {
  readonly command: string;
  readonly errno: number;
  readonly errnoName: string;
  readonly hint?: string;
  readonly log?: string;
  constructor(command: string, errno: number, errnoName: string, opts: { hint?: string; log?: string; detail?: string } = {}) {
    super(
      errnoName,
      `${command}: ${errnoName}${opts.detail ? ` (${opts.detail})` : ''}${opts.hint ? ` — ${opts.hint}` : ''}`,
    );
    this.command = command;
    this.errno = errno;
    this.errnoName = errnoName;
    this.hint = opts.hint;
    this.log = opts.log;
  }
}

/** A syntax or semantic error in a tracing script. */
export class TraceSyntaxError extends BpfkitError {
  readonly line: number;
  readonly column: number;
  constructor(reason: string, line: number, column: number, file?: string) {
    super('ETRACE', `${file ? file + ':' : ''}${line}:${column}: ${reason}`);
    this.line = line;
    this.column = column;
  }
}

/** Malformed classic BPF, pcap filter expression or seccomp policy. */
export class CbpfError extends BpfkitError {
  readonly position?: number;
  constructor(reason: string, position?: number) {
    super('ECBPF', position !== undefined ? `${reason} at position ${position}` : reason);
    this.position = position;
  }
}

/** Bad command-line usage or an input file that cannot be read. */
export class UsageError extends BpfkitError {
  constructor(message: string) {
    super('EUSAGE', message);
  }
}
