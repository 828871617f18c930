/** killsnoop, tcpstates, tcplife, biosnoop, threadsnoop, pidpersec, naptime on the real kernel, children of known behaviour. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { biosnoop, type BioEvent } from '../../src/tools/biosnoop.js';
import { killsnoop, type KillEvent } from '../../src/tools/killsnoop.js';
import { naptime, type NapEvent } from '../../src/tools/naptime.js';
import { pidpersec } from '../../src/tools/pidpersec.js';
import { tcplife, type TcpLifeEvent } from '../../src/tools/tcplife.js';
import { tcpstates, type TcpStateEvent } from '../../src/tools/tcpstates.js';
import { threadsnoop, type ThreadEvent } from '../../src/tools/threadsnoop.js';
import { heldChild, noKernel, reap, testProgram, withChild } from './fixtures.js';

const need = (name: Parameters<typeof testProgram>[0]) => noKernel ?? (testProgram(name) ? undefined : 'gcc cannot build the test program');

test('killsnoop: SIGTERM to a sleeper (0) and signal 0 to a missing pid (-ESRCH)', { skip: need('tkill') }, async () => {
  const sleeper = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  const gone = new Promise((r) => sleeper.on('exit', (_c, sig) => r(sig)));
  try {
    const h = heldChild(testProgram('tkill')!, [String(sleeper.pid), '15']);
    const events: KillEvent[] = [];
    await withChild(h, (o) => killsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
    assert.equal(await gone, 'SIGTERM');
    assert.deepEqual(
      events.map(({ pid, comm, targetPid, signal, signalName, result }) => ({ pid, comm, targetPid, signal, signalName, result })),
      [
        { pid: h.pid, comm: 'tkill', targetPid: sleeper.pid, signal: 15, signalName: 'SIGTERM', result: 0 },
        { pid: h.pid, comm: 'tkill', targetPid: 0x3fffffff, signal: 0, signalName: '0', result: -3 },
      ],
    );
  } finally {
    reap(sleeper);
  }
});

/** A server on 127.0.0.1 that reads `expect` bytes, answers `reply` bytes and closes first. */
async function tcpServer(expect: number, reply: number) {
  const server = createServer((s: Socket) => {
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= expect) s.end(Buffer.alloc(reply, 'y'));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

test('tcpstates: the client socket of a child goes CLOSE→SYN_SENT→ESTABLISHED→CLOSE_WAIT→LAST_ACK→CLOSE', { skip: need('ttcp') }, async () => {
  const { server, port } = await tcpServer(5000, 7000);
  try {
    const h = heldChild(testProgram('ttcp')!, [String(port), '5000']);
    const events: TcpStateEvent[] = [];
    await withChild(h, (o) => tcpstates({ ...o, onEvent: (e) => events.push(e) }), 200);
    assert.equal(await h.exited, 0);
    const client = events.filter((e) => e.dport === port);
    assert.deepEqual(client.map((e) => `${e.oldState}->${e.newState}`), ['CLOSE->SYN_SENT', 'SYN_SENT->ESTABLISHED', 'ESTABLISHED->CLOSE_WAIT', 'CLOSE_WAIT->LAST_ACK', 'LAST_ACK->CLOSE']);
    const sport = client[1]!.sport;
    for (const e of client) {
      assert.equal(e.family, 'ipv4');
      assert.equal(e.saddr, '127.0.0.1');
      assert.equal(e.daddr, '127.0.0.1');
      assert.equal(e.skaddr, client[0]!.skaddr);
      if (e.oldState !== 'CLOSE') assert.equal(e.sport, sport);
    }
    // connect() and close() run in the child's context.
    assert.deepEqual([client[0]!.pid, client[0]!.comm, client[3]!.pid, client[3]!.comm], [h.pid, 'ttcp', h.pid, 'ttcp']);
    assert.equal(client[0]!.ms, 0);
    assert.ok(client.slice(1).every((e) => e.ms >= 0 && e.ms < 5000));
    // The server's accepted socket: the same connection seen from the other end.
    const srv = events.filter((e) => e.sport === port && e.dport === sport);
    assert.deepEqual(srv.map((e) => `${e.oldState}->${e.newState}`).sort(), ['ESTABLISHED->FIN_WAIT1', 'FIN_WAIT1->FIN_WAIT2', 'FIN_WAIT2->CLOSE', 'LISTEN->SYN_RECV', 'SYN_RECV->ESTABLISHED']);
    // With a pid: the sockets that process touched.
    const h2 = heldChild(testProgram('ttcp')!, [String(port), '5000']);
    const mine: TcpStateEvent[] = [];
    await withChild(h2, (o) => tcpstates({ ...o, pid: h2.pid, onEvent: (e) => mine.push(e) }), 200);
    assert.deepEqual(mine.map((e) => e.newState), ['SYN_SENT', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSE']);
  } finally {
    server.close();
  }
});

test('tcplife: a child\'s connection with its pid, comm, ports, bytes and duration', { skip: need('ttcp') }, async () => {
  const { server, port } = await tcpServer(5000, 7000);
  try {
    const h = heldChild(testProgram('ttcp')!, [String(port), '5000']);
    const events: TcpLifeEvent[] = [];
    const t0 = process.hrtime.bigint();
    await withChild(h, (o) => tcplife({ ...o, onEvent: (e) => events.push(e) }), 200);
    const wall = process.hrtime.bigint() - t0;
    const client = events.filter((e) => e.dport === port);
    assert.equal(client.length, 1, JSON.stringify(events, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    const e = client[0]!;
    assert.deepEqual([e.pid, e.comm, e.family, e.saddr, e.daddr], [h.pid, 'ttcp', 'ipv4', '127.0.0.1', '127.0.0.1']);
    assert.ok(e.sport > 0 && e.sport !== port);
    // The kernel's counters cover sequence space: the client's SYN and FIN are acked, the server's FIN received.
    assert.equal(e.txBytes, 5000 + 2);
    assert.equal(e.rxBytes, 7000 + 1);
    assert.ok(e.durationNs > 0n && e.durationNs < wall, `duration ${e.durationNs}`);
    assert.equal(e.ms, Number(e.durationNs) / 1e6);
    // The server side: closed first by the server (LAST_ACK never happens there: the pid is the context's).
    const srv = events.filter((x) => x.sport === port && x.dport === e.sport);
    assert.equal(srv.length, 1);
    assert.deepEqual([srv[0]!.txBytes, srv[0]!.rxBytes], [7001, 5001]);
  } finally {
    server.close();
  }
});

test('biosnoop: a child\'s 16 direct 4 KiB writes, with disk, sector, bytes and latency', { skip: noKernel }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bio-'));
  try {
    const h = heldChild('dd', ['if=/dev/zero', `of=${join(dir, 'f')}`, 'bs=4k', 'count=16', 'oflag=direct,sync']);
    const events: BioEvent[] = [];
    await withChild(h, (o) => biosnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }), 300);
    if (events.length === 0) return t.skip(`no block:block_rq_issue/complete events from dd (the filesystem under ${tmpdir()} has no block device emitting them)`);
    // The data (WS); ext4 also writes metadata (WSM) in dd's context for O_SYNC.
    const writes = events.filter((e) => e.rwbs.includes('W') && !e.rwbs.includes('M') && e.bytes === 4096);
    assert.equal(writes.length, 16, JSON.stringify(events, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(new Set(writes.map((e) => e.sector)).size, 16, 'distinct sectors');
    for (const e of events) {
      assert.equal(e.pid, h.pid);
      assert.equal(e.comm, 'dd');
      assert.equal(e.error, 0);
      assert.ok(e.latencyNs > 0n && e.ms < 10_000);
      assert.ok(e.disk.length > 0 && !e.disk.includes(':'), `disk ${e.disk}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('threadsnoop: 3 pthread_create calls naming the start routine', { skip: need('tthread') }, async () => {
  const h = heldChild(testProgram('tthread')!, ['3', '200']);
  const events: ThreadEvent[] = [];
  await withChild(h, (o) => threadsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  assert.equal(await h.exited, 0);
  assert.equal(events.length, 3);
  for (const e of events) {
    assert.deepEqual([e.pid, e.tid, e.comm, e.func, e.module], [h.pid, h.pid, 'tthread', 'bpfkit_worker', testProgram('tthread')]);
    assert.equal(e.address, events[0]!.address);
  }
});

test('pidpersec: a shell forking 7 children', { skip: noKernel }, async () => {
  const h = heldChild('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7; do /bin/true; done']);
  const total = await withChild(h, (o) => pidpersec({ ...o, pid: h.pid, interval: 5 }));
  assert.equal(total, 7);
});

test('naptime: sleep 0.25 with its parent, the clock and the exact timespec', { skip: noKernel }, async () => {
  const h = heldChild('/bin/sleep', ['0.25']);
  const events: NapEvent[] = [];
  await withChild(h, (o) => naptime({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  assert.equal(events.length, 1, JSON.stringify(events));
  const { time: _t, ...e } = events[0]!;
  const pcomm = readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();
  // glibc's nanosleep() is clock_nanosleep(CLOCK_REALTIME, 0, ...).
  assert.deepEqual(e, { syscall: 'clock_nanosleep', clock: 0, absolute: false, ppid: process.pid, pcomm, pid: h.pid, comm: 'sleep', sec: 0, nsec: 250_000_000, seconds: 0.25 });
});
