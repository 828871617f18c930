/**
 * `bpfkit objdump FILE.o`: sections, programs, maps and the disassembly (llvm-objdump syntax) of an eBPF
 * object, with source lines from BTF line info; `--json` for machine-readable output.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MapType } from '../isa/uapi.js';
import { loadObject } from '../elf/object.js';
import { disassembleObject } from '../elf/disasm.js';
import { attachTypeName, progTypeName } from '../elf/sections.js';
import { SHT } from '../elf/reader.js';
import { inFile } from './files.js';

function mapTypeName(t: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === t) return k.toLowerCase();
  return `type_${t}`;
}

function sectionTypeName(t: number): string {
  for (const [k, v] of Object.entries(SHT)) if (v === t) return k;
  return `0x${t.toString(16)}`;
}

/** Register the `objdump` command. */
export function register(program: Command): void {
  program
    .command('objdump')
    .description('show the sections, programs, maps and disassembly of an eBPF ELF object')
    .argument('<file>', 'object file (clang -target bpf)')
    .option('--json', 'print JSON: {programs: [{name, section, type, insns: [{pc, hex, text}]}], maps: [...]}')
    .option('--no-source', 'do not interleave source lines')
    .action((file: string, opts: { json?: boolean; source: boolean }) => {
      const obj = inFile(file, () => loadObject(readFileSync(file)));
      const funcs = disassembleObject(obj);
      const { spec } = obj;
      if (opts.json) {
        const programs = spec.programs.map((p) => {
          const f = funcs.find((x) => x.program && x.name === p.name && x.section === p.section);
          return {
            name: p.name,
            section: p.section,
            type: progTypeName(p.type),
            attachType: p.expectedAttachType !== undefined ? attachTypeName(p.expectedAttachType) : undefined,
            attachTo: p.attachTo,
            insns: (f?.insns ?? []).map((i) => ({ pc: i.pc, hex: i.hex, text: i.text, ...(i.source ? { source: i.source } : {}) })),
          };
        });
        const maps = spec.maps.map((m) => ({
          name: m.name,
          type: mapTypeName(m.type),
          keySize: m.keySize,
          valueSize: m.valueSize,
          maxEntries: m.maxEntries,
          flags: m.flags,
          ...(m.inner ? { inner: m.inner.name } : {}),
          ...(m.initialSlots ? { initialSlots: m.initialSlots } : {}),
        }));
        const subprograms = funcs.filter((f) => !f.program).map((f) => ({ name: f.name, section: f.section, insns: f.insns.map((i) => ({ pc: i.pc, hex: i.hex, text: i.text })) }));
        process.stdout.write(JSON.stringify({ license: spec.license, programs, subprograms, maps }, null, 2) + '\n');
        return;
      }
      const out: string[] = [];
      out.push(`${file}: ${spec.programs.length} programs, ${spec.maps.length} maps, license "${spec.license}"`);
      out.push('', 'Sections:');
      out.push('  idx  name                                      type        size');
      for (const s of obj.elf.sections) {
        if (s.index === 0) continue;
        out.push(`  ${String(s.index).padStart(3)}  ${s.name.padEnd(40)}  ${sectionTypeName(s.type).padEnd(10)}  ${s.size}`);
      }
      out.push('', 'Programs:');
      for (const p of spec.programs) {
        const attach = [p.expectedAttachType !== undefined ? attachTypeName(p.expectedAttachType) : '', p.attachTo ?? ''].filter(Boolean).join(' ');
        out.push(`  ${p.name}  section=${p.section}  type=${progTypeName(p.type)}${attach ? '  attach=' + attach : ''}  insns=${p.insns.length}`);
      }
      out.push('', 'Maps:');
      for (const m of spec.maps) {
        out.push(`  ${m.name}  type=${mapTypeName(m.type)}  key=${m.keySize}  value=${m.valueSize}  max_entries=${m.maxEntries}  flags=0x${m.flags.toString(16)}`);
      }
      for (const f of funcs) {
        out.push('', `Disassembly of ${f.program ? 'program' : 'subprogram'} ${f.name} (section ${f.section}):`);
        for (const i of f.insns) {
          if (opts.source && i.source?.text) out.push(`; ${i.source.text}`);
          out.push(`${String(i.pc).padStart(6)}:\t${i.hex.match(/../g)!.join(' ')}\t${i.text}`);
        }
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}
