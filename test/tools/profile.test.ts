/** profile against the real kernel (a busy child), and its folded, SVG and pprof outputs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { features } from '../../src/kernel/features/index.js';
import { decodePprof, pprofBytes } from '../../src/tools/export/pprof.js';
import { fileURLToPath } from 'node:url';
import { PROFILE_PROTO_URL } from '../../src/tools/export/pprof.js';
import { flameGraphSvg, foldedStacks } from '../../src/tools/flamegraph.js';
import { profile, type ProfileResult } from '../../src/tools/profile.js';
import { heldChild, noKernel, reap, testProgram } from './fixtures.js';
import { parseXml, type XmlElement } from './xml.js';

const tbusy = testProgram('tbusy');
const skip = noKernel ?? (features.perfEvents().ok ? undefined : features.perfEvents().reason) ?? (tbusy ? undefined : 'gcc cannot build the test program');
const protoFile = new URL('../../../src/tools/export/profile.proto', import.meta.url);

let result: ProfileResult | undefined;
let childPid = 0;
/** One profile run of a busy child, shared by the tests below. */
async function busyProfile(): Promise<ProfileResult> {
  if (result) return result;
  const h = heldChild(tbusy!, ['3000']);
  childPid = h.pid;
  try {
    await h.ready;
    result = await profile({ hz: 199, pid: h.pid, duration: 1, onReady: () => h.go() });
  } finally {
    reap(h.child);
  }
  return result;
}

test('profile: samples of a busy child, symbolised to its spin() function', { skip }, async () => {
  const r = await busyProfile();
  assert.equal(r.hz, 199);
  assert.ok(r.totalSamples >= 50, `only ${r.totalSamples} samples in 1 s at 199 Hz`);
  assert.ok(r.stacks.every((s) => s.pid === childPid && s.comm === 'tbusy'), 'only the child (pid filter)');
  const inSpin = r.stacks.filter((s) => s.frames.some((f) => !f.kernel && f.name === 'spin')).reduce((n, s) => n + s.count, 0);
  assert.ok(inSpin > r.totalSamples / 2, `spin() in ${inSpin} of ${r.totalSamples} samples`);
  const withMain = r.stacks.some((s) => s.frames.some((f) => f.name === 'main'));
  assert.ok(withMain, 'frame-pointer unwinding reaches main()');
});

test('profile: folded output has the child\'s comm as root and spin as a frame', { skip }, async () => {
  const folded = foldedStacks((await busyProfile()).stacks);
  const lines = folded.trimEnd().split('\n');
  assert.ok(lines.length > 0);
  for (const l of lines) assert.match(l, /^tbusy(;[^;\s]+)* [1-9][0-9]*$/);
  assert.ok(lines.some((l) => /;main;(.*;)?spin( |;)/.test(l)), folded);
});

function all(e: XmlElement): XmlElement[] {
  return [e, ...e.children.flatMap(all)];
}

test('profile: the SVG flame graph is well-formed XML with nested rects and titles', { skip }, async () => {
  const r = await busyProfile();
  const svg = flameGraphSvg(foldedStacks(r.stacks), { title: 'a <test> & "quotes"' });
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const groups = all(root).filter((e) => e.name === 'g');
  const titles = groups.map((g) => g.children.find((c) => c.name === 'title')!.text);
  assert.ok(titles.some((t) => t.startsWith(`all (${r.totalSamples} samples`)));
  assert.ok(titles.some((t) => t.startsWith('tbusy (')));
  assert.ok(titles.some((t) => t.startsWith('spin (')));
  assert.ok(all(root).some((e) => e.name === 'text' && e.text.includes('a <test> & "quotes"')));
  // Children sit above (smaller y) and inside (x range) of their parent: check the spin frame against "all".
  const rect = (title: string) => groups.find((g) => g.children.find((c) => c.name === 'title')!.text.startsWith(title))!.children.find((c) => c.name === 'rect')!.attrs;
  const a = rect('all (');
  const s = rect('spin (');
  assert.ok(Number(s.y) < Number(a.y));
  assert.ok(Number(s.x) >= Number(a.x) && Number(s.x) + Number(s.width) <= Number(a.x) + Number(a.width) + 0.01);
});

test('flameGraphSvg: odd frame names stay well-formed', () => {
  const svg = flameGraphSvg('a<b;c&d;"e\'\u0001 3\nx;y 2\n');
  const root = parseXml(svg);
  const titles = all(root).filter((e) => e.name === 'title').map((e) => e.text);
  assert.ok(titles.includes('a<b (3 samples, 60.00%)'), titles.join('|'));
  assert.ok(titles.some((t) => t.startsWith('"e\'? (3 samples')));
});

test('profile: pprof decodes with samples/count and cpu/nanoseconds and resolvable locations', { skip }, async () => {
  const r = await busyProfile();
  const bytes = pprofBytes(r);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'gzipped');
  const p = decodePprof(bytes) as any;
  const str = (i: string | number) => p.string_table[Number(i)];
  assert.equal(p.string_table[0], '');
  assert.deepEqual(p.sample_type.map((t: any) => [str(t.type), str(t.unit)]), [['samples', 'count'], ['cpu', 'nanoseconds']]);
  assert.deepEqual([str(p.period_type.type), str(p.period_type.unit)], ['cpu', 'nanoseconds']);
  assert.equal(Number(p.period), Math.round(1e9 / 199));
  const total = p.sample.reduce((n: number, s: any) => n + Number(s.value[0]), 0);
  assert.equal(total, r.totalSamples);
  for (const s of p.sample) assert.equal(Number(s.value[1]), Number(s.value[0]) * Number(p.period));
  const locs = new Map(p.location.map((l: any) => [String(l.id), l]));
  const funcs = new Map(p.function.map((f: any) => [String(f.id), f]));
  const maps = new Set(p.mapping.map((m: any) => String(m.id)));
  let spin = 0;
  for (const s of p.sample) {
    assert.equal(str(s.label.find((l: any) => str(l.key) === 'comm').str), 'tbusy');
    for (const id of s.location_id) {
      const l: any = locs.get(String(id));
      assert.ok(l, `location ${id}`);
      assert.ok(String(l.mapping_id) === '0' || maps.has(String(l.mapping_id)));
      const f: any = funcs.get(String(l.line[0].function_id));
      assert.ok(f, `function of location ${id}`);
      if (str(f.name) === 'spin') spin++;
    }
  }
  assert.ok(spin > 0, 'spin() among the functions');
  // Validate against the schema shipped as src/tools/export/profile.proto (the file the exporter itself reads).
  assert.equal(fileURLToPath(PROFILE_PROTO_URL), fileURLToPath(protoFile));
  const text = readFileSync(protoFile, 'utf8');
  const T = protobuf.parse(text, { keepCase: true }).root.lookupType('perftools.profiles.Profile');
  const { gunzipSync } = await import('node:zlib');
  const msg = T.decode(gunzipSync(bytes));
  assert.equal(T.verify(msg), null);
  assert.deepEqual([...T.encode(msg).finish()], [...gunzipSync(bytes)], 're-encodes byte for byte');
});
