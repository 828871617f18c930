/**
 * Security rules on the real kernel, with children this test spawns (held until the watcher is attached):
 * a forbidden exec is SIGKILLed before the binary runs (and the alert names it), a write-open under a watched
 * prefix alerts while a read-only open or another path does not, a connect to a watched port alerts, a uid
 * condition excludes other users, kill/setuid calls alert, and nothing stays loaded after close.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tryOpenById } from '../../src/kernel/info/ids.js';
import { watch, type SecurityAlert, type SecurityRule, type SecurityWatcher } from '../../src/security/index.js';
import { heldChild, noKernel, reap } from '../tools/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sec-'));
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** Watch `rules`, run `body` with the alerts seen so far, always close. */
async function withWatcher(rules: SecurityRule[], body: (alerts: SecurityAlert[], w: SecurityWatcher) => Promise<void>): Promise<void> {
  const alerts: SecurityAlert[] = [];
  const w = watch(rules, { onAlert: (a) => alerts.push(a) });
  try {
    await body(alerts, w);
  } finally {
    await w.close();
  }
}

/** Let everything already in the ring arrive (the child has exited: its records are committed). */
async function settle(w: SecurityWatcher): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  w.flush();
}

test('exec of a forbidden binary: SIGKILL before it runs, alert names it; exact match spares a longer name', { skip: noKernel }, async () => {
  const forbidden = join(dir, 'forbidden');
  const allowed = join(dir, 'forbidden-not');
  copyFileSync('/usr/bin/touch', forbidden);
  copyFileSync('/usr/bin/touch', allowed);
  chmodSync(forbidden, 0o755);
  chmodSync(allowed, 0o755);
  const marker = join(dir, 'marker-killed');
  const marker2 = join(dir, 'marker-allowed');
  const bad = heldChild(forbidden, [marker]);
  const ok = heldChild(allowed, [marker2]);
  try {
    await Promise.all([bad.ready, ok.ready]);
    await withWatcher([{ name: 'no-forbidden', event: 'exec', binary: forbidden, pid: [bad.pid, ok.pid], action: 'kill' }], async (alerts, w) => {
      bad.go();
      ok.go();
      await Promise.all([bad.exited, ok.exited]);
      assert.equal(bad.child.signalCode, 'SIGKILL');
      assert.equal(existsSync(marker), false, 'the forbidden binary ran');
      assert.equal(ok.child.exitCode, 0);
      assert.equal(existsSync(marker2), true);
      assert.ok(await waitFor(() => alerts.length >= 1));
      await settle(w);
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      const a = alerts[0]!;
      assert.equal(a.rule, 'no-forbidden');
      assert.equal(a.action, 'kill');
      assert.equal(a.killed, true);
      assert.equal(a.event, 'exec');
      assert.equal(a.syscall, 'execve');
      assert.equal(a.binary, forbidden);
      assert.deepEqual(a.args, [forbidden, marker]);
      assert.equal(a.pid, bad.pid);
      assert.equal(a.ppid, process.pid);
      assert.equal(a.uid, 0);
      assert.equal(a.comm, 'sh'); // the comm before the exec
      const s = w.stats();
      assert.equal(s.kills, 1);
      assert.equal(s.dropped, 0);
      assert.equal(s.rules['no-forbidden'], 1);
    });
  } finally {
    reap(bad.child);
    reap(ok.child);
  }
});

test('open: a write under the watched prefix alerts; a read-only open and another path do not', { skip: noKernel }, async () => {
  const watched = join(dir, 'watched');
  const other = join(dir, 'other');
  mkdirSync(watched);
  mkdirSync(other);
  const c = heldChild('/bin/sh', ['-c', `echo x > ${watched}/a; cat ${watched}/a > /dev/null; echo y > ${other}/b; exec 3<${watched}/a`]);
  try {
    await c.ready;
    await withWatcher([{ name: 'watched-write', event: 'open', path: { prefix: `${watched}/` }, access: 'write' }], async (alerts, w) => {
      c.go();
      assert.equal(await c.exited, 0);
      assert.ok(await waitFor(() => alerts.length >= 1));
      await settle(w);
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      const a = alerts[0]!;
      assert.equal(a.rule, 'watched-write');
      assert.equal(a.path, `${watched}/a`);
      assert.equal(a.pid, c.pid);
      assert.equal(a.comm, 'sh');
      assert.equal(a.flags! & 3, 1); // O_WRONLY (with O_CREAT|O_TRUNC)
      assert.equal(a.killed, false);
    });
  } finally {
    reap(c.child);
  }
});

test('uid condition: the same write alerts for uid 4242 only', { skip: noKernel }, async () => {
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  await withWatcher([{ name: 'user-4242', event: 'open', path: { prefix: `${shared}/` }, access: 'write', uid: 4242 }], async (alerts, w) => {
    assert.equal(spawnSync('/bin/sh', ['-c', `echo r > ${shared}/root.txt`]).status, 0);
    assert.equal(spawnSync('/bin/sh', ['-c', `echo u > ${shared}/user.txt`], { uid: 4242, gid: 4242 }).status, 0);
    assert.ok(await waitFor(() => alerts.length >= 1));
    await settle(w);
    assert.deepEqual(
      alerts.map((a) => [a.path, a.uid, a.gid]),
      [[`${shared}/user.txt`, 4242, 4242]],
    );
  });
});

function listen(): Promise<Server & { port: number }> {
  return new Promise((resolve) => {
    const s = createServer((sock) => sock.destroy());
    s.listen(0, '127.0.0.1', () => resolve(Object.assign(s, { port: (s.address() as { port: number }).port })));
  });
}

test('connect to a watched IPv4 port alerts; another port or a non-matching prefix does not', { skip: noKernel }, async () => {
  const a = await listen();
  const b = await listen();
  const code = `const n=require('net');const c=n.connect(${a.port},'127.0.0.1',()=>{c.end();const d=n.connect(${b.port},'127.0.0.1',()=>d.end())})`;
  const c = heldChild(process.execPath, ['-e', code]);
  try {
    await c.ready;
    const rules: SecurityRule[] = [
      { name: 'port-a', event: 'connect', dst: '127.0.0.0/8', port: a.port, pid: c.pid },
      { name: 'elsewhere', event: 'connect', dst: '10.0.0.0/8', port: [a.port, b.port], pid: c.pid },
    ];
    await withWatcher(rules, async (alerts, w) => {
      c.go();
      assert.equal(await c.exited, 0);
      assert.ok(await waitFor(() => alerts.length >= 1));
      await settle(w);
      assert.deepEqual(
        alerts.map((x) => [x.rule, x.family, x.dst, x.port, x.pid]),
        [['port-a', 'ipv4', '127.0.0.1', a.port, c.pid]],
      );
    });
  } finally {
    reap(c.child);
    a.close();
    b.close();
  }
});

test('kill and setuid calls alert with their target', { skip: noKernel }, async () => {
  const k = heldChild('/bin/sh', ['-c', 'kill -0 $$']);
  const s = heldChild(process.execPath, ['-e', 'process.setuid(4243)']);
  try {
    await Promise.all([k.ready, s.ready]);
    const rules: SecurityRule[] = [
      { name: 'probe-signal', event: 'kill', signal: 0, pid: k.pid },
      { name: 'become-4243', event: 'setuid', targetUid: 4243, pid: s.pid },
    ];
    await withWatcher(rules, async (alerts, w) => {
      k.go();
      s.go();
      await Promise.all([k.exited, s.exited]);
      assert.ok(await waitFor(() => alerts.length >= 2));
      await settle(w);
      const probe = alerts.filter((a) => a.rule === 'probe-signal');
      assert.deepEqual(
        probe.map((a) => [a.syscall, a.pid, a.targetPid, a.signal]),
        [['kill', k.pid, k.pid, 0]],
      );
      // glibc's setuid runs the syscall in every thread of the (multi-threaded) node process: one alert each.
      const become = alerts.filter((a) => a.rule === 'become-4243');
      assert.ok(become.length >= 1);
      for (const a of become) assert.deepEqual([a.syscall, a.pid, a.targetUid, a.uid], ['setuid', s.pid, 4243, 0]);
      assert.equal(new Set(become.map((a) => a.tid)).size, become.length);
    });
  } finally {
    reap(k.child);
    reap(s.child);
  }
});

test('a full ring buffer: drops are counted in the kernel, emitted + dropped = matches', { skip: noKernel }, async () => {
  const burst = join(dir, 'burst');
  mkdirSync(burst);
  const alerts: SecurityAlert[] = [];
  // One page holds 11 records of 352 (+8 header) bytes; spawnSync blocks this event loop, so nothing drains
  // while the child writes 100 files.
  const w = watch([{ name: 'burst', event: 'open', path: { prefix: `${burst}/` }, access: 'write' }], { onAlert: (a) => alerts.push(a), ringBytes: 4096 });
  try {
    assert.equal(spawnSync('/bin/sh', ['-c', `i=0; while [ $i -lt 100 ]; do : > ${burst}/f$i; i=$((i+1)); done`]).status, 0);
    await settle(w);
    const s = w.stats();
    assert.equal(s.rules.burst, 100);
    assert.equal(s.emitted + s.dropped, 100);
    assert.ok(s.dropped >= 80, `dropped ${s.dropped}`);
    assert.equal(s.received, s.emitted);
    assert.equal(alerts.length, s.emitted);
  } finally {
    await w.close();
  }
});

test('close: links detached, programs and maps gone, abort signal closes too', { skip: noKernel }, async () => {
  const ac = new AbortController();
  const w = watch([{ name: 'x', event: 'open', path: { prefix: `${dir}/nothing/` } }], { onAlert: () => {}, signal: ac.signal });
  const progIds = w.programs.map((p) => p.id);
  assert.equal(progIds.length, w.tracepoints.length);
  assert.ok(w.tracepoints.includes('syscalls:sys_enter_openat'));
  ac.abort();
  await w.closed;
  await w.close(); // idempotent
  assert.ok(w.programs.every((p) => p.closed));
  const loaded = (id: number): boolean => {
    const fd = tryOpenById('prog', id);
    fd?.close();
    return fd !== undefined;
  };
  const gone = await waitFor(() => !progIds.some(loaded), 5000);
  assert.ok(gone, `programs still loaded: ${progIds.filter(loaded)}`);
  assert.equal(w.flush(), 0);
  assert.equal(w.stats().received, 0);
});

test('a child spawned after close is not affected', { skip: noKernel }, async () => {
  const forbidden = join(dir, 'forbidden2');
  copyFileSync('/usr/bin/true', forbidden);
  chmodSync(forbidden, 0o755);
  const w = watch([{ name: 'k', event: 'exec', binary: forbidden, action: 'kill' }], { onAlert: () => {} });
  await w.close();
  const r = await new Promise<[number | null, string | null]>((res) => spawn(forbidden).on('exit', (code, sig) => res([code, sig])));
  assert.deepEqual(r, [0, null]);
});
