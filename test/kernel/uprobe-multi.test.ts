/**
 * uprobe_multi links on the running kernel: a gcc-built child calls libc getpid/getppid and three functions of
 * its own a known number of times; one link with per-symbol cookies counts exactly per cookie
 * (bpf_get_attach_cookie), glob patterns pick the right functions, uretprobes see the return value, the pid
 * filter leaves a second child uncounted, link info reports path/offsets/cookies, closing detaches, errors are
 * typed. USDT through one uprobe_multi link runs examples/usdt_probe.bpf.o (libbpf's usdt.bpf.h) for real.
 */
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelError } from '../../src/errors.js';
import { HelperId } from '../../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { PseudoLd } from '../../src/isa/opcodes.js';
import { AttachType, LinkType, MapType, ProgType } from '../../src/isa/uapi.js';
import { uprobeMulti, uprobes } from '../../src/kernel/features/probe.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { KernelProgram, loadInsns } from '../../src/kernel/load/program.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { readKernelObject } from '../../src/kernel/load/object-file.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { functionSymbols } from '../../src/kernel/link/elf-symbols.js';
import { resolveLibrary } from '../../src/kernel/link/libpath.js';
import { attachUprobeMulti, globMatch, resolveUprobeMultiSites, UprobeMultiLink } from '../../src/kernel/link/uprobe-multi.js';
import { attachUsdt, UsdtLink } from '../../src/kernel/link/usdt.js';
import { RingBuffer } from '../../src/kernel/ringbuf/reader.js';
import { hasTool, readU64, run, startHelper, u32, type HelperChild } from './fixtures.js';
import { usdtTarget } from './usdt-fixture.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// ---- pure parts -----------------------------------------------------------------------------------------------

test('globMatch follows libbpf glob_match (* and ? only)', () => {
  const yes: [string, string][] = [
    ['getpid', 'getpid'],
    ['getpid', 'get*'],
    ['getpid', '*pid'],
    ['getpid', '*'],
    ['', '*'],
    ['getppid', 'getp?id'],
    ['getppid', 'g*p*d'],
    ['abcabc', '*abc'],
    ['a*b', 'a*b'],
  ];
  const no: [string, string][] = [
    ['getpid', 'getp?id'],
    ['getpid', 'getpi'],
    ['getpid', 'x*'],
    ['', '?'],
    ['getpid', '[g]etpid'],
    ['abcab', '*abc'],
  ];
  for (const [t, p] of yes) assert.ok(globMatch(t, p), `${t} ~ ${p}`);
  for (const [t, p] of no) assert.ok(!globMatch(t, p), `${t} !~ ${p}`);
});

test('resolveUprobeMultiSites: names, patterns, offsets, and typed errors', () => {
  const libc = resolveLibrary('libc.so.6');
  const syms = functionSymbols(libc);
  const off = (n: string) => syms.find((s) => s.name === n)!.fileOffset;
  assert.deepEqual(resolveUprobeMultiSites(libc, { symbols: ['getpid', 'getppid'] }), [
    { symbol: 'getpid', offset: off('getpid') },
    { symbol: 'getppid', offset: off('getppid') },
  ]);
  const pat = resolveUprobeMultiSites(libc, { symbols: 'getpp*' });
  assert.ok(pat.some((s) => s.symbol === 'getppid' && s.offset === off('getppid')));
  assert.equal(new Set(pat.map((s) => s.offset)).size, pat.length, 'aliases deduplicated');
  assert.deepEqual(resolveUprobeMultiSites(libc, { offsets: [0x1234] }), [{ offset: 0x1234 }]);
  const isErr = (name: string, re: RegExp) => (e: unknown) => e instanceof KernelError && e.errnoName === name && re.test(e.message);
  assert.throws(() => resolveUprobeMultiSites(libc, { symbols: ['getpid', 'bpfkit_no_such_fn'] }), isErr('ENOENT', /bpfkit_no_such_fn/));
  assert.throws(() => resolveUprobeMultiSites(libc, { symbols: 'bpfkit_none_*' }), isErr('ENOENT', /matches bpfkit_none_\*/));
  assert.throws(() => resolveUprobeMultiSites(libc, { symbols: ['getpid'], offsets: [1] }), isErr('EINVAL', /not both/));
  assert.throws(() => resolveUprobeMultiSites(libc, { symbols: ['getpid'], cookies: [1n, 2n] }), isErr('EINVAL', /2 cookies for 1 sites/));
  assert.throws(() => resolveUprobeMultiSites(libc, { symbols: 'get*', cookies: [1n] }), isErr('EINVAL', /explicit symbol list/));
  assert.throws(() => resolveUprobeMultiSites(libc, {}), isErr('EINVAL', /give symbols/));
});

// ---- the real kernel ------------------------------------------------------------------------------------------

const CHILD_C = String.raw`
#include <stdlib.h>
#include <unistd.h>
#define F(name, k) __attribute__((noinline)) int name(int x) { __asm__ volatile("" ::: "memory"); return x + k; }
F(bk_um_fa, 1)
F(bk_um_fb, 2)
F(bk_um_gc, 3)
/* bk_um N_getpid N_getppid N_fa N_fb N_gc: prints "ready", waits for a byte, makes the calls, prints "done". */
int main(int argc, char **argv) {
  char c;
  volatile int acc = 0;
  long n[5];
  if (argc < 6) return 2;
  for (int i = 0; i < 5; i++) n[i] = atol(argv[i + 1]);
  if (write(1, "ready\n", 6) != 6) return 3;
  if (read(0, &c, 1) != 1) return 4;
  for (long i = 0; i < n[0]; i++) getpid();
  for (long i = 0; i < n[1]; i++) getppid();
  for (long i = 0; i < n[2]; i++) acc = bk_um_fa(acc);
  for (long i = 0; i < n[3]; i++) acc = bk_um_fb(acc);
  for (long i = 0; i < n[4]; i++) acc = bk_um_gc(acc);
  if (write(1, "done\n", 5) != 5) return 5;
  return 0;
}
`;

let childExe: string | undefined;
let childError: string | undefined;

function childBinary(): string | { skip: string } {
  if (childExe) return childExe;
  if (childError) return { skip: childError };
  if (!hasTool('gcc')) return { skip: (childError = 'gcc not installed (needed to build the uprobe target)') };
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-umulti-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bk_um.c'), CHILD_C);
  const exe = join(dir, 'bk_um');
  const r = run('gcc', ['-O1', '-o', exe, join(dir, 'bk_um.c')]);
  if (r.status !== 0) return { skip: (childError = `cannot build the uprobe target: ${r.stderr.trim().split('\n')[0]}`) };
  return (childExe = exe);
}

/** Skip unless the kernel has uprobe_multi and the target builds; returns the target path. */
function ready(t: TestContext): string | undefined {
  const f = uprobeMulti();
  if (!f.ok) return void t.skip(f.reason ?? 'no uprobe_multi');
  const exe = childBinary();
  if (typeof exe !== 'string') return void t.skip(exe.skip);
  return exe;
}

async function spawnChild(exe: string, counts: [number, number, number, number, number]): Promise<HelperChild> {
  const c = await startHelper(exe, counts.map(String));
  cleanups.push(() => c.kill());
  return c;
}

async function runToEnd(c: HelperChild): Promise<void> {
  c.go();
  const r = await c.done();
  assert.equal(r.status, 0, `child: ${r.stderr}`);
  assert.match(r.stdout, /done/);
}

const SLOTS = 16;
/** Slot of the counts map where the retval program stores the last return value (ctx->ax / regs[0]). */
const RET_SLOT = 15;
const RET_OFFSET: number | undefined = process.arch === 'x64' ? 80 : process.arch === 'arm64' ? 0 : undefined;

/** counts[(u32)bpf_get_attach_cookie()] += 1; with `retval`, counts[RET_SLOT] = return register. */
function cookieCounter(mapFd: number, retval: boolean): Insn[] {
  const lookup = (): Insn[] => [...lddw(1, mapFd, PseudoLd.MAP_FD), insn(0xbf, 2, 10), insn(0x07, 2, 0, 0, -4), insn(0x85, 0, 0, 0, HelperId.map_lookup_elem!)];
  const out: Insn[] = [
    insn(0xbf, 6, 1), // r6 = ctx
    insn(0x85, 0, 0, 0, HelperId.get_attach_cookie!),
    insn(0x63, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = r0
    ...lookup(),
    insn(0x15, 0, 0, 2, 0),
    insn(0xb7, 1, 0, 0, 1),
    insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
  ];
  if (retval && RET_OFFSET !== undefined) {
    out.push(insn(0x62, 10, 0, -4, RET_SLOT), ...lookup(), insn(0x15, 0, 0, 2, 0), insn(0x79, 1, 6, RET_OFFSET), insn(0x7b, 0, 1, 0, 0));
  }
  out.push(insn(0xb7, 0, 0, 0, 0), insn(0x95));
  return out;
}

function counter(opts: { retval?: boolean; expectedAttachType?: number } = {}): { prog: KernelProgram; map: KernelMap; count(slot: number): bigint } {
  const map = KernelMap.create({ name: 'bk_umulti_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: SLOTS, flags: 0 });
  cleanups.push(() => map.close());
  const prog = loadInsns(ProgType.KPROBE, cookieCounter(map.fd, !!opts.retval), { name: 'bk_umulti', expectedAttachType: 'expectedAttachType' in opts ? opts.expectedAttachType : AttachType.TRACE_UPROBE_MULTI });
  cleanups.push(() => prog.close());
  return { prog, map, count: (slot) => readU64(map.lookup(u32(slot))) };
}

test('features.uprobeMulti: probed with a reason', () => {
  const f = uprobeMulti();
  assert.equal(typeof f.ok, 'boolean');
  if (!f.ok) assert.match(f.reason ?? '', /uprobe_multi|UPROBE_MULTI/);
  assert.equal(uprobeMulti(), f, 'cached');
});

test('one link on libc getpid + getppid: per-symbol cookies count exactly, pid filter, link info, close', async (t) => {
  const exe = ready(t);
  if (!exe) return;
  const { prog, count } = counter();
  const a = await spawnChild(exe, [7, 3, 0, 0, 0]);
  const b = await spawnChild(exe, [11, 13, 0, 0, 0]); // same calls, outside the pid filter
  const link = attachUprobeMulti(prog, { binary: 'libc.so.6', symbols: ['getpid', 'getppid'], cookies: [1n, 2n], pid: a.pid });
  cleanups.push(() => link.close());
  assert.ok(link instanceof UprobeMultiLink);
  assert.equal(link.kind, 'uprobe.multi');
  assert.match(link.target, /libc\.so\.6:getpid,getppid$/);

  const info = link.info();
  assert.equal(info.type, LinkType.UPROBE_MULTI);
  assert.equal(info.typeName, 'uprobe_multi');
  assert.equal(info.progId, prog.id);
  assert.equal(info.details.count, 2);
  assert.equal(info.details.pid, a.pid);
  assert.equal(info.details.path, realpathSync(link.path));
  const um = info.uprobeMulti;
  assert.ok(um, 'uprobe_multi link info (Linux 6.8+)');
  assert.equal(um.path, realpathSync(link.path));
  assert.deepEqual(um.offsets, link.offsets);
  assert.deepEqual(um.cookies, [1n, 2n]);
  assert.deepEqual(um.refCtrOffsets, [0, 0]);
  assert.equal(um.pid, a.pid);
  assert.equal(um.retprobe, false);

  await runToEnd(a);
  await runToEnd(b);
  assert.equal(count(1), 7n, 'getpid calls of the filtered child (cookie 1)');
  assert.equal(count(2), 3n, 'getppid calls (cookie 2)');
  assert.equal(count(0), 0n, 'no site without a cookie');

  const id = info.id;
  link.close();
  assert.ok(link.closed);
  assert.equal(tryOpenById('link', id), undefined, 'link gone after close');
  // A new filtered child after close: nothing more counted.
  const c = await spawnChild(exe, [5, 5, 0, 0, 0]);
  await runToEnd(c);
  assert.deepEqual([count(1), count(2)], [7n, 3n], 'no hits after close');
});

test('glob patterns over the target\'s own functions; uprobe.multi section auto-attach', async (t) => {
  const exe = ready(t);
  if (!exe) return;
  const { prog, count } = counter();
  const child = await spawnChild(exe, [0, 0, 4, 5, 6]);
  const fx = attachUprobeMulti(prog, { binary: exe, symbols: 'bk_um_f?', pid: child.pid });
  cleanups.push(() => fx.close());
  assert.deepEqual(fx.sites.map((s) => s.symbol).sort(), ['bk_um_fa', 'bk_um_fb']);
  assert.equal(fx.info().uprobeMulti?.count, 2);

  // The same program from a libbpf section name: uprobe.multi/<binary>:<pattern>.
  const spec = { name: 'bk_umulti_sec', section: `uprobe.multi/${exe}:bk_um_*`, type: ProgType.KPROBE, expectedAttachType: AttachType.TRACE_UPROBE_MULTI, insns: prog.spec!.insns, references: [], license: 'GPL' };
  const secProg = KernelProgram.load(spec);
  cleanups.push(() => secProg.close());
  const all = attachBySection(secProg, { pid: child.pid }) as UprobeMultiLink;
  cleanups.push(() => all.close());
  assert.ok(all instanceof UprobeMultiLink);
  assert.deepEqual(all.sites.map((s) => s.symbol).sort(), ['bk_um_fa', 'bk_um_fb', 'bk_um_gc']);

  await runToEnd(child);
  assert.equal(count(0), 4n + 5n + (4n + 5n + 6n), 'fa+fb through the pattern link, fa+fb+gc through the section link');
  fx.close();
  all.close();
});

test('uretprobe.multi: return values seen, BPF_F_UPROBE_MULTI_RETURN reported', async (t) => {
  const exe = ready(t);
  if (!exe) return;
  const { prog, count } = counter({ retval: true });
  const child = await spawnChild(exe, [3, 0, 0, 0, 0]);
  const link = attachUprobeMulti(prog, { binary: 'libc.so.6', symbols: ['getpid'], cookies: [4n], pid: child.pid, retprobe: true });
  cleanups.push(() => link.close());
  assert.equal(link.kind, 'uretprobe.multi');
  const um = link.info().uprobeMulti!;
  assert.equal(um.retprobe, true);
  assert.equal(um.flags & 1, 1);
  await runToEnd(child);
  assert.equal(count(4), 3n, 'three returns from getpid');
  if (RET_OFFSET !== undefined) assert.equal(count(RET_SLOT), BigInt(child.pid), 'getpid() returned the child pid');
  link.close();
});

test('attach errors are typed: bad symbol, bad binary, wrong attach type, no such process', (t) => {
  const exe = ready(t);
  if (!exe) return;
  const { prog } = counter();
  const isErr = (name: string, re?: RegExp) => (e: unknown) => e instanceof KernelError && e.errnoName === name && (!re || re.test(e.message));
  assert.throws(() => attachUprobeMulti(prog, { binary: 'libc.so.6', symbols: ['getpid', 'bpfkit_nope'] }), isErr('ENOENT', /bpfkit_nope/));
  assert.throws(() => attachUprobeMulti(prog, { binary: exe, symbols: 'nothing_like_this*' }), isErr('ENOENT'));
  assert.throws(() => attachUprobeMulti(prog, { binary: '/nonexistent/bk', symbols: ['f'] }), isErr('ENOENT'));
  const plain = counter({ expectedAttachType: undefined });
  assert.throws(() => attachUprobeMulti(plain.prog, { binary: exe, symbols: ['bk_um_fa'] }), isErr('EINVAL', /TRACE_UPROBE_MULTI/));
  // pid 0x3fffffff: no such process.
  assert.throws(() => attachUprobeMulti(prog, { binary: exe, symbols: ['bk_um_fa'], pid: 0x3fffffff }), isErr('ESRCH'));
});

// ---- USDT through one uprobe_multi link -----------------------------------------------------------------------

const OBJECT = new URL('../../../examples/build/usdt_probe.bpf.o', import.meta.url).pathname;

test('attachUsdt with a TRACE_UPROBE_MULTI program: one link for every call site, spec cookies, semaphore', async (t) => {
  if (!uprobes().ok) return void t.skip('no uprobes');
  if (!ready(t)) return;
  const tg = usdtTarget();
  if ('skip' in tg) return void t.skip(tg.skip);
  if (!existsSync(OBJECT)) return void t.skip('usdt_probe.bpf.o not built (scripts/build-examples.sh needs clang and libbpf-dev)');
  // The loader gives usdt programs BPF_TRACE_UPROBE_MULTI by itself on a kernel with uprobe_multi (as libbpf does).
  const c = Collection.load(readKernelObject(OBJECT).spec);
  cleanups.push(() => c.close());
  for (const n of ['on_tick', 'on_gated']) assert.equal(c.program(n).expectedAttachType, AttachType.TRACE_UPROBE_MULTI, n);
  const rb = new RingBuffer(c.map('usdt_events'));
  cleanups.push(() => rb.close());
  const events: { probe: number; pid: number; cookie: bigint; args: bigint[] }[] = [];
  const drain = () =>
    void rb.drain((r) => {
      const v = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
      events.push({ probe: v.readUInt32LE(0), pid: v.readUInt32LE(4), cookie: v.readBigUInt64LE(16), args: [0, 1, 2, 3].map((i) => v.readBigInt64LE(24 + i * 8)) });
    });

  const N = 4;
  const a = await startHelper(tg.exe, [String(N)], { ready: /ready sema=0/ });
  cleanups.push(() => a.kill());
  const COOKIE = 0x1234_5678_9abcn;
  const tick = attachUsdt(c.program('on_tick'), { binary: tg.exe, provider: 'bpfkit', name: 'tick', pid: a.pid });
  const gated = attachUsdt(c.program('on_gated'), { binary: tg.lib, provider: 'bpfkit', name: 'gated', pid: a.pid, cookie: COOKIE });
  cleanups.push(() => tick.close(), () => gated.close());
  assert.ok(tick instanceof UsdtLink && tick.multi && gated.multi, 'uprobe_multi used');
  assert.equal(tick.sites.length, 2);
  assert.equal(tick.links.length, 1, 'one link for both call sites');
  const link = tick.links[0] as UprobeMultiLink;
  const um = link.info().uprobeMulti!;
  assert.deepEqual(um.offsets, tick.sites.map((s) => s.note.fileOffset));
  assert.deepEqual(um.cookies, tick.sites.map((s) => BigInt(s.specId)), 'spec ids as BPF cookies');
  assert.equal(um.pid, a.pid);
  const gum = (gated.links[0] as UprobeMultiLink).info().uprobeMulti!;
  assert.deepEqual(gum.refCtrOffsets, gated.sites.map((s) => s.note.semaphoreOffset));
  assert.ok(gum.refCtrOffsets[0]! > 0, 'semaphore offset passed');

  a.go();
  const out = await a.done();
  // go() sends one byte and EOF: the target runs its round twice ("done", then "again"), both attached.
  assert.match(out.stdout, new RegExp(`done sema=1 gated=${N}`), 'semaphore counted by the kernel');
  assert.match(out.stdout, new RegExp(`again sema=1 gated=${N}`));
  drain();
  assert.ok(events.every((e) => e.pid === a.pid));
  const ticks = events.filter((e) => e.probe === 1);
  const round = [0n, 1n, 2n, 3n, 99n];
  assert.deepEqual(ticks.map((e) => e.args[0]), [...round, ...round], 'tick(i) from both call sites, args via bpf_usdt_arg');
  const gates = events.filter((e) => e.probe === 2);
  assert.equal(gates.length, 2 * N);
  gates.forEach((e, i) => {
    const v = i % N;
    assert.equal(e.cookie, COOKIE);
    assert.deepEqual(e.args.slice(0, 3), [BigInt(v), BigInt(-v), BigInt(200 + v)]);
  });
  const id = link.info().id;
  tick.close();
  gated.close();
  assert.equal(tryOpenById('link', id), undefined);

  // A program loaded without TRACE_UPROBE_MULTI keeps one perf-event uprobe per call site.
  const plain = counter({ expectedAttachType: undefined });
  const perSite = attachUsdt(plain.prog, { binary: tg.exe, provider: 'bpfkit', name: 'tick', pid: process.pid });
  cleanups.push(() => perSite.closeAsync());
  assert.equal(perSite.multi, false);
  assert.equal(perSite.links.length, 2);
  assert.ok(perSite.links.every((l) => l.kind === 'usdt'));
  await perSite.closeAsync();
});
