// `bpfkit run`: per-packet verdicts (text and --json), --out pcap of the packets let through, --maps initial
// contents (hex and numbers), --dump-maps, --ctx, and usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePackets, writePcap } from '../../fixtures/packets.js';
import { readCapture } from '../../../src/pcap/index.js';

const root = process.cwd();
const xdp = join(root, 'examples/build/xdp_proto.bpf.o');
const tc = join(root, 'examples/build/tc_filter.bpf.o');
const skip = !existsSync(xdp) || !existsSync(tc) ? 'examples not built (scripts/build-examples.sh)' : false;

function bpfkit(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/bpfkit.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('bpfkit run: verdicts per packet, --json, --out, --maps, --dump-maps, --ctx', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const recs = generatePackets(40, 5);
    const pcap = join(dir, 'in.pcap');
    writeFileSync(pcap, writePcap(recs));
    const j = bpfkit('run', xdp, '--pcap', pcap, '--json', '--dump-maps');
    assert.equal(j.code, 0, j.err);
    const lines = j.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, recs.length + 1);
    lines.slice(0, -1).forEach((l, i) => {
      assert.equal(l.index, i);
      if (recs[i].data.length < 14) assert.match(l.error, /14\.\./);
      else {
        assert.equal(l.verdict, 'XDP_PASS');
        assert.equal(l.retval, 2);
        assert.equal(l.packet, Buffer.from(recs[i].data).toString('hex'));
      }
    });
    const maps = lines[lines.length - 1].maps;
    assert.equal(maps.proto_count.type, 'percpu_array');
    const counted = maps.proto_count.entries.reduce((n: number, e: { value: string[] }) => n + Number(e.value[0]), 0);
    assert.ok(counted > 0 && counted <= recs.length);

    // tc program with .rodata settings via --maps (hex) and the stats map via numbers; --out keeps non-dropped packets.
    const init = join(dir, 'maps.json');
    writeFileSync(init, JSON.stringify({ stats: [{ key: 0, value: '0a00000000000000' + '00'.repeat(16) }] }));
    const ctx = join(dir, 'ctx.json');
    writeFileSync(ctx, JSON.stringify({ mark: 3 }));
    const out = join(dir, 'out.pcap');
    const t = bpfkit('run', tc, '--program', 'tc_count_mark', '--pcap', pcap, '--maps', init, '--ctx', ctx, '--out', out, '--dump-maps');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /#\d+: TC_ACT_OK 0/);
    assert.match(t.out, /map stats \(array, 1 entries\)/);
    const ok = recs.filter((r) => r.data.length >= 14 && !(((r.data[12] << 8) | r.data[13]) === 0x0800 && r.data.length < 34) && !(((r.data[12] << 8) | r.data[13]) === 0x86dd && r.data.length < 54));
    assert.match(t.out, new RegExp(`"packets":"${10 + ok.length}"`));
    assert.equal(readCapture(readFileSync(out)).records.length, ok.length);

    const noProg = bpfkit('run', tc, '--pcap', pcap);
    assert.equal(noProg.code, 1);
    assert.match(noProg.err, /^error: .*choose one with --program/);
    const badMaps = join(dir, 'bad.json');
    writeFileSync(badMaps, JSON.stringify({ nope: [] }));
    assert.match(bpfkit('run', xdp, '--pcap', pcap, '--maps', badMaps).err, /no map nope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
