/**
 * The kernel CLI commands end to end (bin/bpfkit.js): prog load/list/show/run (bpftool's output line),
 * map list/dump/update/lookup/delete, link list, feature probe, attach --duration, and typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './fixtures.js';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../../examples/build/', import.meta.url).pathname;
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { timeout: 60000 });

test('prog load --pin, list, show, run; map commands on its map', (t) => {
  const obj = `${EXAMPLES}xdp_proto.bpf.o`;
  if (!existsSync(obj)) return void t.skip('examples not built');
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}-cli`;
  const tmp = mkdtempSync(join(tmpdir(), 'bpfkit-cli-'));
  try {
    const load = cli('prog', 'load', obj, '--pin', dir, '--json');
    assert.equal(load.status, 0, load.stderr);
    const loaded = JSON.parse(load.stdout) as { programs: { id: number; mapIds: number[] }[] };
    const id = loaded.programs[0]!.id;
    const list = cli('prog', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${id}\\s+xdp\\s+xdp_count_proto`, 'm'));
    const show = JSON.parse(cli('prog', 'show', String(id), '--json').stdout) as { name: string };
    assert.equal(show.name, 'xdp_count_proto');
    // An Ethernet + IPv4 (protocol 17) header.
    const pkt = Buffer.alloc(64);
    pkt.writeUInt16BE(0x0800, 12);
    pkt[14] = 0x45;
    pkt[23] = 17;
    writeFileSync(join(tmp, 'pkt'), pkt);
    const r = cli('prog', 'run', `${dir}/xdp_count_proto`, '--data', join(tmp, 'pkt'), '--repeat', '10');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Return value: 2, duration \(average\): \d+ns\n$/);
    const mapId = String(loaded.programs[0]!.mapIds[0]);
    assert.match(cli('map', 'list').stdout, new RegExp(`^${mapId}\\s+percpu_array\\s+proto_count`, 'm'));
    const v = cli('map', 'lookup', mapId, '--key', '11 00 00 00', '--json');
    const value = Buffer.from((JSON.parse(v.stdout) as { value: string }).value, 'hex');
    assert.equal(value.readBigUInt64LE(0) + (value.length > 8 ? value.readBigUInt64LE(8) : 0n), 10n);
    assert.equal(cli('map', 'update', mapId, '--key', '01000000', '--value', '0500000000000000').status, 0);
    assert.match(cli('map', 'dump', mapId).stdout, /key: 01 00 00 00  value: 05 00/);
    const bad = cli('map', 'update', mapId, '--key', '0100', '--value', '05');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: MAP_UPDATE_ELEM: EINVAL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('errors: unknown program id, missing pin', () => {
  const a = cli('prog', 'show', '4000000000');
  assert.equal(a.status, 1);
  assert.match(a.stderr, /^error: PROG_GET_FD_BY_ID: (ENOENT|EINVAL)/);
  const b = cli('map', 'dump', '/sys/fs/bpf/bpfkit-no-such-pin');
  assert.equal(b.status, 1);
  assert.match(b.stderr, /^error: OBJ_GET: ENOENT/);
});

test('link list, feature probe (JSON)', () => {
  const l = cli('link', 'list', '--json');
  assert.equal(l.status, 0, l.stderr);
  assert.ok(Array.isArray(JSON.parse(l.stdout)));
  const f = cli('feature', 'probe', '--json');
  assert.equal(f.status, 0, f.stderr);
  const probe = JSON.parse(f.stdout) as { progTypes: Record<string, { ok: boolean }>; mapTypes: Record<string, { ok: boolean }> };
  assert.equal(probe.progTypes.xdp!.ok, true);
  assert.equal(probe.mapTypes.ringbuf!.ok, true);
});

test('attach --duration: attaches by section, detaches, prints events as JSON lines', (t) => {
  const obj = `${EXAMPLES}count_calls.bpf.o`;
  if (!existsSync(obj)) return void t.skip('examples not built');
  const r = cli('attach', obj, '--program', 'count_sys_enter', 'count_openat', '--duration', '0.3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /attached count_sys_enter: raw_tracepoint sys_enter/);
  assert.match(r.stderr, /attached count_openat: tracepoint syscalls:sys_enter_openat/);
  assert.match(r.stderr, /detached; \d+ events/);
});
