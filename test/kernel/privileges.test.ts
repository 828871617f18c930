/**
 * Missing privileges give typed errors: a child node process running as nobody (uid/gid 65534, no
 * capabilities) imports the built library (dist/src/index.js) and tries to create a map, load a program and
 * add a tc filter. Each must fail with a KernelError whose errnoName is EPERM and whose hint names what is
 * missing (CAP_BPF / CAP_SYS_ADMIN and kernel.unprivileged_bpf_disabled; CAP_NET_ADMIN for tc). Needs root to
 * switch user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { privilegeHint } from '../../src/kernel/sys/errno.js';

const index = new URL('../../src/index.js', import.meta.url).pathname;
const root = process.getuid?.() === 0;
const unprivDisabled = (() => {
  try {
    return readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8').trim();
  } catch {
    return undefined;
  }
})();

/** Run `body` (ESM, `bk` = the library) as nobody; it prints one JSON line per attempt. */
function asNobody(body: string): { status: number | null; out: Record<string, unknown>[]; stderr: string } {
  const code = `const bk = await import(${JSON.stringify(index)});\nconst out = (what, f) => { try { f(); console.log(JSON.stringify({ what, ok: true })); } catch (e) { console.log(JSON.stringify({ what, ok: false, cls: e?.constructor?.name, isKernelError: e instanceof bk.KernelError, errnoName: e?.errnoName, command: e?.command, hint: e?.hint, message: e?.message })); } };\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20000, cwd: '/' });
  const out = (r.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, out, stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

test('unprivileged map create / program load / tc attach: KernelError EPERM naming the missing capability', { skip: root ? false : 'needs root (to run a child as uid 65534)' }, () => {
  assert.ok(existsSync(index), `${index} built`);
  const r = asNobody(`
out('map', () => bk.KernelMap.create({ name: 'bk_unpriv', type: bk.MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 }));
out('prog', () => bk.loadInsns(bk.ProgType.SOCKET_FILTER, [bk.insn(0xb7, 0, 0, 0, 0), bk.insn(0x95)], { name: 'bk_unpriv' }));
out('tc', () => bk.ensureClsact('lo'));
`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.out.map((o) => o.what), ['map', 'prog', 'tc'], r.stderr);
  const [map, prog, tc] = r.out;
  for (const [o, command] of [[map, 'MAP_CREATE'], [prog, 'PROG_LOAD']] as const) {
    assert.deepEqual({ ok: o!.ok, isKernelError: o!.isKernelError, cls: o!.cls, errnoName: o!.errnoName, command: o!.command }, { ok: false, isKernelError: true, cls: 'KernelError', errnoName: 'EPERM', command });
    assert.match(String(o!.hint), /lacks CAP_BPF \(and CAP_SYS_ADMIN\)/);
    if (unprivDisabled && unprivDisabled !== '0') assert.match(String(o!.hint), new RegExp(`unprivileged_bpf_disabled=${unprivDisabled}`));
    assert.match(String(o!.message), new RegExp(`^${command}: EPERM .*CAP_BPF`));
  }
  // Changing tc needs CAP_NET_ADMIN (the kernel refuses the netlink request).
  assert.deepEqual({ ok: tc!.ok, isKernelError: tc!.isKernelError, errnoName: tc!.errnoName, command: tc!.command }, { ok: false, isKernelError: true, errnoName: 'EPERM', command: 'RTM_NEWQDISC' });
  assert.match(String(tc!.hint), /lacks CAP_NET_ADMIN/);
});

test('with privileges, an EPERM hint says what else can refuse', () => {
  if (!root) return;
  assert.match(privilegeHint('PROG_LOAD'), /despite CAP_BPF\/CAP_SYS_ADMIN/);
  assert.match(privilegeHint('RTM_NEWTFILTER'), /CAP_NET_ADMIN/);
  assert.match(privilegeHint('perf_event_open'), /perf_event_paranoid=/);
});
