// Mutated and truncated example objects: loadObjectSpec must either succeed or throw ElfError / BtfError
// carrying a section or an offset — never another exception, a hang or a huge allocation (bounded per case).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtfError, ElfError } from '../../src/errors.js';
import { loadObjectSpec } from '../../src/elf/object.js';
import { parseElf } from '../../src/elf/reader.js';
import { exampleObjects, noExamples, readExample } from './examples.js';
import { randBelow } from '../fixtures/random.js';


const INTERESTING = [0, 1, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 24, 64];

/** Byte ranges worth hitting: ELF header, section headers, symtab, relocations, BTF, BTF.ext, code, maps. */
function hotRanges(bytes: Uint8Array): [number, number][] {
  const elf = parseElf(bytes);
  const r: [number, number][] = [[0, 64]];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(v.getBigUint64(40, true));
  r.push([shoff, bytes.length]);
  for (const s of elf.sections) if (s.size && s.type !== 8 && !s.name.startsWith('.debug')) r.push([s.offset, s.offset + s.size]);
  return r;
}

function mutate(orig: Uint8Array, rand: (n: number) => number, hot: [number, number][]): Uint8Array {
  const kind = rand(10);
  if (kind === 0) return orig.slice(0, rand(orig.length)); // truncation
  const b = orig.slice();
  const n = 1 + rand(6);
  for (let k = 0; k < n; k++) {
    const [lo, hi] = hot[rand(hot.length)]!;
    const at = lo + rand(Math.max(1, hi - lo));
    if (at >= b.length) continue;
    if (kind < 5) b[at] = rand(256);
    else if (kind < 8) {
      const a4 = at & ~3;
      if (a4 + 4 <= b.length) new DataView(b.buffer).setUint32(a4, INTERESTING[rand(INTERESTING.length)]!, true);
    } else b[at] ^= 1 << rand(8);
  }
  return b;
}

test('mutated example objects give only ElfError/BtfError with a location', { skip: noExamples, timeout: 120_000 }, () => {
  const names = exampleObjects();
  const rand = randBelow(0x5eed);
  const perObject = Math.ceil(3000 / names.length);
  let errors = 0;
  let ok = 0;
  let slowest = 0;
  for (const name of names) {
    const orig = readExample(name)!;
    const hot = hotRanges(orig);
    for (let i = 0; i < perObject; i++) {
      const m = mutate(orig, rand, hot);
      const t0 = performance.now();
      try {
        loadObjectSpec(m, { config: new Map(), kernelRelease: '6.1.0' });
        ok++;
      } catch (e) {
        if (!(e instanceof ElfError || e instanceof BtfError)) {
          assert.fail(`${name} case ${i}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
        }
        assert.ok(e.section !== undefined || e.offset !== undefined, `${name} case ${i}: no location in "${e.message}"`);
        errors++;
      }
      const dt = performance.now() - t0;
      slowest = Math.max(slowest, dt);
      assert.ok(dt < 2000, `${name} case ${i} took ${dt.toFixed(0)} ms`);
    }
  }
  assert.ok(errors > 100, `${errors} rejected`);
  if (process.env.FUZZ_STATS) console.log({ errors, ok, slowest });
  assert.ok(ok > 100, `${ok} accepted`);
});
