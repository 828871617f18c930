// Helper building blocks: the bpf printf dialect, checksum arithmetic (incremental updates agree with a full
// recomputation), the helper table (registered by id from the UAPI table, 60+ helpers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VmMemory } from '../../../src/vm/memory.js';
import type { HelperCallContext } from '../../../src/vm/api.js';
import { bpfFormat, implementedHelpers, isHelperImplemented, csumReplace4, csumReplace2, csumPartial, csumFold } from '../../../src/vm/helpers/index.js';
import { helperByName } from '../../../src/isa/helpers.js';

function ctxWith(mem: VmMemory): HelperCallContext {
  return { mem, pc: 0, env: {}, vm: undefined as never, callSubprogram: () => 0n, tailCall: () => false };
}

test('bpf printf: widths, flags, length modifiers, strings, IP addresses, refusals', () => {
  const mem = new VmMemory();
  const s = mem.map(new TextEncoder().encode('hello\0'), { writable: false, kind: 'mem' });
  const ip4 = mem.map(Uint8Array.of(192, 168, 1, 20), { writable: false, kind: 'mem' });
  const ip6 = mem.map(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), { writable: false, kind: 'mem' });
  const c = ctxWith(mem);
  const f = (fmt: string, ...args: (number | bigint)[]) => bpfFormat(c, fmt, args.map((a) => BigInt.asUintN(64, BigInt(a))), 12);
  assert.equal(f('[%5d|%-5d|%05x|%X]', 42, -7, 255, 0xabc), '[   42|-7   |000ff|ABC]');
  assert.equal(f('%d %u %ld %llu', -1, -1, -1, -1), '-1 4294967295 -1 18446744073709551615');
  assert.equal(f('%llx %lx %x', 0x1122334455667788n, -2, 0x1_0000_0001n), '1122334455667788 fffffffffffffffe 1');
  assert.equal(f('%s=%c %%', s, 0x41), 'hello=A %');
  assert.equal(f('%pI4 %pi4', ip4, ip4), '192.168.1.20 192.168.001.020');
  assert.equal(f('%pI6c | %pI6', ip6, ip6), '2001:db8::1 | 2001:0db8:0000:0000:0000:0000:0000:0001');
  assert.equal(f('%px %p', 0xffff888000001000n, 0x10), 'ffff888000001000 0000000000000010');
  assert.equal(f('%o', 1), -22);
  assert.equal(f('%d %d', 1), -22, 'more conversions than arguments');
  assert.equal(bpfFormat(c, '%d %d %d %d', [1n, 2n, 3n, 4n], 3), -22, 'trace_printk takes three');
  assert.equal(f('bad\x01'), -22, 'non-printable characters');
});

test('checksums: incremental replace4/replace2 equal a full recomputation', () => {
  const hdr = Uint8Array.of(0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 192, 168, 1, 5);
  const full = (h: Uint8Array) => {
    const c = Uint8Array.from(h);
    c[10] = c[11] = 0;
    return csumFold(csumPartial(c, 0));
  };
  const sum0 = full(hdr);
  hdr[10] = sum0 & 0xff;
  hdr[11] = sum0 >> 8;
  const dv = new DataView(hdr.buffer);
  const oldDst = dv.getUint32(16, true);
  const newDst = 0x0100000a; // 10.0.0.1 in memory order read little-endian
  dv.setUint32(16, newDst, true);
  const inc = csumReplace4(dv.getUint16(10, true), oldDst, newDst);
  assert.equal(inc, full(hdr));
  dv.setUint16(10, inc, true);
  const oldTtl = dv.getUint16(8, true);
  hdr[8] = 63;
  const inc2 = csumReplace2(dv.getUint16(10, true), oldTtl, dv.getUint16(8, true));
  assert.equal(inc2, full(hdr));
});

test('helper table: registered by UAPI id, at least 60 helpers', () => {
  const names = implementedHelpers();
  assert.ok(names.length >= 60, `${names.length} helpers`);
  for (const n of ['map_lookup_elem', 'ringbuf_reserve', 'xdp_adjust_head', 'skb_store_bytes', 'l4_csum_replace', 'fib_lookup', 'loop', 'for_each_map_elem', 'get_stackid', 'snprintf', 'override_return']) {
    assert.ok(names.includes(n), n);
    assert.ok(isHelperImplemented(helperByName(n)!.id));
  }
  assert.equal(isHelperImplemented(helperByName('sk_lookup_tcp')!.id), false);
});
