/**
 * cgroup hooks for real, on a fresh cgroup v2 directory holding one child process at a time (moved there while
 * held at "ready", before its socket call): connect4/connect6 rewriting a loopback connect to another port
 * (the data comes back from the other listener), bind4 refusing a port (EPERM), sendmsg4 rewriting a UDP
 * destination, sysctl refusing the read of one knob (EPERM), and sockops counting a TCP connection's
 * callbacks exactly. Processes outside the cgroup are unaffected; detaching restores normal behaviour; failures
 * are typed KernelErrors. Programs come from examples/cgroup_sock_addr.bpf.c and examples/sockmap_redir.bpf.c.
 */
import { test, after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { AttachType } from '../../src/isa/uapi.js';
import { attachTypeName } from '../../src/isa/names.js';
import { Collection } from '../../src/kernel/load/collection.js';
import { attachCgroup } from '../../src/kernel/link/cgroup.js';
import { attachBySection } from '../../src/kernel/link/auto.js';
import { BpfLink, type Link } from '../../src/kernel/link/link.js';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { cgroup2Root } from '../../src/kernel/features/probe.js';
import { makeCgroup, readU64, u32 } from './fixtures.js';
import { removeCgroup, runClient, sockClient, startClient } from './sock-fixture.js';

const EXAMPLES = new URL('../../../examples/build/', import.meta.url).pathname;
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let skip = '';
let bin = '';
let cg: { path: string; cleanup(): void } | undefined;
before(() => {
  if (process.getuid?.() !== 0) skip = 'needs root (CAP_BPF, cgroup v2 writes)';
  else if (!cgroup2Root()) skip = 'no cgroup v2 mount';
  else if (!existsSync(`${EXAMPLES}cgroup_sock_addr.bpf.o`) || !existsSync(`${EXAMPLES}sockmap_redir.bpf.o`)) skip = 'examples not built (scripts/build-examples.sh needs clang and libbpf-dev)';
  else {
    const c = sockClient();
    if ('skip' in c) skip = c.skip;
    else bin = c.path;
  }
  if (skip) return;
  cg = makeCgroup('cgaddr');
  // Last cleanup: the cgroup (its processes have exited by then).
  cleanups.unshift(() => (cg ? removeCgroup(cg.path) : undefined));
});

function ready(t: TestContext): boolean {
  if (skip) t.skip(skip);
  return !skip;
}

/** A TCP listener answering `<label>:<what it got>` to each connection (closed at the end of the file). */
async function labelServer(label: string, host: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => s.end(`${label}:${got}`));
    s.on('error', () => {});
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => res());
  });
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as { port: number }).port };
}

/** Connect from this process (outside the test cgroup), send `msg`, return the reply. */
function exchange(host: string, port: number, msg: string): Promise<string> {
  return new Promise((res, rej) => {
    let got = '';
    const s = netConnect({ host, port }, () => s.end(msg));
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => res(got));
    s.on('error', rej);
  });
}

/** A UDP socket on 127.0.0.1 collecting what arrives. */
async function udpSink(): Promise<{ port: number; got: string[]; sock: UdpSocket }> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { port: sock.address().port, got, sock };
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Close links and check the kernel forgot the BPF links. */
function detach(links: Link[]): void {
  const ids = links.filter((l): l is BpfLink => l instanceof BpfLink).map((l) => l.id);
  for (const l of links) l.close();
  for (const id of ids) {
    const fd = tryOpenById('link', id);
    fd?.close();
    assert.equal(fd, undefined, `link id ${id} still exists`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('cgroup sock_addr hooks: connect4/connect6 rewrite, bind4 refuses, sendmsg4 rewrites; detach restores', async (t) => {
  if (!ready(t)) return;
  const a = await labelServer('A', '127.0.0.1');
  const b = await labelServer('B', '127.0.0.1');
  let v6 = '';
  if (!/^0{31}1 /m.test(readFileSync('/proc/net/if_inet6', 'utf8'))) v6 = 'no ::1 on this machine';
  else {
    try {
      await labelServer('A6', '::1', a.port);
      await labelServer('B6', '::1', b.port);
    } catch (e) {
      v6 = `cannot listen on [::1]:${a.port}/${b.port}: ${(e as Error).message}`;
    }
  }
  const denied = await freePort();
  const allowed = await freePort();
  const udpFrom = await udpSink();
  const udpTo = await udpSink();
  const c = Collection.loadFile(`${EXAMPLES}cgroup_sock_addr.bpf.o`, {
    globals: { connect_from_port: a.port, connect_to_port: b.port, bind_denied_port: denied, udp_from_port: udpFrom.port, udp_to_port: udpTo.port },
  });
  cleanups.push(() => c.close());
  const stats = (k: number) => readU64(c.map('hook_stats').lookup(u32(k)));
  const inCg = { cgroup: cg!.path };
  const links: Link[] = [];
  try {
    for (const p of ['connect4_redirect', 'connect6_redirect', 'bind4_deny', 'sendmsg4_redirect']) links.push(attachBySection(c.program(p), inCg));
    assert.deepEqual(links.map((l) => l.kind), ['cgroup', 'cgroup', 'cgroup', 'cgroup']);
    // BPF cgroup links, each naming the cgroup and its attach type.
    const info = (links[0] as BpfLink).info();
    assert.equal(info.typeName, 'cgroup');
    assert.equal(info.details.attach_type, attachTypeName(AttachType.CGROUP_INET4_CONNECT));
    // The cgroup id is the cgroup directory's inode number.
    assert.equal(info.details.cgroup_id, BigInt(statSync(cg!.path).ino));

    await t.test('connect4: a connect to 127.0.0.1:A reaches the listener on B', async () => {
      assert.deepEqual(await runClient(bin, ['connect', '127.0.0.1', String(a.port), 'hello'], inCg), { value: 'B:hello', stdout: 'ready\nreply B:hello\ndone\n' });
      assert.equal(stats(0), 1n);
      // This process is not in the cgroup: its connect to A stays A.
      assert.equal(await exchange('127.0.0.1', a.port, 'outside'), 'A:outside');
      // Other ports are left alone.
      assert.equal((await runClient(bin, ['connect', '127.0.0.1', String(b.port), 'direct'], inCg)).value, 'B:direct');
      assert.equal(stats(0), 1n);
    });

    await t.test('connect6: a connect to [::1]:A reaches the listener on [::1]:B', async (st) => {
      if (v6) return void st.skip(v6);
      assert.equal((await runClient(bin, ['connect', '::1', String(a.port), 'six'], inCg)).value, 'B6:six');
      assert.equal(stats(4), 1n);
      assert.equal(await exchange('::1', a.port, 'outside'), 'A6:outside');
    });

    await t.test('bind4: binding the refused port fails with EPERM, other ports bind', async () => {
      assert.deepEqual(await runClient(bin, ['bind', '127.0.0.1', String(denied)], inCg), { call: 'bind', errno: 1, stdout: 'ready\nerr bind 1\n' });
      assert.equal((await runClient(bin, ['bind', '127.0.0.1', String(allowed)], inCg)).value, 'bind ok');
      assert.equal(stats(1), 1n);
    });

    await t.test('sendmsg4: a datagram to 127.0.0.1:U1 arrives on U2', async () => {
      assert.equal((await runClient(bin, ['udp', '127.0.0.1', String(udpFrom.port), 'dgram'], inCg)).value, 'sent');
      await waitUntil(() => udpTo.got.length >= 1);
      await sleep(20);
      assert.deepEqual(udpTo.got, ['dgram']);
      assert.deepEqual(udpFrom.got, []);
      assert.equal(stats(2), 1n);
    });

    await t.test('detached: connect, bind and sendmsg behave normally again, counters stay', async () => {
      detach(links.splice(0));
      assert.equal((await runClient(bin, ['connect', '127.0.0.1', String(a.port), 'after'], inCg)).value, 'A:after');
      if (!v6) assert.equal((await runClient(bin, ['connect', '::1', String(a.port), 'after'], inCg)).value, 'A6:after');
      assert.equal((await runClient(bin, ['bind', '127.0.0.1', String(denied)], inCg)).value, 'bind ok');
      assert.equal((await runClient(bin, ['udp', '127.0.0.1', String(udpFrom.port), 'again'], inCg)).value, 'sent');
      await waitUntil(() => udpFrom.got.length >= 1);
      assert.deepEqual(udpFrom.got, ['again']);
      assert.deepEqual([0, 1, 2, 4].map(stats), [1n, 1n, 1n, v6 ? 0n : 1n]);
    });
  } finally {
    for (const l of links) l.close();
  }
});

test('cgroup sysctl hook: reading kernel/domainname fails with EPERM inside the cgroup only; detach restores', async (t) => {
  if (!ready(t)) return;
  const c = Collection.loadFile(`${EXAMPLES}cgroup_sock_addr.bpf.o`);
  cleanups.push(() => c.close());
  const inCg = { cgroup: cg!.path };
  const expected = readFileSync('/proc/sys/kernel/domainname', 'utf8').trim();
  const link = attachCgroup(c.program('sysctl_deny'), cg!.path);
  try {
    assert.equal((link as BpfLink).info().details.attach_type, attachTypeName(AttachType.CGROUP_SYSCTL));
    assert.deepEqual(await runClient(bin, ['sysctl', '/proc/sys/kernel/domainname'], inCg), { call: 'read', errno: 1, stdout: 'ready\nerr read 1\n' });
    // Another knob reads fine; so does the refused one outside the cgroup.
    assert.equal((await runClient(bin, ['sysctl', '/proc/sys/kernel/ostype'], inCg)).value, readFileSync('/proc/sys/kernel/ostype', 'utf8').trim());
    assert.equal((await runClient(bin, ['sysctl', '/proc/sys/kernel/domainname'])).value, expected);
    assert.equal(readU64(c.map('hook_stats').lookup(u32(3))), 1n);
  } finally {
    detach([link]);
  }
  assert.equal((await runClient(bin, ['sysctl', '/proc/sys/kernel/domainname'], inCg)).value, expected);
  assert.equal(readU64(c.map('hook_stats').lookup(u32(3))), 1n);
});

test('sockops: exact TCP_CONNECT / ACTIVE_ESTABLISHED / PASSIVE_ESTABLISHED counts for connections in the cgroup', async (t) => {
  if (!ready(t)) return;
  const c = Collection.loadFile(`${EXAMPLES}sockmap_redir.bpf.o`);
  cleanups.push(() => c.close());
  const inCg = { cgroup: cg!.path };
  const counts = () => [0, 1, 2].map((k) => readU64(c.map('sock_stats').lookup(u32(k))));
  const srv = await labelServer('S', '127.0.0.1');
  const link = attachBySection(c.program('count_established'), inCg);
  try {
    assert.equal(link.kind, 'cgroup');
    // Active side in the cgroup, passive side (this process's listener) outside.
    assert.equal((await runClient(bin, ['connect', '127.0.0.1', String(srv.port), 'x'], inCg)).value, 'S:x');
    assert.deepEqual(counts(), [1n, 1n, 0n]);
    // Passive side in the cgroup (the child's listener), active side (this process) outside.
    const server = await startClient(bin, ['serve', '127.0.0.1', '0'], inCg);
    cleanups.push(() => server.kill());
    const port = Number((await server.waitOutput(/^port (\d+)$/m))[1]);
    assert.equal(await exchange('127.0.0.1', port, 'y'), 'served:y');
    const r = await server.done();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(counts(), [1n, 1n, 1n]);
    // Outside the cgroup entirely: nothing.
    assert.equal(await exchange('127.0.0.1', srv.port, 'z'), 'S:z');
    assert.deepEqual(counts(), [1n, 1n, 1n]);
  } finally {
    detach([link]);
  }
  assert.equal((await runClient(bin, ['connect', '127.0.0.1', String(srv.port), 'w'], inCg)).value, 'S:w');
  assert.deepEqual(counts(), [1n, 1n, 1n], 'counting after detach');
});

test('cgroup attach failures are typed KernelErrors', (t) => {
  if (!ready(t)) return;
  const c = Collection.loadFile(`${EXAMPLES}cgroup_sock_addr.bpf.o`);
  cleanups.push(() => c.close());
  assert.throws(
    () => attachCgroup(c.program('connect4_redirect'), `${cg!.path}/no-such-cgroup`),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && e.message.includes('no-such-cgroup'),
  );
  // A connect4 program (expected attach type INET4_CONNECT) at the bind4 hook: refused by LINK_CREATE and by
  // the PROG_ATTACH fallback alike.
  assert.throws(
    () => attachCgroup(c.program('connect4_redirect'), cg!.path, AttachType.CGROUP_INET4_BIND),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL' && e.command === 'PROG_ATTACH',
  );
  // Auto-attach without a cgroup says what is missing.
  assert.throws(() => attachBySection(c.program('bind4_deny')), (e: unknown) => e instanceof KernelError && /cgroup v2 directory/.test(e.message));
});

async function waitUntil(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
}
