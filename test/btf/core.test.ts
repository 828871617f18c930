// CO-RE: a clang-compiled program written against hand-made "old" kernel layouts is relocated against the running
// kernel's vmlinux BTF; every relocated value is compared with the real layout looked up independently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Btf, CORE_POISON_IMM, applyCoreRelocations, parseBtfExt, type BtfStruct, type CoreResult } from '../../src/btf/index.js';
import { Class, CoreReloKind, JmpOp, Size, decodeProgram, type Insn } from '../../src/isa/index.js';
import { parseElf } from '../../src/elf/index.js';

const fixture = fileURLToPath(new URL('../../../test/btf/fixtures/core_old.bpf.c', import.meta.url));
const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasClang = spawnSync('clang', ['--version']).status === 0;
const skip = !hasClang ? 'clang is not installed' : !existsSync(VMLINUX) ? 'no kernel BTF at /sys/kernel/btf/vmlinux' : false;

let dir = '';
let local: Btf;
let vmlinux: Btf;
let task: BtfStruct;
const progs = new Map<string, { insns: Insn[]; results: CoreResult[] }>();

function member(name: string) {
  const m = task.members.find((x) => x.name === name);
  assert.ok(m, `vmlinux task_struct has ${name}`);
  return m;
}
const offsetOf = (name: string) => member(name).bitOffset / 8;

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'bpfkit-core-'));
  const obj = join(dir, 'core_old.o');
  const r = spawnSync('clang', ['-target', 'bpf', '-O2', '-g', '-c', fixture, '-o', obj], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const elf = parseElf(readFileSync(obj));
  local = Btf.parse(elf.section('.BTF')!.data, { name: 'core_old.o' });
  const ext = parseBtfExt(elf.section('.BTF.ext')!.data, local);
  vmlinux = Btf.loadKernel();
  task = vmlinux.findByName('task_struct', 'struct') as BtfStruct;
  for (const [sec, relos] of ext.coreRelos) {
    const insns = decodeProgram(elf.section(sec)!.data);
    const results = applyCoreRelocations(insns, relos, local, vmlinux);
    progs.set(sec.replace(/^tp\//, ''), { insns, results });
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function prog(name: string) {
  const p = progs.get(name);
  assert.ok(p, `program ${name} has CO-RE relocations`);
  return p;
}

/** The value `r0 = imm` (mov or lddw) at slot 0 after relocation. */
function retValue(name: string): bigint {
  const { insns } = prog(name);
  const i = insns[0]!;
  if (i.code === 0x18) return (BigInt(insns[1]!.imm >>> 0) << 32n) | BigInt(i.imm >>> 0);
  assert.equal(i.code, Class.ALU64 | 0xb0, `${name}: slot 0 is a mov`);
  return BigInt(i.imm);
}

test('field offsets relocate to vmlinux task_struct layout', { skip }, () => {
  assert.equal(retValue('off_pid'), BigInt(offsetOf('pid')));
  assert.equal(retValue('off_tgid'), BigInt(offsetOf('tgid')));
  assert.equal(retValue('off_comm'), BigInt(offsetOf('comm')));
  assert.equal(retValue('off_real_parent'), BigInt(offsetOf('real_parent')));
  assert.equal(retValue('comm2'), BigInt(offsetOf('comm') + 2));
  const r = prog('off_pid').results[0]!;
  assert.equal(r.status, 'relocated');
  assert.equal(r.kindName, 'byte_off');
  assert.equal(r.access, 'task_struct___old.pid');
  assert.equal(r.typeName, 'struct task_struct___old');
  assert.equal(r.origValue, 20n);
  assert.equal(r.targetBtf, 'vmlinux');
  assert.equal(r.targetTypeId, task.id);
  assert.match(r.targetSpec!, new RegExp(`^\\[${task.id}\\] struct task_struct\\.pid \\(0:\\d+ @ offset ${offsetOf('pid')}\\)$`));
});

test('field sizes, existence and signedness', { skip }, () => {
  assert.equal(retValue('size_comm'), BigInt(vmlinux.sizeOf(member('comm').typeId)));
  assert.equal(retValue('size_flags'), BigInt(vmlinux.sizeOf(member('flags').typeId)));
  assert.equal(retValue('exists_pid'), 1n);
  assert.equal(retValue('exists_missing'), 0n);
  const pidType = vmlinux.resolveType(member('pid').typeId);
  assert.equal(retValue('signed_pid'), pidType.kind === 'int' && pidType.signed ? 1n : 0n);
});

test('a ___v1 flavor matches task_struct by its essential name', { skip }, () => {
  assert.equal(retValue('v1_off_pid'), BigInt(offsetOf('pid')));
  assert.equal(retValue('v1_off_tgid'), BigInt(offsetOf('tgid')));
  assert.equal(retValue('type_size_v1'), BigInt(task.size));
});

test('type exists / type ids', { skip }, () => {
  assert.equal(retValue('type_exists'), 1n);
  assert.equal(retValue('type_missing'), 0n);
  assert.equal(retValue('type_id_target'), BigInt(task.id));
  const localId = local.findByName('task_struct___old', 'struct')!.id;
  assert.equal(retValue('type_id_local'), BigInt(localId));
});

test('enum values and enum value existence', { skip }, () => {
  const e = vmlinux.findByName('pid_type', ['enum', 'enum64'])!;
  assert.ok(e.kind === 'enum');
  const val = (n: string) => BigInt(e.values.find((v) => v.name === n)!.value);
  assert.equal(retValue('enum_tgid'), val('PIDTYPE_TGID'));
  assert.equal(retValue('enum_sid'), val('PIDTYPE_SID'));
  assert.equal(retValue('enum_exists'), 1n);
  assert.equal(retValue('enum_missing'), 0n);
  const r = prog('enum_tgid').results[0]!;
  assert.equal(r.access, 'pid_type___old::PIDTYPE_TGID');
  assert.equal(r.origValue, 101n);
});

test('direct loads and stores get the kernel offsets; byte_sz changes shrink the load', { skip }, () => {
  const t = prog('read_tgid').insns[0]!;
  assert.equal(t.off, offsetOf('tgid'));
  assert.equal(t.code & 0x18, Size.W);
  const f = prog('read_flags').insns[0]!;
  assert.equal(f.off, offsetOf('flags'));
  assert.equal(vmlinux.sizeOf(member('flags').typeId), 4);
  assert.equal(f.code & 0x18, Size.W, 'u64 load of a kernel u32 becomes a 4-byte load');
  const pp = prog('parent_pid').insns;
  assert.equal(pp[0]!.off, offsetOf('real_parent'));
  assert.equal(pp[1]!.off, offsetOf('pid'));
  const w = prog('write_pid').insns.find((i) => (i.code & 7) === Class.STX)!;
  assert.equal(w.off, offsetOf('pid'));
});

test('unsatisfiable relocations become the poison call and are reported', { skip }, () => {
  const m = prog('read_missing');
  assert.deepEqual(m.insns[0], { code: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM });
  const r = m.results[0]!;
  assert.equal(r.status, 'poisoned');
  assert.equal(r.access, 'task_struct___old.does_not_exist');
  assert.equal(r.insnIndex, 0);
  assert.match(r.reason!, /no candidate|not found/);
  // Signed 8-byte local field vs signed 4-byte kernel field: the access size cannot be adjusted.
  const p = prog('read_prio');
  assert.equal(p.results[0]!.status, 'poisoned');
  assert.equal(p.insns[0]!.imm, CORE_POISON_IMM);
  assert.match(p.results[0]!.reason!, /size/);
});

test('bitfield relocations: byte offset/size and shifts from the kernel bit offset', { skip }, () => {
  const { results } = prog('bitfield');
  const m = member('sched_contributes_to_load');
  assert.equal(m.bitfieldSize, 1);
  const byId = (k: number) => results.find((r) => r.relo.kind === k)!;
  const bytes = vmlinux.sizeOf(m.typeId);
  const byteOff = Math.floor(m.bitOffset / 8 / bytes) * bytes;
  assert.equal(byId(CoreReloKind.FIELD_BYTE_OFFSET).newValue, BigInt(byteOff));
  assert.equal(byId(CoreReloKind.FIELD_BYTE_SIZE).newValue, BigInt(bytes));
  assert.equal(byId(CoreReloKind.FIELD_LSHIFT_U64).newValue, BigInt(64 - (m.bitOffset + 1 - byteOff * 8)));
  assert.equal(byId(CoreReloKind.FIELD_RSHIFT_U64).newValue, 63n);
  assert.equal(byId(CoreReloKind.FIELD_SIGNED).newValue, 0n);
  for (const r of results) assert.equal(r.status, 'relocated', `${r.kindName}: ${r.reason}`);
});

test('every relocation of the fixture was applied or deliberately poisoned', { skip }, () => {
  const all = [...progs.values()].flatMap((p) => p.results);
  assert.ok(all.length >= 30, `got ${all.length} relocations`);
  const poisoned = all.filter((r) => r.status !== 'relocated').map((r) => r.access);
  assert.deepEqual(poisoned.sort(), ['task_struct___old.does_not_exist', 'task_struct___old.prio']);
});
