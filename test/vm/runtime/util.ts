/** Test helpers: build ObjectSpecs from assembly (`rX = MAP(name) ll` / `rX = VALUE(name, off) ll` placeholders). */
import { assemble } from '../../../src/asm/index.js';
import { PseudoLd } from '../../../src/isa/opcodes.js';
import type { MapSpec } from '../../../src/spec/map.js';
import type { ObjectSpec, ProgramSpec } from '../../../src/spec/program.js';

const MARK = 0x7ff00000;

/** A program from LLVM-syntax assembly; `MAP(name)` / `VALUE(name,off)` in lddw lines refer to `maps`. */
export function asmProgram(name: string, type: number, text: string, maps: MapSpec[], extra: Partial<ProgramSpec> = {}): ProgramSpec {
  const refs: { map: string; value: boolean; off: number }[] = [];
  const src = text.replace(/(MAP|VALUE)\(([\w.]+)(?:,\s*(\d+))?\)/g, (_m, kind: string, map: string, off?: string) => {
    refs.push({ map, value: kind === 'VALUE', off: Number(off ?? 0) });
    return `0x${(MARK + refs.length - 1).toString(16)}`;
  });
  const insns = assemble(src, { syntax: 'llvm' });
  const references: ProgramSpec['references'] = [];
  insns.forEach((i, pc) => {
    if (i.code === 0x18 && i.imm >= MARK && i.imm < MARK + refs.length && i.src === 0) {
      const r = refs[i.imm - MARK];
      const idx = maps.findIndex((m) => m.name === r.map);
      if (idx < 0) throw new Error(`no map ${r.map}`);
      i.src = r.value ? PseudoLd.MAP_VALUE : PseudoLd.MAP_FD;
      i.imm = 0;
      insns[pc + 1].imm = r.off;
      references.push({ kind: 'map', pc, map: r.map, value: r.value, offset: r.value ? r.off : undefined });
    }
  });
  return { name, section: '', type, insns, references, license: 'GPL', ...extra };
}

/** An ObjectSpec of programs and maps. */
export function object(programs: ProgramSpec[], maps: MapSpec[] = []): ObjectSpec {
  return { programs, maps, license: 'GPL' };
}

/** A map spec. */
export function mapSpec(name: string, type: number, keySize: number, valueSize: number, maxEntries: number, extra: Partial<MapSpec> = {}): MapSpec {
  return { name, type, keySize, valueSize, maxEntries, flags: 0, ...extra };
}

/** An Ethernet + IPv4 + UDP frame. */
export function udpFrame(payload = 8): Uint8Array {
  const b = new Uint8Array(14 + 20 + 8 + payload);
  b.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]);
  b.set([0x45, 0, 0, 28 + payload, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  b.set([0x30, 0x39, 0x00, 0x35, 0, 8 + payload, 0, 0], 34);
  return b;
}
