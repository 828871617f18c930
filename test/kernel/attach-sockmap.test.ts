/**
 * sk_msg and sk_skb programs on sockmaps for real, with TCP pairs on 127.0.0.1 made in this process and put in
 * the maps by fd (KernelMap.update with the socket fd as the value; a lookup gives the socket cookie back):
 * sk_msg counting and redirecting what a socket sends into another connection's receive queue, sk_skb stream
 * parser + verdict bouncing what a socket receives back to its peer (an in-kernel echo), through sockmap links
 * (Linux 6.10+) and the BPF_PROG_ATTACH fallback; detaching; typed errors. Programs come from
 * examples/sockmap_redir.bpf.c.
 */
import { test, after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { AttachType, MapType } from '../../src/isa/uapi.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { attachSockMap, SockMapAttachment, SockMapLink } from '../../src/kernel/link/sockmap.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { BpfLink } from '../../src/kernel/link/link.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { sockmapLinks } from '../../src/kernel/features/probe.js';
import { bpf } from '../../src/kernel/sys/bpf.js';
import { readU64, u32, u64, waitFor } from './fixtures.js';
import { recvText, sendAll, socketCookie, tcpPair, type TcpPair } from './sock-fixture.js';

const OBJ = new URL('../../../examples/build/sockmap_redir.bpf.o', import.meta.url).pathname;
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

let skip = '';
before(() => {
  if (process.getuid?.() !== 0) skip = 'needs root (CAP_BPF, CAP_NET_ADMIN)';
  else if (!existsSync(OBJ)) skip = 'sockmap_redir.bpf.o not built (scripts/build-examples.sh needs clang and libbpf-dev)';
});

/** A fresh copy of the object (its own maps), closed at the end of the file. */
function load(t: TestContext): Collection | undefined {
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const c = Collection.loadFile(OBJ);
  cleanups.push(() => c.close());
  return c;
}

function pair(): TcpPair {
  const p = tcpPair();
  cleanups.push(() => p.close());
  return p;
}

/** Wait for `n` bytes on a socket (or 1 s), then return all that came. */
async function recvAtLeast(fd: number, n: number, ms = 1000): Promise<string> {
  let got = '';
  await waitFor(() => ((got += recvText(fd)), got.length >= n), ms);
  return got + recvText(fd);
}

/** Nothing more arrives within `ms`. */
async function quiet(fd: number, ms = 50): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  return recvText(fd);
}

const stat = (c: Collection, k: number) => readU64(c.map('sock_stats').lookup(u32(k)));

test('sockmap: socket fds go in, cookies come out, non-sockets are refused', (t) => {
  const c = load(t);
  if (!c) return;
  const m = c.map('msg_map');
  const p = pair();
  m.update(u32(0), u64(p.client));
  m.update(u32(1), u64(p.server));
  assert.equal(readU64(m.lookup(u32(0))), socketCookie(p.client));
  assert.equal(readU64(m.lookup(u32(1))), socketCookie(p.server));
  assert.notEqual(socketCookie(p.client), socketCookie(p.server));
  assert.ok(m.delete(u32(1)));
  assert.equal(m.lookup(u32(1)), undefined);
  // A map fd is no socket.
  assert.throws(() => m.update(u32(1), u64(c.map('msg_cfg').fd)), (e: unknown) => e instanceof KernelError && e.command === 'MAP_UPDATE_ELEM' && e.errnoName === 'ENOTSOCK');
  assert.ok(m.delete(u32(0)));
});

test('sk_msg verdict on a sockmap: counts every send, redirects into another connection when told; detach', async (t) => {
  const c = load(t);
  if (!c) return;
  const links = sockmapLinks();
  t.diagnostic(`sockmap links: ${links.ok ? 'yes' : links.reason}`);
  const link = attachSockMap(c.program('msg_verdict'), c.map('msg_map'));
  assert.equal(link.kind, 'sockmap');
  assert.equal(link.mode, links.ok ? 'link' : 'prog_attach');
  const p1 = pair();
  const p2 = pair();
  const m = c.map('msg_map');
  m.update(u32(0), u64(p1.client));
  m.update(u32(1), u64(p2.server));
  // Pass: p1.client's data reaches p1.server as usual, and is counted.
  sendAll(p1.client, 'hello');
  assert.equal(await recvAtLeast(p1.server, 5), 'hello');
  assert.deepEqual([stat(c, 3), stat(c, 4)], [1n, 5n]);
  // p1.server is not in the map: its sends are not seen.
  sendAll(p1.server, 'back');
  assert.equal(await recvAtLeast(p1.client, 4), 'back');
  assert.deepEqual([stat(c, 3), stat(c, 4)], [1n, 5n]);
  // Redirect to slot 1 (p2.server's receive queue): p1.server gets nothing.
  c.map('msg_cfg').update(u32(0), u32(2));
  sendAll(p1.client, 'redirected');
  assert.equal(await recvAtLeast(p2.server, 10), 'redirected');
  assert.equal(await quiet(p1.server), '');
  assert.deepEqual([stat(c, 3), stat(c, 4)], [2n, 15n]);
  if (link instanceof BpfLink) {
    const info = link.info();
    assert.equal(info.typeName, 'sockmap');
    assert.equal(info.progId, c.program('msg_verdict').id);
    assert.equal(info.details.map_id, m.id);
    assert.equal(info.details.attach_type, 'sk_msg_verdict');
  }
  const id = link instanceof BpfLink ? link.id : undefined;
  link.close();
  assert.ok(link.closed);
  if (id !== undefined) assert.equal(tryOpenById('link', id), undefined, 'sockmap link still exists');
  // Sockets put in the map after the detach run no program (those inserted before keep the one they got).
  const p3 = pair();
  m.update(u32(0), u64(p3.client));
  sendAll(p3.client, 'plain');
  assert.equal(await recvAtLeast(p3.server, 5), 'plain');
  assert.deepEqual([stat(c, 3), stat(c, 4)], [2n, 15n]);
  assert.equal(await quiet(p2.server), '');
});

test('sk_skb stream parser + verdict on a sockmap: what the server receives goes back to the client (in-kernel echo)', async (t) => {
  const c = load(t);
  if (!c) return;
  const parser = attachBySection(c.program('echo_parser'), { sockMap: c.map('echo_map') });
  const verdict = attachBySection(c.program('echo_verdict'), { sockMap: c.map('echo_map') });
  assert.deepEqual([parser.kind, verdict.kind], ['sockmap', 'sockmap']);
  try {
    const p = pair();
    c.map('echo_map').update(u32(0), u64(p.server));
    sendAll(p.client, 'ping');
    assert.equal(await recvAtLeast(p.client, 4), 'ping', 'echoed by the kernel');
    assert.equal(await quiet(p.server), '', 'the server socket itself reads nothing');
    sendAll(p.client, 'pong!');
    assert.equal(await recvAtLeast(p.client, 5), 'pong!');
    assert.deepEqual([stat(c, 5), stat(c, 6)], [2n, 9n]);
    assert.ok(stat(c, 7) >= 2n, `parser ran ${stat(c, 7)} times`);
  } finally {
    verdict.close();
    parser.close();
  }
  const p = pair();
  c.map('echo_map').update(u32(0), u64(p.server));
  sendAll(p.client, 'after');
  assert.equal(await recvAtLeast(p.server, 5), 'after', 'no echo once detached');
  assert.equal(await quiet(p.client), '');
  assert.deepEqual([stat(c, 5), stat(c, 6)], [2n, 9n]);
});

test('sockmap BPF_PROG_ATTACH fallback (mode prog_attach): attached, counted, detached with PROG_DETACH', async (t) => {
  const c = load(t);
  if (!c) return;
  const a = attachSockMap(c.program('msg_verdict'), c.map('msg_map'), AttachType.SK_MSG_VERDICT, { mode: 'prog_attach' });
  assert.ok(a instanceof SockMapAttachment);
  assert.equal(a.mode, 'prog_attach');
  const p = pair();
  c.map('msg_map').update(u32(0), u64(p.client));
  sendAll(p.client, 'legacy');
  assert.equal(await recvAtLeast(p.server, 6), 'legacy');
  assert.deepEqual([stat(c, 3), stat(c, 4)], [1n, 6n]);
  a.close();
  a.close(); // once only
  // Detached: a PROG_DETACH of that program finds nothing, and the slot is free for a link.
  assert.throws(
    () => bpf('PROG_DETACH', { target_fd: c.map('msg_map').fd, attach_bpf_fd: c.program('msg_verdict').fd, attach_type: AttachType.SK_MSG_VERDICT }),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT',
  );
  if (sockmapLinks().ok) attachSockMap(c.program('msg_verdict'), c.map('msg_map'), undefined, { mode: 'link' }).close();
});

test('sockmap attach failures are typed KernelErrors', (t) => {
  const c = load(t);
  if (!c) return;
  const prog = c.program('msg_verdict');
  // Not a sockmap attach type: refused before any call.
  assert.throws(() => attachSockMap(prog, c.map('msg_map'), AttachType.CGROUP_INET_INGRESS), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL' && /not a sockmap attach type/.test(e.message));
  // An array map is no sockmap: said up front for a KernelMap, by the kernel for a bare fd.
  assert.throws(() => attachSockMap(prog, c.map('msg_cfg')), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL' && /not a SOCKMAP or SOCKHASH/.test(e.message));
  assert.throws(() => attachSockMap(prog, c.map('msg_cfg').fd), (e: unknown) => e instanceof KernelError && ['EINVAL', 'EOPNOTSUPP'].includes(e.errnoName));
  // One program per attach type and map: a second link is refused (EBUSY), the first stays.
  if (sockmapLinks().ok) {
    const first = attachSockMap(prog, c.map('msg_map'), undefined, { mode: 'link' });
    try {
      assert.ok(first instanceof SockMapLink);
      assert.throws(() => attachSockMap(prog, c.map('msg_map'), undefined, { mode: 'link' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EBUSY' && e.command === 'LINK_CREATE');
    } finally {
      first.close();
    }
  }
  // Auto-attach without a map says what is missing.
  assert.throws(() => attachBySection(prog), (e: unknown) => e instanceof KernelError && /SOCKMAP or SOCKHASH/.test(e.message));
  // A map not of this object: a SOCKHASH works the same way.
  const hash = KernelMap.create({ name: 'bk_sockhash', type: MapType.SOCKHASH, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 });
  try {
    const l = attachSockMap(prog, hash);
    l.close();
  } finally {
    hash.close();
  }
});
