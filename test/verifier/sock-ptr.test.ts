/**
 * Socket pointers in the verifier: each case of sock-ptr-corpus.ts gets bpfkit's expected verdict (and reason),
 * and — as root — the real kernel loads the same instructions and must agree with bpfkit (kernel policy,
 * `strict: false`): lookups and bpf_sk_release, NULL checks, field reads, casts, context `sk` loads, sockmaps.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { AttachType, MapType, ProgType } from '../../src/isa/uapi.js';
import type { MapSpec } from '../../src/spec/map.js';
import { verify, type MapLike } from '../../src/verifier/index.js';
import { SOCK_CASES, type SockCase } from './sock-ptr-corpus.js';

const SOCKMAP: MapSpec = { name: 'SOCKMAP', type: MapType.SOCKMAP, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 };

const isRoot = process.getuid?.() === 0;
const closers: { close(): void }[] = [];
after(() => closers.forEach((c) => c.close()));

let fdP: Promise<number> | undefined;
async function sockmapFd(): Promise<number> {
  if (!isRoot) return 1000;
  const { KernelMap } = await import('../../src/kernel/maps/map.js');
  const m = KernelMap.create(SOCKMAP);
  closers.push(m);
  return m.fd;
}

function build(c: SockCase, fd: number) {
  const insns = assemble(c.text.replaceAll('map[fd:SOCKMAP]', `map[fd:${fd}]`), { syntax: 'llvm' });
  const maps: Record<number, MapLike> = { [fd]: SOCKMAP };
  return { insns, maps, type: ProgType[c.type], expectedAttachType: c.attach ? AttachType[c.attach as keyof typeof AttachType] : undefined };
}

test('socket corpus covers accepts and rejects', () => {
  assert.ok(SOCK_CASES.filter((c) => c.kernel === 'reject').length >= 20);
  assert.ok(SOCK_CASES.filter((c) => c.kernel === 'accept').length >= 15);
});

for (const c of SOCK_CASES) {
  test(`socket pointers: ${c.name}`, async (t) => {
    fdP ??= sockmapFd();
    const fd = await fdP;
    const { insns, maps, type, expectedAttachType } = build(c, fd);
    const r = verify({ insns, type, expectedAttachType, name: c.name }, { maps });
    const mine = verify({ insns, type, expectedAttachType }, { maps, strict: false });
    assert.equal(mine.ok ? 'accept' : 'reject', c.kernel, `${c.name}: bpfkit (kernel policy): ${mine.errors[0]?.message ?? 'accepted'}`);
    assert.equal(r.ok, c.kernel === 'accept', `${c.name}: bpfkit (strict): ${r.errors[0]?.message ?? 'accepted'}`);
    if (!r.ok) {
      assert.doesNotMatch(r.errors[0]!.reason, /^unsupported/, c.name);
      if (c.why) assert.match(r.errors[0]!.reason, c.why, c.name);
    }
    if (!isRoot) return void t.skip('kernel comparison needs root');
    const { loadInsns } = await import('../../src/kernel/load/program.js');
    let kernel: 'accept' | 'reject' = 'accept';
    let kmsg = '';
    try {
      loadInsns(type, insns, { name: 'bk_vsock', expectedAttachType }).close();
    } catch (e) {
      kernel = 'reject';
      kmsg = String((e as { log?: string }).log ?? (e as Error).message)
        .split('\n')
        .filter((l) => l && !/^processed|^verification time|^stack depth/.test(l))
        .pop() ?? '';
    }
    assert.equal(kernel, c.kernel, `${c.name}: the kernel's verdict (${kmsg})`);
  });
}
