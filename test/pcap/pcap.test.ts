import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture, readPcap, readPcapng, writePcap, writePcapng, Linktype } from '../../src/pcap/index.js';
import { UsageError } from '../../src/errors.js';
import { generatePackets } from '../fixtures/packets.js';

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

test('pcap round trip keeps data, timestamps and wire lengths', () => {
  const pkts = generatePackets(200, 3);
  const back = readPcap(writePcap(pkts));
  assert.equal(back.linktype, Linktype.EN10MB);
  assert.equal(back.snaplen, 262144);
  assert.equal(back.records.length, 200);
  back.records.forEach((r, i) => {
    assert.deepEqual(r.data, pkts[i]!.data);
    assert.equal(r.ts, pkts[i]!.ts);
    assert.equal(r.origLen, pkts[i]!.origLen ?? pkts[i]!.data.length);
  });
});

test('nanosecond pcap and big-endian pcap are read', () => {
  const pkts = generatePackets(5, 1);
  const ns = readPcap(writePcap(pkts, { nanoseconds: true }));
  assert.equal(ns.resolution, 'ns');
  assert.equal(ns.records[3]!.ts, pkts[3]!.ts);
  // Byte-swap the file header and record headers to big-endian.
  const le = writePcap(pkts.slice(0, 2));
  const be = new Uint8Array(le);
  const v = new DataView(le.buffer);
  const w = new DataView(be.buffer);
  w.setUint32(0, v.getUint32(0, true), false);
  w.setUint16(4, 2, false);
  w.setUint16(6, 4, false);
  w.setUint32(16, v.getUint32(16, true), false);
  w.setUint32(20, v.getUint32(20, true), false);
  let at = 24;
  for (let i = 0; i < 2; i++) {
    for (let f = 0; f < 4; f++) w.setUint32(at + f * 4, v.getUint32(at + f * 4, true), false);
    at += 16 + v.getUint32(at + 8, true);
  }
  const r = readCapture(be);
  assert.equal(r.records.length, 2);
  assert.deepEqual(r.records[1]!.data, pkts[1]!.data);
  assert.equal(r.records[1]!.ts, pkts[1]!.ts);
});

test('pcapng round trip, and readCapture detects the format', () => {
  const pkts = generatePackets(50, 9);
  const ng = writePcapng(pkts);
  const back = readCapture(ng);
  assert.equal(back.format, 'pcapng');
  assert.equal(back.records.length, 50);
  back.records.forEach((r, i) => {
    assert.deepEqual(r.data, pkts[i]!.data);
    assert.equal(r.ts, pkts[i]!.ts);
    assert.equal(r.linktype, Linktype.EN10MB);
  });
  assert.equal(readPcapng(ng).records.length, 50);
});

test('malformed capture files raise UsageError', () => {
  assert.throws(() => readCapture(new Uint8Array([1, 2, 3])), UsageError);
  assert.throws(() => readCapture(new Uint8Array(24)), UsageError);
  const good = writePcap(generatePackets(2, 1));
  assert.throws(() => readPcap(good.slice(0, good.length - 3)), /claims|truncated/);
  const ng = writePcapng(generatePackets(2, 1));
  const bad = new Uint8Array(ng);
  new DataView(bad.buffer).setUint32(4, 13, true);
  assert.throws(() => readPcapng(bad), UsageError);
});

test('tcpdump reads what we write (pcap and pcapng) and we read what tcpdump writes', { skip: hasTcpdump ? false : 'tcpdump is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-pcap-'));
  try {
    const pkts = generatePackets(300, 11);
    writeFileSync(join(dir, 'a.pcap'), writePcap(pkts));
    writeFileSync(join(dir, 'a.pcapng'), writePcapng(pkts));
    for (const f of ['a.pcap', 'a.pcapng']) {
      const out = execFileSync('tcpdump', ['-r', join(dir, f), '-nn', '-q', '-tt'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      assert.equal(out.split('\n').filter((l) => /^\d+\.\d{6} /.test(l)).length, 300, f);
    }
    execFileSync('tcpdump', ['-r', join(dir, 'a.pcapng'), '-w', join(dir, 'b.pcap'), 'ip'], { stdio: 'ignore' });
    const b = readCapture(new Uint8Array(readFileSync(join(dir, 'b.pcap'))));
    assert.ok(b.records.length > 50);
    const byTs = new Map(pkts.map((p) => [p.ts, p]));
    for (const r of b.records) assert.deepEqual(r.data, byTs.get(r.ts)!.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the packet generator is deterministic and varied', () => {
  const a = generatePackets(1000, 42);
  const b = generatePackets(1000, 42);
  assert.deepEqual(a, b);
  assert.notDeepEqual(generatePackets(10, 1), generatePackets(10, 2));
  const types = new Set(a.map((p) => (p.data.length >= 14 ? (p.data[12]! << 8) | p.data[13]! : -1)));
  for (const t of [0x0800, 0x86dd, 0x0806, 0x8035, 0x8100]) assert.ok(types.has(t), `ethertype 0x${t.toString(16)}`);
  assert.ok(a.some((p) => p.origLen !== undefined && p.origLen > p.data.length), 'truncated captures');
  assert.equal(new Set(a.map((p) => p.ts)).size, 1000, 'unique timestamps');
});
