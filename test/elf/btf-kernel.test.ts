// The fixed-up BTF of every example object (ObjectSpec.btfRaw) is accepted by the kernel's BPF_BTF_LOAD,
// while the raw .BTF of an object with globals and externs is refused (so the fixup is what makes it load).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadObjectSpec } from '../../src/elf/object.js';
import { parseElf } from '../../src/elf/reader.js';
import { exampleObjects, noExamples, readExample } from './examples.js';

const skip = noExamples ?? (process.getuid?.() === 0 ? undefined : 'needs root for BPF_BTF_LOAD');

test('fixed-up object BTF loads into the kernel', { skip }, async (t) => {
  let loadBtf: (b: Uint8Array) => { close(): void };
  try {
    ({ loadBtf } = await import('../../src/kernel/load/btf-load.js'));
  } catch (e) {
    return t.skip(`kernel loader unavailable: ${(e as Error).message}`);
  }
  for (const name of exampleObjects()) {
    const spec = loadObjectSpec(readExample(name)!);
    assert.ok(spec.btfRaw, `${name} has BTF`);
    const fd = loadBtf(spec.btfRaw);
    fd.close();
  }
  const raw = parseElf(readExample('globals.bpf.o')!).section('.BTF')!.data;
  assert.throws(() => loadBtf(raw), /BTF_LOAD/);
});
