/**
 * USDT probes: `.note.stapsdt` parsing and argument specs checked against binutils' `readelf` on a target
 * built with gcc and <sys/sdt.h> (a PIE executable and a shared library with a semaphore), the spec map value
 * layout checked against libbpf's own <bpf/usdt.bpf.h> compiled by clang, malformed notes refused, and
 * examples/usdt_probe.bpf.o run for real: auto-attached from its section and attached with attachUsdt, the
 * arguments read by bpf_usdt_arg() in the kernel compared with what the target passed, the semaphore counted
 * up only while attached (and only in the filtered process), everything gone after close; a plain program
 * without the spec map attached to every call site too.
 */
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ElfError, KernelError } from '../../src/errors.js';
import { parseElf } from '../../src/elf/reader.js';
import { parseUsdtArgs, x86RegOffset, aarch64RegOffset } from '../../src/elf/usdt-args.js';
import { readUsdtNotes, USDT_NOTE_SECTION } from '../../src/elf/usdt-notes.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { attachUsdt, UsdtLink } from '../../src/kernel/link/usdt.js';
import { decodeUsdtSpec, encodeUsdtSpec, USDT_SPEC_LAYOUTS, usdtSpecLayout } from '../../src/kernel/link/usdt-spec.js';
import { RingBuffer } from '../../src/kernel/ringbuf/reader.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { uprobes } from '../../src/kernel/features/probe.js';
import { counterProgram, hasTool, readU64, run, u32 } from './fixtures.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns } from '../../src/kernel/load/program.js';
import { MapType, ProgType } from '../../src/isa/uapi.js';
import { usdtTarget, type UsdtTarget } from './usdt-fixture.js';

const OBJECT = new URL('../../../examples/build/usdt_probe.bpf.o', import.meta.url).pathname;
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function target(t: TestContext): UsdtTarget | undefined {
  const r = usdtTarget();
  if ('skip' in r) {
    t.skip(r.skip);
    return undefined;
  }
  return r;
}

// ---- notes and argument specs vs readelf ---------------------------------------------------------------------

interface ReadelfNote {
  provider: string;
  name: string;
  location: number;
  base: number;
  semaphore: number;
  args: string;
}

/** `readelf -n` SDT notes. */
function readelfNotes(path: string): ReadelfNote[] {
  const r = run('readelf', ['-n', '--wide', path]);
  assert.equal(r.status, 0, r.stderr);
  const out: ReadelfNote[] = [];
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)/g;
  for (const m of r.stdout.matchAll(re)) {
    out.push({ provider: m[1]!, name: m[2]!, location: Number(m[3]), base: Number(m[4]), semaphore: Number(m[5]), args: m[6]!.trim() });
  }
  return out;
}

/** `readelf -SW` section address and file offset by name. */
function readelfSection(path: string, name: string): { addr: number; offset: number } {
  const r = run('readelf', ['-SW', path]);
  const line = r.stdout.split('\n').find((l) => l.includes(` ${name} `));
  assert.ok(line, `readelf shows no ${name} in ${path}`);
  const m = /\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line)!;
  return { addr: parseInt(m[1]!, 16), offset: parseInt(m[2]!, 16) };
}

/** `readelf -lW` LOAD segments. */
function readelfLoads(path: string): { offset: number; vaddr: number; memsz: number; exec: boolean }[] {
  const r = run('readelf', ['-lW', path]);
  return [...r.stdout.matchAll(/^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x[0-9a-f]+ 0x([0-9a-f]+) ([RWE ]+?)\s+0x/gm)].map((m) => ({
    offset: parseInt(m[1]!, 16),
    vaddr: parseInt(m[2]!, 16),
    memsz: parseInt(m[3]!, 16),
    exec: m[4]!.includes('E'),
  }));
}

test('USDT notes of a PIE executable and a shared library match readelf -n', (t) => {
  const tg = target(t);
  if (!tg) return;
  if (!hasTool('readelf')) return void t.skip('binutils readelf not installed');
  for (const path of [tg.exe, tg.lib]) {
    const bytes = readFileSync(path);
    const mine = readUsdtNotes(bytes);
    const theirs = readelfNotes(path);
    assert.ok(theirs.length > 0, `readelf finds notes in ${path}`);
    assert.equal(mine.kind, 'dyn', 'PIE and .so are ET_DYN');
    assert.equal(mine.arch, process.arch === 'arm64' ? 'aarch64' : 'x86_64');
    assert.deepEqual(
      mine.notes.map((n) => ({ provider: n.provider, name: n.name, location: n.location, base: n.base, semaphore: n.semaphore, args: n.args })),
      theirs,
    );
    // File offsets through readelf's LOAD segments; the probe site is a NOP in the file.
    const loads = readelfLoads(path);
    const baseSec = readelfSection(path, '.stapsdt.base');
    for (const n of mine.notes) {
      assert.equal(n.base, baseSec.addr, 'not prelinked: recorded base = .stapsdt.base address');
      assert.equal(n.address, n.location);
      const seg = loads.find((s) => s.vaddr <= n.location && n.location < s.vaddr + s.memsz)!;
      assert.ok(seg.exec, 'probe in an executable segment');
      assert.equal(n.fileOffset, n.location - seg.vaddr + seg.offset);
      assert.equal(bytes[n.fileOffset], 0x90, `${n.provider}:${n.name} site at file offset 0x${n.fileOffset.toString(16)} is a nop`);
      if (n.semaphore) {
        const probes = readelfSection(path, '.probes');
        assert.equal(n.semaphoreOffset, probes.offset + (n.semaphore - probes.addr), 'semaphore file offset in .probes');
      } else assert.equal(n.semaphoreOffset, 0);
    }
  }
  const exe = readUsdtNotes(readFileSync(tg.exe));
  assert.deepEqual(
    exe.notes.map((n) => `${n.provider}:${n.name}`),
    ['bpfkit:tick', 'bpfkit:tick'],
    'two tick call sites',
  );
  const lib = readUsdtNotes(readFileSync(tg.lib), { provider: 'bpfkit', name: 'gated' });
  assert.equal(lib.notes.length, 1);
  assert.ok(lib.notes[0]!.semaphore > 0, 'gated has a semaphore');
  assert.equal(readUsdtNotes(readFileSync(tg.lib), { provider: 'bpfkit', name: 'nope' }).notes.length, 0, 'filter');
});

test('argument specs of the built target parse to the registers and offsets they name', (t) => {
  const tg = target(t);
  if (!tg) return;
  if (process.arch !== 'x64') return void t.skip('the expectations below are for x86-64 code');
  const [tick1, tick2] = readUsdtNotes(readFileSync(tg.exe)).notes;
  // gcc -O0: i in memory off %rbp, &x in a register, -7 a constant; the second site passes the constant 99.
  const a = parseUsdtArgs(tick1!.args);
  assert.equal(a.length, 3);
  assert.deepEqual([a[0]!.kind, a[0]!.size, a[0]!.signed, a[0]!.register, a[0]!.regOffset], ['reg_deref', 4, true, 'rbp', x86RegOffset('rbp')]);
  assert.ok(a[0]!.value < 0n, 'stack slot below %rbp');
  assert.deepEqual([a[1]!.kind, a[1]!.size, a[1]!.signed], ['reg', 8, false]);
  assert.deepEqual([a[2]!.kind, a[2]!.size, a[2]!.signed, a[2]!.value], ['const', 8, true, -7n]);
  const b = parseUsdtArgs(tick2!.args);
  assert.deepEqual([b[0]!.kind, b[0]!.value, b[0]!.size, b[0]!.signed], ['const', 99n, 4, true]);
  const [gated] = readUsdtNotes(readFileSync(tg.lib)).notes;
  const g = parseUsdtArgs(gated!.args);
  assert.deepEqual(
    g.map((x) => [x.size, x.signed]),
    [
      [4, true],
      [2, true],
      [1, false],
      [8, false],
    ],
    `sizes and signedness of ${gated!.args}`,
  );
});

test('argument spec syntax: x86-64 (libbpf usdt.c forms) and aarch64', () => {
  const x = parseUsdtArgs('-4@-1204(%rbp) -4@%edi -8@-1216(%rbp) -8@%r8 -4@$5 -8@%r9 8@%rdx 8@%r10 -4@$-9 -2@%cx -2@%ax -1@%sil');
  assert.equal(x.length, 12);
  // struct pt_regs (x86-64): r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ip cs flags sp ss.
  assert.deepEqual(
    x.map((a) => [a.kind, a.size, a.signed, a.value, a.regOffset]),
    [
      ['reg_deref', 4, true, -1204n, 32],
      ['reg', 4, true, 0n, 112],
      ['reg_deref', 8, true, -1216n, 32],
      ['reg', 8, true, 0n, 72],
      ['const', 4, true, 5n, 0],
      ['reg', 8, true, 0n, 64],
      ['reg', 8, false, 0n, 96],
      ['reg', 8, false, 0n, 56],
      ['const', 4, true, -9n, 0],
      ['reg', 2, true, 0n, 88],
      ['reg', 2, true, 0n, 80],
      ['reg', 1, true, 0n, 104],
    ],
  );
  assert.deepEqual(
    parseUsdtArgs('8@(%rsp) 1@-96(%rbp,%rax,8) 2@(%rbx,%rcx) 8@%rip').map((a) => [a.kind, a.value, a.regOffset, a.indexRegOffset, a.scale]),
    [
      ['reg_deref', 0n, 152, undefined, undefined],
      ['sib', -96n, 32, 80, 8],
      ['sib', 0n, 40, 88, 1],
      ['reg', 0n, 128, undefined, undefined],
    ],
  );
  assert.deepEqual(parseUsdtArgs(''), []);
  assert.deepEqual(
    parseUsdtArgs('-4@[sp, 96] 8@x1 -4@5 4@[x29] 8@sp', 'aarch64').map((a) => [a.kind, a.value, a.regOffset, a.size, a.signed]),
    [
      ['reg_deref', 96n, 248, 4, true],
      ['reg', 0n, 8, 8, false],
      ['const', 5n, 0, 4, true],
      ['reg_deref', 0n, 232, 4, false],
      ['reg', 0n, 248, 8, false],
    ],
  );
  assert.equal(aarch64RegOffset('x31'), undefined);
  for (const [spec, why] of [
    ['3@%rax', /size 3/],
    ['8@%xmm0', /unknown x86_64 register 'xmm0'/],
    ['8@x(%rip)', /not a location/],
    ['8@$sym', /not a location/],
    ['%rax', /no size@location/],
    ['1@-96(%rbp,%rax,3)', /scale 3/],
    [Array(13).fill('8@%rax').join(' '), /13 arguments/],
  ] as const) {
    assert.throws(() => parseUsdtArgs(spec, 'x86_64', 'p:n'), (e: unknown) => e instanceof ElfError && why.test(e.message) && e.message.includes('p:n'), spec);
  }
  assert.throws(() => parseUsdtArgs('8@x40', 'aarch64'), ElfError);
});

test('prelink compensation; malformed .note.stapsdt notes are refused with ElfError', (t) => {
  const tg = target(t);
  if (!tg) return;
  const bytes = readFileSync(tg.exe);
  const sec = parseElf(bytes).section(USDT_NOTE_SECTION)!;
  const mutate = (f: (b: Buffer, at: number) => void): Buffer => {
    const b = Buffer.from(bytes);
    f(b, sec.offset);
    return b;
  };
  // descsz past the section end.
  assert.throws(() => readUsdtNotes(mutate((b, at) => b.writeUInt32LE(0x10000, at + 4))), (e: unknown) => e instanceof ElfError && /runs past the section end/.test(e.message));
  // descriptor too short for three addresses and three strings.
  assert.throws(() => readUsdtNotes(mutate((b, at) => b.writeUInt32LE(20, at + 4))), (e: unknown) => e instanceof ElfError && /too short/.test(e.message));
  // strings without their NULs: overwrite the descriptor's string area with 'A's.
  assert.throws(
    () =>
      readUsdtNotes(
        mutate((b, at) => {
          const namesz = b.readUInt32LE(at);
          const descsz = b.readUInt32LE(at + 4);
          const desc = at + 12 + Math.ceil(namesz / 4) * 4;
          b.fill(0x41, desc + 24, desc + descsz);
        }),
      ),
    (e: unknown) => e instanceof ElfError && /NUL-terminated/.test(e.message),
  );
  // A probe address in no loadable segment.
  assert.throws(
    () =>
      readUsdtNotes(
        mutate((b, at) => {
          const namesz = b.readUInt32LE(at);
          b.writeBigUInt64LE(0x7fff_0000_0000n, at + 12 + Math.ceil(namesz / 4) * 4);
        }),
      ),
    (e: unknown) => e instanceof ElfError && /in no loadable segment/.test(e.message),
  );
  // Prelink compensation: a note recording a base 0x10 below .stapsdt.base's address moves the probe up 0x10.
  const good = readUsdtNotes(bytes).notes[0]!;
  const shifted = readUsdtNotes(
    mutate((b, at) => {
      const namesz = b.readUInt32LE(at);
      const desc = at + 12 + Math.ceil(namesz / 4) * 4;
      b.writeBigUInt64LE(BigInt(good.base - 0x10), desc + 8);
    }),
  ).notes[0]!;
  assert.deepEqual([shifted.location, shifted.base, shifted.address, shifted.fileOffset], [good.location, good.base - 0x10, good.address + 0x10, good.fileOffset + 0x10]);
  // Notes of another owner / type are skipped, not misread.
  assert.equal(readUsdtNotes(mutate((b, at) => b.writeUInt32LE(7, at + 8))).notes.length, 1, 'one tick note left');
  // Not an executable: an eBPF object (ET_REL).
  if (existsSync(OBJECT)) assert.throws(() => readUsdtNotes(readFileSync(OBJECT)), (e: unknown) => e instanceof ElfError && /ET_EXEC or ET_DYN/.test(e.message));
});

test('spec map values match struct __bpf_usdt_spec of the installed <bpf/usdt.bpf.h> (clang layout)', (t) => {
  if (!hasTool('clang')) return void t.skip('clang not installed');
  if (!existsSync('/usr/include/bpf/usdt.bpf.h')) return void t.skip('libbpf-dev <bpf/usdt.bpf.h> not installed');
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-usdt-spec-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // One spec built by the C compiler from libbpf's own struct definitions.
  writeFileSync(
    join(dir, 'spec.c'),
    `#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/usdt.bpf.h>
const struct __bpf_usdt_spec the_spec = {
  .args = {
    { .val_off = (__u64)-8, .arg_type = BPF_USDT_ARG_REG_DEREF, .reg_off = 32, .arg_signed = 1, .arg_bitshift = 32 },
    { .val_off = 0, .arg_type = BPF_USDT_ARG_REG, .reg_off = 80, .arg_signed = 0, .arg_bitshift = 0 },
    { .val_off = (__u64)-7, .arg_type = BPF_USDT_ARG_CONST, .reg_off = 0, .arg_signed = 1, .arg_bitshift = 0 },
    { .val_off = 0, .arg_type = BPF_USDT_ARG_REG, .reg_off = 88, .arg_signed = 0, .arg_bitshift = 56 },
  },
  .usdt_cookie = 0x1122334455667788ULL,
  .arg_cnt = 4,
};
`,
  );
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  const march = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const r = run('clang', ['-O2', '-g0', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, `-I/usr/include/${march}-linux-gnu`, '-c', join(dir, 'spec.c'), '-o', join(dir, 'spec.o')]);
  if (r.status !== 0) return void t.skip(`cannot compile against <bpf/usdt.bpf.h>: ${r.stderr.split('\n')[0]}`);
  const elf = parseElf(readFileSync(join(dir, 'spec.o')));
  const rodata = elf.sections.find((s) => s.name.startsWith('.rodata'))!;
  const sym = elf.symbols.find((s) => s.name === 'the_spec')!;
  const cBytes = rodata.data.subarray(sym.value, sym.value + sym.size);
  const layout = usdtSpecLayout(sym.size);
  assert.ok(layout, `sizeof(struct __bpf_usdt_spec) = ${sym.size} is a known layout`);
  const mine = encodeUsdtSpec(parseUsdtArgs('-4@-8(%rbp) 8@%rax -8@$-7 1@%cl'), 0x1122334455667788n, layout!);
  assert.deepEqual(Buffer.from(mine).toString('hex'), Buffer.from(cBytes).toString('hex'));
  const back = decodeUsdtSpec(mine, layout!);
  assert.equal(back.cookie, 0x1122334455667788n);
  assert.deepEqual(
    back.args.map((a) => [a.type, a.value, a.regOffset, a.signed, a.bitshift]),
    [
      [2, -8n, 32, true, 32],
      [1, 0n, 80, false, 0],
      [0, -7n, 0, true, 0],
      [1, 0n, 88, false, 56],
    ],
  );
  // Scale-index-base arguments need the libbpf 1.7 layout.
  const sib = parseUsdtArgs('1@-96(%rbp,%rax,8)');
  assert.throws(() => encodeUsdtSpec(sib, 0n, USDT_SPEC_LAYOUTS[0]!), (e: unknown) => e instanceof KernelError && e.errnoName === 'EOPNOTSUPP');
  const v17 = decodeUsdtSpec(encodeUsdtSpec(sib, 0n, USDT_SPEC_LAYOUTS[1]!), USDT_SPEC_LAYOUTS[1]!);
  assert.deepEqual([v17.args[0]!.type, v17.args[0]!.regOffset, v17.args[0]!.indexRegOffset, v17.args[0]!.scaleShift, v17.args[0]!.value], [3, 32, 80, 3, -96n]);
});

// ---- the example in the kernel -------------------------------------------------------------------------------

interface UsdtEvent {
  probe: number;
  pid: number;
  argCnt: number;
  err: number;
  cookie: bigint;
  args: bigint[];
  deref: bigint;
}

function decodeEvent(b: Uint8Array): UsdtEvent {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return {
    probe: v.readUInt32LE(0),
    pid: v.readUInt32LE(4),
    argCnt: v.readInt32LE(8),
    err: v.readInt32LE(12),
    cookie: v.readBigUInt64LE(16),
    args: [0, 1, 2, 3].map((i) => v.readBigInt64LE(24 + i * 8)),
    deref: v.readBigInt64LE(56),
  };
}

/** A target child driven line by line: "ready", then one stdin byte per round. */
function spawnTarget(tg: UsdtTarget, rounds: number) {
  const child = spawn(tg.exe, [String(rounds)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', res));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', kill);
  cleanups.push(kill);
  const wait = async (re: RegExp, ms = 5000): Promise<RegExpMatchArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = out.match(re);
      if (m) return m;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`target: no ${re} (output: ${out})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { pid: child.pid!, wait, step: () => child.stdin.write('g'), exited, kill };
}

test('examples/usdt_probe.bpf.o: auto-attach and attachUsdt read the real arguments; semaphore; cleanup', async (t) => {
  const u = uprobes();
  if (!u.ok) return void t.skip(u.reason ?? 'no uprobes');
  const tg = target(t);
  if (!tg) return;
  if (!existsSync(OBJECT)) return void t.skip('usdt_probe.bpf.o not built (scripts/build-examples.sh needs clang and libbpf-dev)');
  // Per-site perf uprobes here (test/kernel/uprobe-multi.test.ts covers the one-link path, the default when the
  // kernel has uprobe_multi).
  const c = Collection.loadFile(OBJECT, { usdtUprobeMulti: false });
  cleanups.push(() => c.close());
  const rb = new RingBuffer(c.map('usdt_events'));
  cleanups.push(() => rb.close());
  const events: UsdtEvent[] = [];
  const drain = () => void rb.drain((r) => events.push(decodeEvent(r)));

  const N = 5;
  const a = spawnTarget(tg, N);
  const b = spawnTarget(tg, N); // same binary and library, not in the pid filter
  assert.equal((await a.wait(/ready sema=(\d+)/))[1], '0');
  assert.equal((await b.wait(/ready sema=(\d+)/))[1], '0');

  // on_tick from its section: usdt/bpfkit_usdt_target:bpfkit:tick, the bare name found through $PATH.
  const savedPath = process.env.PATH;
  process.env.PATH = `${tg.dir}${delimiter}${savedPath ?? ''}`;
  let tick: UsdtLink;
  try {
    tick = attachBySection(c.program('on_tick'), { pid: a.pid }) as UsdtLink;
  } finally {
    process.env.PATH = savedPath;
  }
  assert.ok(tick instanceof UsdtLink);
  const COOKIE = 0xfeedf00d_12345678n;
  const gated = attachUsdt(c.program('on_gated'), { binary: tg.lib, provider: 'bpfkit', name: 'gated', pid: a.pid, cookie: COOKIE });
  cleanups.push(() => tick.closeAsync(), () => gated.closeAsync());
  assert.equal(tick.sites.length, 2, 'two tick call sites');
  assert.equal(gated.sites.length, 1);
  assert.deepEqual(tick.sites.map((s) => s.specId).length, new Set(tick.sites.map((s) => s.specId)).size, 'distinct specs, distinct ids');

  // The kernel's view of each uprobe: the binary and the note's file offset.
  for (const s of [...tick.sites, ...gated.sites]) {
    const info = s.link.info()!;
    assert.equal(info.details.event_type, 'uprobe');
    assert.equal(info.details.offset, s.note.fileOffset);
    assert.match(String(info.details.name), /bpfkit_usdt_target|libbpfkit_usdt\.so/);
  }
  // The spec map holds what bpfkit wrote: cookie and argument count per spec id.
  const specs = c.map('__bpf_usdt_specs');
  const layout = usdtSpecLayout(specs.valueSize)!;
  for (const s of tick.sites) assert.equal(decodeUsdtSpec(specs.lookup(u32(s.specId))!, layout).args.length, 3);
  assert.equal(decodeUsdtSpec(specs.lookup(u32(gated.sites[0]!.specId))!, layout).cookie, COOKIE);

  a.step();
  b.step();
  const doneA = await a.wait(/done sema=(\d+) gated=(\d+)/);
  const doneB = await b.wait(/done sema=(\d+) gated=(\d+)/);
  assert.deepEqual([doneA[1], doneA[2]], ['1', String(N)], 'semaphore counted up in the attached process: every gated round fired');
  assert.deepEqual([doneB[1], doneB[2]], ['0', '0'], 'semaphore untouched in the process outside the pid filter');
  drain();
  assert.ok(
    events.every((e) => e.pid === a.pid),
    'only the filtered process hits',
  );

  const ticks = events.filter((e) => e.probe === 1);
  assert.equal(ticks.length, N + 1);
  let x = 1000n;
  const xAddr = ticks[0]!.args[1]!;
  assert.ok(xAddr > 0n, '&x is a user address');
  ticks.forEach((e, i) => {
    const last = i === N;
    if (!last) x += BigInt(i);
    assert.deepEqual(e.args.slice(0, 3), [last ? 99n : BigInt(i), xAddr, -7n], `tick #${i} arguments`);
    assert.equal(e.deref, x, `tick #${i}: *(&x) read from the target`);
    assert.equal(e.err, 0);
    assert.equal(e.argCnt, 3);
    assert.equal(e.cookie, 0n, 'no USDT cookie when auto-attached');
  });
  const gates = events.filter((e) => e.probe === 2);
  assert.equal(gates.length, N);
  gates.forEach((e, v) => {
    assert.deepEqual(e.args, [BigInt(v), BigInt(-v), BigInt(200 + v), BigInt(v) << 40n], `gated(${v}): int, short, unsigned char, u64`);
    assert.equal(e.argCnt, 4);
    assert.equal(e.cookie, COOKIE, 'bpf_usdt_cookie');
    assert.equal(e.err, 0);
    assert.equal(e.deref, -2n, 'bpf_usdt_arg beyond the count: -ENOENT');
  });

  // Detach: links gone from the kernel, semaphore back to 0, no more events.
  const linkIds = [...tick.links, ...gated.links].map((l) => l.info()!.id);
  await Promise.all([tick.closeAsync(), gated.closeAsync()]);
  assert.ok(tick.closed && gated.closed);
  for (const id of linkIds) assert.equal(tryOpenById('link', id), undefined, `link ${id} gone`);
  events.length = 0;
  a.step();
  const again = await a.wait(/again sema=(\d+) gated=(\d+)/);
  assert.deepEqual([again[1], again[2]], ['0', '0'], 'semaphore released on detach');
  drain();
  assert.equal(events.length, 0, 'no hits after detach');
  b.step();
  assert.equal(await a.exited, 0);
  assert.equal(await b.exited, 0);

  // Spec ids go back to the free list and are reused (no new slot taken).
  const used = new Set([...tick.sites, ...gated.sites].map((s) => s.specId));
  const again2 = attachUsdt(c.program('on_tick'), { binary: tg.exe, provider: 'bpfkit', name: 'tick' });
  cleanups.push(() => again2.closeAsync());
  assert.equal(again2.sites.length, 2);
  for (const s of again2.sites) assert.ok(used.has(s.specId), `spec id ${s.specId} reused from ${[...used]}`);
  await again2.closeAsync();
});

test('attachUsdt with a program that has no spec map (plain counter): every call site fires', async (t) => {
  const u = uprobes();
  if (!u.ok) return void t.skip(u.reason ?? 'no uprobes');
  const tg = target(t);
  if (!tg) return;
  const map = KernelMap.create({ name: 'bk_usdt_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  cleanups.push(() => map.close());
  const prog = loadInsns(ProgType.KPROBE, counterProgram(map.fd), { name: 'bk_usdt' });
  cleanups.push(() => prog.close());
  const child = spawnTarget(tg, 4);
  await child.wait(/ready/);
  const link = attachUsdt(prog, { binary: tg.exe, provider: 'bpfkit', name: 'tick', pid: child.pid });
  cleanups.push(() => link.closeAsync());
  child.step();
  await child.wait(/done/);
  await link.closeAsync();
  child.step();
  await child.wait(/again/);
  assert.equal(readU64(map.lookup(u32(0))), 4n + 1n, 'four loop ticks and the final one, none after close');
});

test('attach errors: unknown probe, bare SEC("usdt"), bad section target', (t) => {
  const u = uprobes();
  if (!u.ok) return void t.skip(u.reason ?? 'no uprobes');
  const tg = target(t);
  if (!tg) return;
  if (!existsSync(OBJECT)) return void t.skip('usdt_probe.bpf.o not built');
  const c = Collection.loadFile(OBJECT, { programs: ['on_gated'] });
  cleanups.push(() => c.close());
  const p = c.program('on_gated');
  assert.throws(() => attachUsdt(p, { binary: tg.exe, provider: 'bpfkit', name: 'nope' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && /no USDT probe bpfkit:nope/.test(e.message));
  assert.throws(() => attachUsdt(p, { binary: join(tg.dir, 'missing'), provider: 'bpfkit', name: 'tick' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  assert.throws(() => attachBySection(p), (e: unknown) => e instanceof KernelError && /USDT target/.test(e.message), 'SEC("usdt") names no target');
});
