// Regression tests from a correctness review of the userspace runtime's helpers. Expected values were taken from
// the kernel (Linux 6.18, BPF_PROG_TEST_RUN of the same programs written in C and compiled with clang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, ProgType, Uapi } from '../../../src/isa/uapi.js';
import { loadCollection } from '../../../src/vm/collection.js';
import { HashMap, LpmTrieMap, QueueStackMap, u32Key } from '../../../src/vm/maps/index.js';
import { VmMemory } from '../../../src/vm/memory.js';
import type { HelperCallContext } from '../../../src/vm/api.js';
import { bpfFormat } from '../../../src/vm/helpers/index.js';
import { asmProgram, mapSpec, object, udpFrame } from './util.js';

/** A read-only `.rodata` array map holding `parts` back to back; returns the spec and each part's offset. */
function rodata(parts: string[]): { spec: ReturnType<typeof mapSpec>; offs: number[] } {
  const offs: number[] = [];
  let text = '';
  for (const p of parts) {
    offs.push(text.length);
    text += p + '\0';
  }
  const value = new TextEncoder().encode(text);
  const spec = mapSpec('.rodata', MapType.ARRAY, 4, value.length, 1, { flags: Uapi.BPF_F_RDONLY_PROG, contents: [{ key: u32Key(0), value }] });
  return { spec, offs };
}

/** snprintf(out[8], 8, fmt, args, 8 * args.length); a string arg is passed as the address of a copy in .rodata. */
function snprintfRun(fmt: string, args: (string | bigint)[]): { ret: bigint; out: string } {
  const strings = args.filter((a): a is string => typeof a === 'string');
  const { spec, offs } = rodata([fmt, ...strings]);
  const n = args.length;
  const lines: string[] = [];
  let si = 0;
  args.forEach((a, k) =>
    lines.push(typeof a === 'string' ? `r1 = VALUE(.rodata, ${offs[++si]}) ll` : `r1 = 0x${a.toString(16)} ll`, `*(u64 *)(r10 - ${8 * (n - k)}) = r1`),
  );
  lines.push(
    'r1 = r10',
    `r1 += -${8 * n + 8}`,
    'r2 = 8',
    `r3 = VALUE(.rodata, ${offs[0]}) ll`,
    'r4 = r10',
    `r4 += -${8 * n}`,
    `r5 = ${8 * n}`,
    'call bpf_snprintf',
    'r6 = r0',
    // Return the first output byte in bits 32..39 so the output is checked too.
    `r1 = *(u8 *)(r10 - ${8 * n + 8})`,
    'r1 <<= 32',
    'r0 = r6',
    'r0 |= r1',
    'exit',
  );
  const p = asmProgram('snp', ProgType.RAW_TRACEPOINT, lines.join('\n'), [spec]);
  const r = loadCollection(object([p], [spec])).run('snp').retval64;
  const ret = BigInt.asIntN(32, r & 0xffffffffn);
  return { ret, out: String.fromCharCode(Number((r >> 32n) & 0xffn)) };
}

test('snprintf reads a format string that sits near the end of a short .rodata (no fixed-size window)', () => {
  // Before the fix the format was read as a 1024-byte window and this faulted (".rodata is 7 bytes long").
  const { ret, out } = snprintfRun('n=%s', ['xy']);
  assert.equal(ret, 5n, 'strlen("n=xy") + 1');
  assert.equal(out, 'n');
});

test('snprintf %s: a long string is cut where the kernel`s 512-byte argument buffer ends', () => {
  // Kernel: one %s of 700 chars -> 512 (511 chars + NUL); "%s|%s" of 300 + 300 -> 300 + 1 + 210 + 1 = 512.
  assert.equal(snprintfRun('%s', ['a'.repeat(700)]).ret, 512n);
  assert.equal(snprintfRun('%s|%s', ['b'.repeat(300), 'b'.repeat(300)]).ret, 512n);
  assert.equal(snprintfRun('%s', ['b'.repeat(300)]).ret, 301n);
  // Buffer exactly full after the first string (511 chars + NUL): the next %s has no room at all -> -ENOSPC.
  assert.equal(snprintfRun('%s%s', ['c'.repeat(600), 'd']).ret, -BigInt(28));
});

test('xdp_load_bytes / xdp_store_bytes: offset above 0xffff is -EFAULT (past the end but below is -EINVAL)', () => {
  const prog = (name: string, helper: string, off: number) =>
    asmProgram(
      name,
      ProgType.XDP,
      `r2 = ${off}
r3 = r10
r3 += -8
r4 = 4
call ${helper}
exit`,
      [],
    );
  const c = loadCollection(
    object([
      prog('lb_big', 'bpf_xdp_load_bytes', 0x10000),
      prog('sb_big', 'bpf_xdp_store_bytes', 0x10000),
      prog('lb_end', 'bpf_xdp_load_bytes', 0x1000),
      prog('lb_ok', 'bpf_xdp_load_bytes', 0),
    ]),
  );
  const run = (name: string) => BigInt.asIntN(64, c.run(name, { packet: udpFrame() }).retval64);
  assert.equal(run('lb_big'), -14n, 'kernel: bpf_xdp_pointer refuses offset > 0xffff with EFAULT');
  assert.equal(run('sb_big'), -14n);
  assert.equal(run('lb_end'), -22n);
  assert.equal(run('lb_ok'), 0n);
});

test('bpf printf: string room and unreadable %pI4 as the kernel (bpfFormat directly)', () => {
  const mem = new VmMemory();
  const c: HelperCallContext = { mem, pc: 0, env: {}, vm: undefined as never, callSubprogram: () => 0n, tailCall: () => false };
  const long = mem.map(new TextEncoder().encode('e'.repeat(1000) + '\0'), { writable: false, kind: 'mem' });
  const f = (fmt: string, ...args: bigint[]) => bpfFormat(c, fmt, args, 12);
  assert.equal((f('%s', long) as string).length, 511, 'a %s gets at most 511 characters');
  // A 4-byte %d first (aligned to 4) leaves 507 characters for the string.
  assert.equal((f('%d%s', 7n, long) as string).length, 1 + 507);
});

test('snprintf %pI4 / %pi6 of an unreadable address print zeros, as the kernel (not "(null)")', () => {
  // Kernel: "%pI4" of address 0x10 -> "0.0.0.0", snprintf returns 8.
  assert.deepEqual(snprintfRun('%pI4', [0x10n]), { ret: 8n, out: '0' });
  assert.deepEqual(snprintfRun('%pi6', [0x10n]), { ret: 33n, out: '0' });
});

test('ctx rewrite: misaligned or partial loads of xdp_md.data / data_end are refused, shifted bases are rewritten', () => {
  const load = (name: string, text: string) => loadCollection(object([asmProgram(name, ProgType.XDP, text, [])]));
  for (const [what, text] of [
    ['u32 at data+2', 'r0 = *(u32 *)(r1 + 2)\nexit'],
    ['u16 at data+2', 'r0 = *(u16 *)(r1 + 2)\nexit'],
    ['u16 at data_end', 'r0 = *(u16 *)(r1 + 4)\nexit'],
    ['u8 at data_end+3', 'r0 = *(u8 *)(r1 + 7)\nexit'],
    ['u64 over data and data_end', 'r0 = *(u64 *)(r1 + 0)\nexit'],
    ['u32 at data+2 through r1 += 2', 'r1 += 2\nr0 = *(u32 *)(r1 + 0)\nexit'],
    ['u32 at data_end+1 through a spilled r1 + 5', 'r1 += 5\n*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit'],
  ] as const) {
    assert.throws(() => load('bad', text), /xdp_md|crosses|4-byte load/, what);
  }
  // data_end - data through a base moved by +4 and an offset of -4: still the real pointers.
  const c = load('ok', 'r2 = r1\nr2 += 4\nr3 = *(u32 *)(r2 - 4)\nr4 = *(u32 *)(r2 + 0)\nr0 = r4\nr0 -= r3\nexit');
  const pkt = udpFrame();
  assert.equal(c.run('ok', { packet: pkt }).retval, pkt.length);
});

test('maps: LPM prefixlen > max and the default route, hash full, LRU order, queue/stack errnos (as the kernel)', () => {
  const lpm = new LpmTrieMap(mapSpec('lpm', MapType.LPM_TRIE, 8, 4, 8, { flags: Uapi.BPF_F_NO_PREALLOC }));
  const key = (plen: number, ...ip: number[]) => Uint8Array.of(plen, 0, 0, 0, ...ip);
  lpm.update(key(0, 0, 0, 0, 0), Uint8Array.of(1, 0, 0, 0));
  lpm.update(key(8, 10, 0, 0, 0), Uint8Array.of(2, 0, 0, 0));
  assert.deepEqual(lpm.lookup(key(32, 10, 1, 2, 3)), Uint8Array.of(2, 0, 0, 0));
  assert.deepEqual(lpm.lookup(key(32, 11, 1, 2, 3)), Uint8Array.of(1, 0, 0, 0), 'prefixlen 0 is the default route');
  // Kernel (bpftool on an lpm_trie key 8): lookup with prefixlen 33 -> not found, update -> EINVAL.
  assert.equal(lpm.lookup(key(33, 10, 1, 2, 3)), undefined);
  assert.equal(lpm.updateElem(key(33, 10, 0, 0, 0), Uint8Array.of(3, 0, 0, 0), 0), -22);

  const h = new HashMap(mapSpec('h', MapType.HASH, 4, 4, 2));
  assert.equal(h.updateElem(u32Key(1), u32Key(0), 0, 0), 0);
  assert.equal(h.updateElem(u32Key(2), u32Key(0), 0, 0), 0);
  assert.equal(h.updateElem(u32Key(3), u32Key(0), 0, 0), -7, 'full: E2BIG');
  assert.equal(h.updateElem(u32Key(3), u32Key(0), Uapi.BPF_EXIST, 0), -2, 'EXIST on an absent key of a full map: ENOENT first');
  assert.equal(h.updateElem(u32Key(1), u32Key(9), 0, 0), 0, 'replacing in a full map works');

  const lru = new HashMap(mapSpec('l', MapType.LRU_HASH, 4, 4, 2));
  lru.updateElem(u32Key(1), u32Key(0), 0, 0);
  lru.updateElem(u32Key(2), u32Key(0), 0, 0);
  lru.findValue(u32Key(1), 0, true); // a program lookup refreshes key 1
  lru.updateElem(u32Key(3), u32Key(0), 0, 0);
  assert.deepEqual(lru.lruOrder(), [u32Key(1), u32Key(3)], 'key 2 (least recently used) was evicted');

  const q = new QueueStackMap(mapSpec('q', MapType.QUEUE, 0, 4, 1));
  assert.equal(q.popElem(false), undefined);
  assert.equal(q.pushElem(u32Key(1), 0), 0);
  assert.equal(q.pushElem(u32Key(2), 0), -7, 'full: E2BIG');
  assert.equal(q.pushElem(u32Key(2), Uapi.BPF_NOEXIST), -22);
  assert.equal(q.pushElem(u32Key(2), Uapi.BPF_EXIST), 0, 'BPF_EXIST replaces the oldest');
  assert.deepEqual(q.popElem(false), u32Key(2));
});
