/**
 * The XDP load balancer's pure parts: MurmurHash3 against published vectors, Maglev properties (weighted
 * shares of table slots and of hashed flows, minimal disruption when a backend leaves or joins, order
 * independence, weight 0 draining), configuration validation with one-line errors naming the field, and the
 * `xdp-lb --dry-run` CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { compileLb, flowHash, lbTableSummary, MAGLEV_EMPTY, maglevTable, murmur3Words, normalizeLbConfig, type LbConfig, type MaglevBackend } from '../../src/net/lb/index.js';
import { mulberry32 } from '../fixtures/random.js';

const ip = (i: number) => ((10 << 24) | (1 << 16) | i) >>> 0;

test('MurmurHash3_x86_32 matches the published test vectors', () => {
  const words = (s: string) => {
    const b = Buffer.from(s);
    return Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(4 * i));
  };
  assert.equal(murmur3Words([], 0), 0);
  assert.equal(murmur3Words([], 1), 0x514e28b7);
  assert.equal(murmur3Words([], 0xffffffff), 0x81f16f39);
  assert.equal(murmur3Words([0], 0), 0x2362f9de);
  assert.equal(murmur3Words(words('aaaa'), 0x9747b28c), 0x5a97808a);
  assert.equal(murmur3Words(words('abcd'), 0x9747b28c), 0xf0478627);
});

test('Maglev: equal weights split the table within one slot; weights are honoured in slots and in flows', () => {
  const m = 65537;
  const eq = Array.from({ length: 7 }, (_, i): MaglevBackend => ({ addr: ip(i + 1), weight: 1 }));
  const counts = (t: Int32Array, n: number) => {
    const c = new Array<number>(n).fill(0);
    for (const i of t) c[i]!++;
    return c;
  };
  const c = counts(maglevTable(eq, m), 7);
  assert.ok(Math.max(...c) - Math.min(...c) <= 1, `equal weights: ${c}`);
  assert.equal(c.reduce((a, b) => a + b), m);

  const weighted = [1, 2, 3, 5, 1].map((w, i): MaglevBackend => ({ addr: ip(i + 1), weight: w }));
  const t = maglevTable(weighted, m);
  const wc = counts(t, 5);
  const total = 12;
  wc.forEach((n, i) => assert.ok(Math.abs(n - (m * weighted[i]!.weight) / total) <= 1, `backend ${i}: ${n} slots for weight ${weighted[i]!.weight}`));
  // Flows: 100k random 5-tuples hashed like the program does land within a few % of each weight share.
  const rnd = mulberry32(7);
  const flows = new Array<number>(5).fill(0);
  const key = new Uint8Array(16);
  const dv = new DataView(key.buffer);
  const N = 100_000;
  for (let f = 0; f < N; f++) {
    dv.setUint32(0, (rnd() * 2 ** 32) >>> 0);
    dv.setUint32(4, 0xc0000210);
    dv.setUint16(8, 1024 + Math.floor(rnd() * 60000));
    dv.setUint16(10, 443);
    key[12] = 6;
    flows[t[flowHash(key) % m]!]!++;
  }
  flows.forEach((n, i) => {
    const want = weighted[i]!.weight / total;
    assert.ok(Math.abs(n / N - want) < 0.03 * Math.max(1, want * 10), `backend ${i}: ${((100 * n) / N).toFixed(2)}% of flows, weight share ${(100 * want).toFixed(2)}%`);
  });
});

test('Maglev: removing one of N backends moves about 1/N of the slots; adding one moves about 1/(N+1)', () => {
  const m = 65537;
  for (const n of [5, 10, 20]) {
    const all = Array.from({ length: n }, (_, i): MaglevBackend => ({ addr: ip(i + 1), weight: 1 }));
    const before = maglevTable(all, m);
    const gone = 3;
    const rest = all.filter((_, i) => i !== gone);
    const after = maglevTable(rest, m);
    let moved = 0;
    let movedOthers = 0;
    for (let s = 0; s < m; s++) {
      const a = all[before[s]!]!.addr;
      const b = rest[after[s]!]!.addr;
      if (a !== b) {
        moved++;
        if (a !== all[gone]!.addr) movedOthers++;
      }
    }
    // The removed backend's ~1/N slots must move; Maglev keeps the churn among the others small.
    assert.ok(moved / m < 1 / n + 0.03, `N=${n}: ${((100 * moved) / m).toFixed(2)}% of slots moved`);
    assert.ok(movedOthers / m < 0.03, `N=${n}: ${((100 * movedOthers) / m).toFixed(2)}% of the other backends' slots moved`);
    // Adding it back restores the original table exactly (the table is a function of the set).
    assert.deepEqual(maglevTable(all, m), before);
    // Adding a new backend moves about 1/(N+1).
    const grown = [...all, { addr: ip(200), weight: 1 }];
    const g = maglevTable(grown, m);
    let gm = 0;
    for (let s = 0; s < m; s++) if (all[before[s]!]!.addr !== grown[g[s]!]!.addr) gm++;
    assert.ok(gm / m < 1 / (n + 1) + 0.03 && gm / m > 1 / (n + 1) - 0.02, `N=${n}: adding one moved ${((100 * gm) / m).toFixed(2)}%`);
  }
});

test('Maglev: order independent; weight 0 takes no slots; no positive weight gives an empty table', () => {
  const m = 4099;
  const bs = [5, 1, 9, 3].map((i): MaglevBackend => ({ addr: ip(i), weight: i % 3 === 0 ? 2 : 1 }));
  const t1 = Array.from(maglevTable(bs, m), (i) => bs[i]!.addr);
  const rev = [...bs].reverse();
  const t2 = Array.from(maglevTable(rev, m), (i) => rev[i]!.addr);
  assert.deepEqual(t2, t1);
  const drained = maglevTable([...bs, { addr: ip(77), weight: 0 }], m);
  assert.ok(!drained.includes(4));
  assert.ok(maglevTable([{ addr: ip(1), weight: 0 }], m).every((x) => x === MAGLEV_EMPTY));
  assert.ok(maglevTable([], m).every((x) => x === MAGLEV_EMPTY));
});

const good: LbConfig = { vips: [{ address: '10.0.0.10', protocol: 'tcp', port: 80, backends: [{ address: '10.1.0.1' }] }] };
const vip0 = good.vips[0]!;

test('bad configs give one-line UsageErrors naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /^lb config: expected an object/],
    [{ vips: 'x' }, /^vips: expected an array/],
    [{ vips: [], extra: 1 }, /^lb config: unknown field extra/],
    [{ ...good, ringSize: 65536 }, /^ringSize: must be a prime/],
    [{ ...good, ringSize: 5 }, /^ringSize: must be a prime/],
    [{ ...good, conntrackSize: 0 }, /^conntrackSize: entries must be an integer/],
    [{ ...good, tunnelSource: '1.2.3' }, /^tunnelSource: invalid IPv4 address/],
    [{ ...good, gatewayMac: '02:00:00:00:00' }, /^gatewayMac: invalid MAC address/],
    [{ vips: [{ ...vip0, address: '10.0.0.300' }] }, /^vips\[0\]\.address: invalid IPv4 address "10\.0\.0\.300"/],
    [{ vips: [{ ...vip0, address: '2001:db8::1' }] }, /^vips\[0\]\.address: IPv6 address .* not supported/],
    [{ vips: [{ ...vip0, protocol: 'sctp' }] }, /^vips\[0\]\.protocol: must be 'tcp' or 'udp'/],
    [{ vips: [{ ...vip0, port: 0 }] }, /^vips\[0\]\.port: port must be an integer 1\.\.65535, got 0/],
    [{ vips: [{ ...vip0, port: '80' }] }, /^vips\[0\]\.port: port must be an integer/],
    [{ vips: [{ ...vip0, mode: 'nat' }] }, /^vips\[0\]\.mode: must be 'ipip' or 'dsr'/],
    [{ vips: [vip0, { ...vip0 }] }, /^vips\[1\]: duplicate VIP 10\.0\.0\.10:80\/tcp \(also vips\[0\]\)/],
    [{ vips: [{ ...vip0, backends: undefined }] }, /^vips\[0\]\.backends: expected an array/],
    [{ vips: [{ ...vip0, backends: [{ address: '10.1.0.1', weight: -1 }] }] }, /^vips\[0\]\.backends\[0\]\.weight: weight must be an integer 0\.\.65535/],
    [{ vips: [{ ...vip0, backends: [{ address: '10.1.0.1', weight: 1.5 }] }] }, /^vips\[0\]\.backends\[0\]\.weight/],
    [{ vips: [{ ...vip0, backends: [{ address: '10.1.0.1' }, { address: '10.1.0.1' }] }] }, /^vips\[0\]\.backends\[1\]\.address: duplicate backend 10\.1\.0\.1/],
    [{ vips: [{ ...vip0, mode: 'dsr' }] }, /^vips\[0\]\.backends\[0\]\.mac: required in dsr mode/],
    [{ vips: [{ ...vip0, backends: [{ address: '10.1.0.1', mac: 'zz:00:00:00:00:00' }] }] }, /^vips\[0\]\.backends\[0\]\.mac: invalid MAC/],
    [{ vips: [{ ...vip0, backends: [{ address: '10.1.0.1', port: 8080 }] }] }, /^vips\[0\]\.backends\[0\]: unknown field port/],
    [{ ringSize: 7, vips: [{ ...vip0, backends: Array.from({ length: 7 }, (_, i) => ({ address: `10.1.0.${i + 1}` })) }] }, /^vips\[0\]\.backends: 7 backends need a ringSize above that/],
    [{ vips: Array.from({ length: 257 }, (_, i) => ({ ...vip0, port: i + 1 })) }, /^vips: 257 VIPs, at most 256/],
  ];
  for (const [cfg, re] of cases) {
    assert.throws(
      () => compileLb(cfg as LbConfig),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, `${JSON.stringify(cfg)?.slice(0, 80)}: not a UsageError: ${e}`);
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'), `multi-line message: ${e.message}`);
        return true;
      },
    );
  }
  // Defaults.
  const n = normalizeLbConfig(good);
  assert.equal(n.ringSize, 65537);
  assert.equal(n.vips[0]!.mode, 'ipip');
  assert.equal(n.vips[0]!.tunnelSource, 0x0a00000a, 'tunnel source defaults to the VIP');
  assert.equal(n.vips[0]!.backends[0]!.weight, 1);
});

test('bpfkit xdp-lb --dry-run prints the program size and the table split; bad configs are one-line errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-lb-'));
  try {
    const cfg: LbConfig = { ringSize: 4099, vips: [{ address: '10.0.0.10', protocol: 'udp', port: 53, backends: [{ address: '10.1.0.1', weight: 3 }, { address: '10.1.0.2' }] }] };
    writeFileSync(join(dir, 'lb.json'), JSON.stringify(cfg));
    const bin = join(process.cwd(), 'bin/bpfkit.js');
    const r = spawnSync(process.execPath, [bin, 'xdp-lb', '--config', join(dir, 'lb.json'), '--dry-run'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const want = lbTableSummary(compileLb(cfg).config)[0]!;
    assert.match(r.stdout, new RegExp(`^xdp_lb: ${compileLb(cfg).insns.length} instructions, 5 maps, Maglev table 4099 slots`));
    assert.ok(r.stdout.includes(`10.1.0.1 weight 3: ${want.backends[0]!.slots} slots (${(100 * want.backends[0]!.share).toFixed(2)}%, weight share 75.00%)`), r.stdout);
    assert.equal(want.backends[0]!.slots + want.backends[1]!.slots, 4099);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ vips: [{ ...cfg.vips[0], port: 70000 }] }));
    const b = spawnSync(process.execPath, [bin, 'xdp-lb', '--config', join(dir, 'bad.json'), '--dry-run'], { encoding: 'utf8' });
    assert.notEqual(b.status, 0);
    assert.equal(b.stderr.trim(), 'error: vips[0].port: port must be an integer 1..65535, got 70000');
    const i = spawnSync(process.execPath, [bin, 'xdp-lb', '--config', join(dir, 'lb.json')], { encoding: 'utf8' });
    assert.notEqual(i.status, 0);
    assert.match(i.stderr, /^error: -i\/--iface: required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
