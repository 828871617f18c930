// CO-RE through the object loader: a local "flavor" of task_struct with made-up offsets is relocated against
// the running kernel's BTF (offsets checked against the kernel BTF's members), and exec_logger's relocations
// (vmlinux.h) all resolve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { loadKernelBtf } from '../../src/btf/kernel.js';
import { loadObject } from '../../src/elf/object.js';
import { decodeProgram } from '../../src/isa/insn.js';
import { noExamples, readExample } from './examples.js';

const skip = noExamples ?? (existsSync('/sys/kernel/btf/vmlinux') ? undefined : 'no /sys/kernel/btf/vmlinux');

test('CO-RE relocations of a task_struct flavor get the kernel offsets', { skip }, () => {
  const bytes = readExample('core_flavor.bpf.o')!;
  const kernel = loadKernelBtf();
  const before = loadObject(bytes);
  const after = loadObject(bytes, { targetBtf: kernel });
  const results = after.core.get('raw_tp/sys_enter')!;
  assert.ok(results.length >= 4);
  const ts = kernel.findByName('task_struct', 'struct') as unknown as { members: { name: string; bitOffset: number }[] };
  const off = (n: string) => ts.members.find((m) => m.name === n)!.bitOffset / 8;
  const prog = after.spec.programs.find((p) => p.name === 'core_read_task')!;
  const orig = decodeProgram(before.elf.section('raw_tp/sys_enter')!.data, { validate: false });
  for (const r of results) {
    const field = r.access.split('.').pop()!;
    if (r.kindName === 'byte_off') {
      assert.equal(r.status, 'relocated');
      assert.equal(r.newValue, BigInt(off(field)), field);
      // The entry function starts at slot 0 of its section, so linked pc == section slot.
      const i = prog.insns[r.insnIndex]!;
      const cls = orig[r.insnIndex]!.code & 7; // ALU/ALU64/LD carry the offset in imm, loads in off
      const value = cls === 4 || cls === 7 || cls === 0 ? i.imm : i.off;
      assert.equal(value, off(field), `insn ${r.insnIndex} (${field})`);
      assert.notEqual(r.origValue, r.newValue);
    } else if (r.kindName === 'field_exists') {
      assert.equal(r.newValue, 0n);
    }
  }
  // Without a target the object's local offsets stay.
  assert.equal(before.core.size, 0);
});

test('exec_logger CO-RE relocations resolve against the kernel', { skip }, () => {
  const o = loadObject(readExample('exec_logger.bpf.o')!, { targetBtf: loadKernelBtf() });
  const results = [...o.core.values()].flat();
  assert.ok(results.length >= 2);
  for (const r of results) assert.equal(r.status, 'relocated', `${r.access}: ${r.reason ?? ''}`);
});
