/**
 * Security rules without the kernel: validation with one-line errors (file, rule index and name, field, why),
 * deny-errno refused with the reason, normalisation, generated programs (one per syscall variant of the events
 * used), decoding of a hand-built record, and `bpfkit secure check`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { verify } from '../../src/verifier/index.js';
import { alertJson, checkRules, compileSecurity, decodeRecord, normalizeSecurityRules, watch } from '../../src/security/index.js';
import { BASE_SIZE, EXEC_SIZE, OFF, VARIANTS } from '../../src/security/layout.js';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const TASK = { realParent: 1000, tgid: 2000 };

test('valid rules normalise: strings to bytes, ids to u32, CIDRs and ports', () => {
  const [a, b, c] = normalizeSecurityRules([
    { name: 'a', event: 'exec', binary: { exact: '/usr/bin/nc', prefix: ['/tmp/', '/dev/shm/'] }, comm: ['sh', 'bash'], action: 'kill' },
    { name: 'b', event: 'open', path: '/etc/shadow', access: 'write', uid: { not: [0, -1] } },
    { name: 'c', event: 'connect', dst: ['10.1.2.3/8', '192.168.1.1'], port: [22, [8000, 8100]] },
  ]);
  assert.equal(a!.action, 'kill');
  assert.equal(a!.binary!.exact.length, 1);
  assert.deepEqual([...a!.binary!.prefix[1]!], [...Buffer.from('/dev/shm/')]);
  assert.equal(a!.comm![1]!.length, 16);
  assert.equal(Buffer.from(a!.comm![1]!).toString('latin1').replace(/\0+$/, ''), 'bash');
  assert.equal(b!.action, 'alert');
  assert.deepEqual(b!.path, { exact: [new Uint8Array(Buffer.from('/etc/shadow'))], prefix: [] });
  assert.deepEqual(b!.uid, { values: [0, 0xffffffff], not: true });
  assert.deepEqual(c!.dst, [
    { addr: 0x0a000000, len: 8 },
    { addr: 0xc0a80101, len: 32 },
  ]);
  assert.deepEqual(c!.port, [
    [22, 22],
    [8000, 8100],
  ]);
  // `{ "rules": [...] }` documents are accepted too.
  assert.equal(checkRules({ rules: [{ name: 'x', event: 'kill', signal: 9 }] }).rules!.length, 1);
});

test('bad rules: every problem on its own line naming file, rule, field and why', () => {
  const { problems, rules } = checkRules(
    [
      { name: 'deny', event: 'open', path: { prefix: '/etc/' }, action: 'deny-errno' },
      { name: 'deny', event: 'open', binary: '/bin/sh' },
      { event: 'connect', dst: '10.0.0.0/33', port: 70000 },
      { name: 'e', event: 'fork' },
      { name: 'f', event: 'open', path: { prefx: '/etc' }, uid: 'root', comm: 'averyveryverylongname', colour: 'red' },
      { name: 'g', event: 'exec', binary: 'x'.repeat(255) },
      'not an object',
    ],
    'r.json',
  );
  assert.equal(rules, undefined);
  const expect = [
    /^r\.json: rule #0 "deny": action: deny-errno is not supported: .*bpf_override_return.*LSM.*use "kill"/,
    /^r\.json: rule #1 "deny": binary: applies to exec rules only, not open$/,
    /^r\.json: rule #1 "deny": name: duplicate of rule #0$/,
    /^r\.json: rule #2: name: required/,
    /^r\.json: rule #2: dst: invalid IPv4 prefix "10\.0\.0\.0\/33"$/,
    /^r\.json: rule #2: port: expected a port 0\.\.65535 .* got 70000$/,
    /^r\.json: rule #3 "e": event: expected one of exec, open, connect, ptrace, setuid, kill, got "fork"$/,
    /^r\.json: rule #4 "f": colour: unknown field$/,
    /^r\.json: rule #4 "f": uid: expected an integer/,
    /^r\.json: rule #4 "f": path\.prefx: unknown key/,
    /^r\.json: rule #4 "f": comm: "averyveryverylongname" is 21 bytes, at most 15/,
    /^r\.json: rule #5 "g": binary: "x+" is 255 bytes, at most 254/,
    /^r\.json: rule #6: rule: expected an object$/,
  ];
  assert.equal(problems.length, expect.length, problems.join('\n'));
  for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `no problem matches ${re}:\n${problems.join('\n')}`);
  for (const p of problems) assert.ok(!p.includes('\n'));
  assert.deepEqual(checkRules({ rulez: [] }, 'f').problems, ['f: expected an array of rules or { "rules": [...] }']);
  assert.deepEqual(checkRules([], 'f').problems, ['f: no rules']);
  assert.match(checkRules(Array.from({ length: 65 }, (_, i) => ({ name: `r${i}`, event: 'exec' })), 'f').problems[0]!, /65 rules, at most 64/);
});

test('normalizeSecurityRules and watch throw one-line UsageErrors before touching the kernel', () => {
  assert.throws(() => normalizeSecurityRules([{ name: 'x', event: 'open', action: 'deny-errno' }], 'a.json'), (e: unknown) => e instanceof UsageError && /^a\.json: rule #0 "x": action: deny-errno/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => watch([{ name: 'x', event: 'open', action: 'deny-errno' }], { onAlert: () => {} }), UsageError);
  assert.throws(() => normalizeSecurityRules([{ name: 'x', event: 'nope' as 'exec' }, { name: 'y', event: 'nope' as 'exec' }]), /\(and 1 more problem\)$/);
});

test('one program per syscall variant of the events the rules use, rules unrolled into it', () => {
  const rules = normalizeSecurityRules([
    { name: 'w', event: 'open', path: { prefix: '/etc/' }, access: 'write' },
    { name: 'n', event: 'connect', port: 22 },
    { name: 'n2', event: 'connect', dst: '10.0.0.0/8', action: 'kill' },
  ]);
  const { programs, maps } = compileSecurity(rules, { task: TASK, excludePid: 1234 });
  assert.deepEqual(
    programs.map((p) => p.variant.syscall),
    ['open', 'openat', 'openat2', 'creat', 'connect'],
  );
  const conn = programs.find((p) => p.variant.syscall === 'connect')!;
  assert.match(conn.source, /; rule #1 n\n/);
  assert.match(conn.source, /; rule #2 n2\n/);
  assert.doesNotMatch(conn.source, /rule #0/);
  assert.match(conn.source, /if w0 != 1234 goto not_self/);
  // Only the kill rule's program sends a signal.
  assert.match(conn.source, /call 109/);
  assert.doesNotMatch(programs[0]!.source, /call 109/);
  assert.ok(conn.spec.references.every((r) => r.kind === 'map' && ['sec_events', 'sec_stats'].includes(r.map)));
  assert.deepEqual(
    maps.map((m) => m.name),
    ['sec_events', 'sec_stats'],
  );
});

test("generated programs pass bpfkit's own static verifier (every event, alert and kill rules)", () => {
  const rules = normalizeSecurityRules([
    { name: 'a', event: 'exec', binary: { exact: '/usr/bin/nc', prefix: ['/tmp/', '/dev/shm/'] }, ppid: { not: 1 } },
    { name: 'b', event: 'open', path: { prefix: '/etc/' }, access: 'write', comm: ['sh', 'bash'], uid: [0, 1000] },
    { name: 'c', event: 'connect', dst: ['10.0.0.0/8', '127.0.0.1'], port: [22, [80, 90]] },
    { name: 'd', event: 'ptrace', request: 16, targetPid: 1 },
    { name: 'e', event: 'setuid', targetUid: 0, gid: 5 },
    { name: 'f', event: 'kill', signal: 9, pid: 77 },
    { name: 'g', event: 'exec', binary: '/usr/bin/evil', action: 'kill' },
  ]);
  const { programs, maps } = compileSecurity(rules, { task: TASK, excludePid: 1 });
  assert.equal(programs.length, VARIANTS.length);
  for (const p of programs) {
    const r = verify(p.spec, { maps });
    assert.ok(r.ok, `${p.variant.syscall}: ${r.ok ? '' : r.errors[0]!.message}`);
  }
});

test('decodeRecord: one alert per rule in the mask, fields by event', () => {
  const rules = normalizeSecurityRules([
    { name: 'r0', event: 'exec', binary: '/bin/x' },
    { name: 'r1', event: 'exec', binary: { prefix: '/bin/' }, action: 'kill' },
  ]);
  const rec = new Uint8Array(EXEC_SIZE);
  const dv = new DataView(rec.buffer);
  dv.setBigUint64(OFF.ts, process.hrtime.bigint(), true);
  dv.setBigUint64(OFF.mask, 3n, true);
  dv.setUint32(OFF.kind, 1, true);
  dv.setUint32(OFF.flags, 1, true);
  dv.setUint32(OFF.pid, 42, true);
  dv.setUint32(OFF.ppid, 1, true);
  dv.setUint32(OFF.uid, 1000, true);
  dv.setUint32(OFF.variant, VARIANTS.findIndex((v) => v.syscall === 'execve'), true);
  rec.set(Buffer.from('sh'), OFF.comm);
  rec.set(Buffer.from('/bin/x'), OFF.str);
  dv.setBigUint64(OFF.a3, 2n, true);
  rec.set(Buffer.from('x'), BASE_SIZE);
  rec.set(Buffer.from('--flag'), BASE_SIZE + 64);
  const alerts = decodeRecord(rec, rules);
  assert.deepEqual(
    alerts.map((a) => [a.rule, a.action, a.killed, a.syscall, a.pid, a.ppid, a.uid, a.comm, a.binary, a.args]),
    [
      ['r0', 'alert', true, 'execve', 42, 1, 1000, 'sh', '/bin/x', ['x', '--flag']],
      ['r1', 'kill', true, 'execve', 42, 1, 1000, 'sh', '/bin/x', ['x', '--flag']],
    ],
  );
  assert.ok(Math.abs(alerts[0]!.time.getTime() - Date.now()) < 1000);
  const j = JSON.parse(alertJson(alerts[0]!));
  assert.equal(j.rule, 'r0');
  assert.equal(typeof j.time, 'string');
});

test('bpfkit secure check: OK summary, or one error line per problem and exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-secure-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ rules: [{ name: 'a', event: 'exec', binary: '/usr/bin/nc', action: 'kill' }, { name: 'b', event: 'open', path: { prefix: '/etc/' } }] }));
    let r = spawnSync(process.execPath, [BIN, 'secure', 'check', good], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${good}: 2 rules OK (1 exec, 1 open)\n`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ name: 'a', event: 'exec', path: '/x' }, { name: 'b', event: 'connect', port: -1 }]));
    r = spawnSync(process.execPath, [BIN, 'secure', 'check', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `error: ${bad}: rule #0 "a": path: applies to open rules only, not exec`,
      `error: ${bad}: rule #1 "b": port: expected a port 0..65535 or [lo, hi] with lo <= hi, got -1`,
    ]);
    const syntax = join(dir, 'syntax.json');
    writeFileSync(syntax, '[{"name": ');
    r = spawnSync(process.execPath, [BIN, 'secure', 'check', syntax], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^error: ${syntax}: invalid JSON: .*\\n$`));
    r = spawnSync(process.execPath, [BIN, 'secure', '--rules', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: .*rule #0 "a": path: applies to open rules only, not exec \(and 1 more: run 'bpfkit secure check .*'\)\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
