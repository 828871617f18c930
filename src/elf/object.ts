/**
 * `loadObjectSpec`: turn an eBPF ELF object (clang -target bpf) into an `ObjectSpec` — programs per SEC()
 * with subprograms linked in, maps (BTF-defined, legacy, global data, `.kconfig`), license and version, line
 * info from `.BTF.ext`, and CO-RE relocations applied against a target BTF when one is given.
 */
import { BpfkitError, BtfError, ElfError } from '../errors.js';
import { MapType, Uapi } from '../isa/uapi.js';
import type { MapSpec } from '../spec/map.js';
import type { ObjectSpec, ProgramSpec, SourceLine } from '../spec/program.js';
import { Btf } from '../btf/btf.js';
import { parseBtfExt, type BtfExt, type LineInfo } from '../btf/ext.js';
import { codeSections, type CodeSection } from './functions.js';
import { buildKconfig, type KconfigOptions } from './kconfig.js';
import { linkProgram, type LinkedProgram } from './link.js';
import { btfMaps, dataSectionMaps, legacyMaps, type ObjectMap } from './maps.js';
import { fixupBtf } from './btf-fixup.js';
import { EM_BPF, SHN, STB, parseElf, type ElfFile } from './reader.js';
import { classifySection } from './sections.js';
import { applyCore, coreContext, type CoreTarget } from './core.js';
import type { CoreResult } from '../btf/core.js';

/** Options for `loadObjectSpec`. */
export interface LoadObjectOptions extends KconfigOptions {
  /**
   * Target BTF for CO-RE relocations (a `Btf` from src/btf, e.g. the running kernel's vmlinux). When the object
   * has CO-RE relocations and this is absent, instructions keep the object's local offsets.
   */
  targetBtf?: CoreTarget;
}

/** func_info / line_info of one linked program, offsets in instructions (kernel BPF_PROG_LOAD format). */
export interface ProgramBtfExt {
  funcInfoRecSize: number;
  funcInfo: { insnOff: number; typeId: number }[];
  lineInfoRecSize: number;
  lineInfo: { insnOff: number; fileNameOff: number; lineOff: number; lineCol: number }[];
}

/** A parsed object plus ELF-level detail (for objdump and skeletons). */
export interface LoadedObject {
  spec: ObjectSpec;
  elf: ElfFile;
  /** The object's `.BTF` (the same instance as `spec.btf`). */
  btf?: Btf;
  /** The object's `.BTF.ext` (func_info, line_info, CO-RE relocations per section). */
  btfExt?: BtfExt;
  /** Executable sections as in the file (before linking), CO-RE applied if a target was given. */
  code: CodeSection[];
  /** Maps with their definition locations. */
  maps: ObjectMap[];
  /** Results of the CO-RE relocations applied (when a target BTF was given), by section. */
  core: Map<string, CoreResult[]>;
}

/** Parse an eBPF object into an `ObjectSpec`. Throws ElfError / BtfError (with section and offset) on bad input. */
export function loadObjectSpec(bytes: Uint8Array, opts: LoadObjectOptions = {}): ObjectSpec {
  return loadObject(bytes, opts).spec;
}

/** Like `loadObjectSpec`, also returning the ELF, BTF and per-section detail. */
export function loadObject(bytes: Uint8Array, opts: LoadObjectOptions = {}): LoadedObject {
  try {
    return loadObjectInner(bytes, opts);
  } catch (e) {
    if (e instanceof BpfkitError) {
      if (e instanceof ElfError || e instanceof BtfError) throw e;
      throw new ElfError(e.message, {});
    }
    if (e instanceof RangeError || e instanceof TypeError) {
      // A read the explicit checks missed: still a typed error, never a crash.
      throw new ElfError(`malformed object (${e.message})`);
    }
    throw e;
  }
}

function loadObjectInner(bytes: Uint8Array, opts: LoadObjectOptions): LoadedObject {
  const elf = parseElf(bytes);
  if (elf.machine !== EM_BPF && elf.machine !== 0) throw new ElfError(`e_machine ${elf.machine} is not EM_BPF (247)`, { offset: 18 });
  if (elf.type !== 1) throw new ElfError(`ELF type ${elf.type} is not a relocatable object`, { offset: 16 });

  const btfSec = elf.section('.BTF');
  const btf = btfSec ? Btf.parse(btfSec.data, { name: 'object' }) : undefined;
  const extSec = elf.section('.BTF.ext');
  const btfExt = btf && extSec ? parseBtfExt(extSec.data, btf) : undefined;

  const license = cString(elf, 'license') ?? '';
  const versionSec = elf.section('version');
  let kernelVersion: number | undefined;
  if (versionSec) {
    if (versionSec.size !== 4) throw new ElfError(`version section is ${versionSec.size} bytes, not 4`, { section: 'version', offset: versionSec.offset });
    kernelVersion = new DataView(versionSec.data.buffer, versionSec.data.byteOffset, 4).getUint32(0, !elf.bigEndian);
  }

  // Maps: BTF-defined, legacy, global data, kconfig.
  const maps: ObjectMap[] = [];
  if (elf.section('.maps')) {
    if (!btf) throw new ElfError('object has .maps but no .BTF', { section: '.maps' });
    maps.push(...btfMaps(elf, btf));
  }
  maps.push(...legacyMaps(elf));
  maps.push(...dataSectionMaps(elf, btf));
  const weak = new Set(elf.symbols.filter((s) => s.shndx === SHN.UNDEF && s.bind === STB.WEAK).map((s) => s.name));
  const kconfig = btf ? buildKconfig(btf, weak, opts) : { value: new Uint8Array(0), externs: [] };
  const kconfigMap = '.kconfig';
  if (kconfig.externs.length) {
    const spec: MapSpec = {
      name: kconfigMap,
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: kconfig.value.length,
      maxEntries: 1,
      flags: Uapi.BPF_F_RDONLY_PROG,
      contents: [{ key: new Uint8Array(4), value: kconfig.value }],
      dataSection: '.kconfig',
    };
    maps.push({ spec, shndx: -1, offset: 0, size: kconfig.value.length });
  }
  const seen = new Set<string>();
  for (const m of maps) {
    if (seen.has(m.spec.name)) throw new ElfError(`two maps named ${m.spec.name}`, { section: '.maps' });
    seen.add(m.spec.name);
  }

  // Code: decode, apply CO-RE per section, split and link.
  const code = codeSections(elf);
  const core = new Map<string, CoreResult[]>();
  const ctx = btf ? coreContext(btf, btfExt) : undefined;
  if (opts.targetBtf && ctx) {
    for (const c of code) {
      if (!ctx.relos.get(c.section.name)?.length) continue;
      const r = applyCore(c.insns, c.section.name, ctx, opts.targetBtf);
      c.insns = r.insns;
      core.set(c.section.name, r.results);
    }
  }
  const kcOffsets = new Map(kconfig.externs.map((e) => [e.name, e.offset]));
  const externs = { kconfigMap, kconfigOffset: (n: string) => kcOffsets.get(n) };

  const programs: ProgramSpec[] = [];
  for (const c of code) {
    if (c.section.name === '.text') continue;
    const info = classifySection(c.section.name);
    for (const fn of c.functions) {
      const linked = linkProgram(elf, code, fn, maps, externs);
      const p: ProgramSpec = {
        name: fn.name,
        section: c.section.name,
        type: info?.progType ?? 0,
        insns: linked.insns,
        references: linked.references,
        license,
      };
      if (info?.expectedAttachType !== undefined) p.expectedAttachType = info.expectedAttachType;
      if (info?.attachTo) p.attachTo = info.attachTo;
      if (info?.flags) p.flags = info.flags;
      if (kernelVersion !== undefined) p.kernelVersion = kernelVersion;
      if (btfExt) {
        p.btfExt = programBtfExt(linked, btfExt);
        p.lines = programLines(linked, btfExt);
      }
      programs.push(p);
    }
  }

  const spec: ObjectSpec = { programs, maps: maps.map((m) => m.spec), license };
  if (kernelVersion !== undefined) spec.kernelVersion = kernelVersion;
  if (btf) {
    spec.btf = btf;
    spec.btfRaw = fixupBtf(btf, elf, kconfig.externs);
  }
  return { spec, elf, btf, btfExt, code, maps, core };
}

/** The NUL-terminated string in a section, if the section exists. */
function cString(elf: ElfFile, name: string): string | undefined {
  const s = elf.section(name);
  if (!s) return undefined;
  const end = s.data.indexOf(0);
  return new TextDecoder().decode(s.data.subarray(0, end < 0 ? s.data.length : end));
}

/** Records of a `.BTF.ext` table inside each function placed in `linked`, with their instruction index there. */
function* placedRecords<T extends { insnOff: number }>(linked: LinkedProgram, table: Map<string, T[]>): Generator<[T, number]> {
  for (const { fn, at } of linked.placed) {
    const lo = fn.start * 8;
    const hi = (fn.start + fn.length) * 8;
    for (const r of table.get(fn.section.name) ?? []) {
      if (r.insnOff >= lo && r.insnOff < hi) yield [r, at + (r.insnOff - lo) / 8];
    }
  }
}

/** func_info and line_info of a linked program, in instruction units. */
function programBtfExt(linked: LinkedProgram, ext: BtfExt): ProgramBtfExt {
  const out: ProgramBtfExt = { funcInfoRecSize: ext.funcInfoRecSize, funcInfo: [], lineInfoRecSize: ext.lineInfoRecSize, lineInfo: [] };
  for (const [f, pc] of placedRecords(linked, ext.funcInfo)) out.funcInfo.push({ insnOff: pc, typeId: f.typeId });
  for (const [l, pc] of placedRecords(linked, ext.lineInfo)) {
    out.lineInfo.push({ insnOff: pc, fileNameOff: l.fileNameOff, lineOff: l.lineOff, lineCol: (l.line << 10) | l.column });
  }
  out.funcInfo.sort((a, b) => a.insnOff - b.insnOff);
  out.lineInfo.sort((a, b) => a.insnOff - b.insnOff);
  return out;
}

/** Source lines per linked instruction (set where a line_info record starts). */
function programLines(linked: LinkedProgram, ext: BtfExt): (SourceLine | undefined)[] {
  const lines: (SourceLine | undefined)[] = new Array(linked.insns.length).fill(undefined);
  for (const [l, pc] of placedRecords(linked, ext.lineInfo)) lines[pc] = sourceLine(l);
  return lines;
}

/** A line_info record (strings already resolved by `parseBtfExt`) as a SourceLine. */
export function sourceLine(l: Pick<LineInfo, 'fileName' | 'lineText' | 'line' | 'column'>): SourceLine {
  const s: SourceLine = { file: l.fileName, line: l.line, column: l.column };
  if (l.lineText) s.text = l.lineText;
  return s;
}
