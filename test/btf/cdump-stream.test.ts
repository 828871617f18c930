// Streaming C dump (btfToCBytes / btfToCChunks / writeBtfAsC): the chunks join to exactly btfToC's text, the
// CLI streams the same bytes through a pipe, name deduplication compares name text (not string offsets), and
// malformed BTF is rejected with the same BtfError before any chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Btf, BtfBuilder, btfToC, btfToCBytes, btfToCChunks, writeBtfAsC } from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const noKernel = existsSync(VMLINUX) ? false : 'no kernel BTF at /sys/kernel/btf/vmlinux';
const bin = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));

/** A small BTF with every kind the dumper writes, non-ASCII names and a name clash. */
function sample(): Btf {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const char = b.addInt('char', 1, { char: true });
  const fwd = b.add({ kind: 'fwd', name: 'pt', fwdKind: 'struct' });
  const pt = b.addStruct('pt', 24, [
    { name: 'x', typeId: int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'f', typeId: int, bitOffset: 32, bitfieldSize: 3 },
    { name: 'self', typeId: b.addPtr(fwd), bitOffset: 64, bitfieldSize: 0 },
    { name: 'name', typeId: b.addArray(char, 8, int), bitOffset: 128, bitfieldSize: 0 },
  ]);
  b.addTypedef('pt_t', pt);
  b.addStruct('pt', 4, [{ name: 'y', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  b.add({ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'A', value: 1 }] });
  b.add({ kind: 'enum', name: 'e2', size: 4, signed: true, values: [{ name: 'A', value: -1 }] });
  const proto = b.add({ kind: 'func_proto', returnTypeId: int, params: [{ name: 'p', typeId: b.addPtr(pt) }, { name: '', typeId: 0 }] });
  b.addTypedef('cb_t', b.addPtr(proto));
  b.addStruct('ünïcode', 4, [{ name: 'é', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  return Btf.parse(b.encode());
}

function collectBytes(btf: Btf, chunkSize: number): Uint8Array[] {
  return [...btfToCBytes(btf, { chunkSize })];
}

test('chunks (bytes, strings, callback) join to btfToC, including non-ASCII names', () => {
  const btf = sample();
  const whole = btfToC(btf);
  assert.match(whole, /struct pt___2 \{/);
  assert.match(whole, /\tA___2 = -1,/);
  assert.match(whole, /struct ünïcode \{\n\tint é;\n\};/);
  for (const size of [1, 7, 64, 1 << 16]) {
    assert.equal([...btfToCChunks(btf, { chunkSize: size })].join(''), whole, `chunkSize ${size}`);
    const parts: string[] = [];
    writeBtfAsC(btf, (c) => parts.push(c), { chunkSize: size });
    assert.equal(parts.join(''), whole);
    assert.equal(Buffer.concat(collectBytes(btf, size)).toString('utf8'), whole);
  }
  // Options reach the streaming variants too.
  const opts = { guard: '', preserveAccessIndex: false, roots: [btf.findByName('cb_t')!.id] };
  assert.equal([...btfToCChunks(btf, opts)].join(''), btfToC(btf, opts));
});

test('equal names at different string offsets are deduplicated by their text', () => {
  // Two structs `aa` and `bb`; then the string table's `bb` is overwritten with `aa`, so the two names are equal
  // text at two offsets (a string table that is not deduplicated).
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  b.addStruct('aa', 4, [{ name: 'x', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  b.addStruct('bb', 4, [{ name: 'y', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const bytes = b.encode();
  const btf0 = Btf.parse(bytes);
  const offB = btf0.nameOffOf(3);
  const strStart = btf0.header.hdrLen + btf0.header.strOff;
  assert.equal(Buffer.from(bytes.subarray(strStart + offB, strStart + offB + 2)).toString(), 'bb');
  bytes[strStart + offB] = 0x61;
  bytes[strStart + offB + 1] = 0x61;
  const btf = Btf.parse(bytes);
  assert.notEqual(btf.nameOffOf(2), btf.nameOffOf(3));
  const h = btfToC(btf, { guard: '', preserveAccessIndex: false });
  assert.equal(h, 'struct aa {\n\tint x;\n};\n\nstruct aa___2 {\n\tint y;\n};\n\n');
});

test('malformed BTF: the same BtfError as decoding, before any chunk', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  b.addStruct('s', 4, [{ name: 'x', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const bytes = b.encode();
  const btf0 = Btf.parse(bytes);
  // Point the member's type at a type id that does not exist.
  const typeStart = btf0.header.hdrLen + btf0.header.typeOff;
  const memberTypeAt = typeStart + 16 + 12 + 4; // int record (16 bytes), struct header (12), member name (4)
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(memberTypeAt, 99, true);
  const btf = Btf.parse(bytes);
  let expected = '';
  try {
    btf.decode(2);
  } catch (e) {
    expected = (e as Error).message;
  }
  assert.match(expected, /out of range/);
  const gen = btfToCChunks(btf);
  assert.throws(() => gen.next(), (e: unknown) => e instanceof BtfError && e.message === expected);
  assert.throws(() => btfToC(btf), (e: unknown) => e instanceof BtfError && e.message === expected);
});

test('vmlinux: small chunks join to btfToC; every chunk but the last reaches the chunk size', { skip: noKernel }, () => {
  const btf = Btf.loadKernel();
  const whole = btfToC(btf);
  const chunks = collectBytes(btf, 4096);
  assert.ok(chunks.length > 100, `${chunks.length} chunks`);
  for (const c of chunks.slice(0, -1)) assert.ok(c.length >= 4096);
  assert.ok(Buffer.concat(chunks).toString('utf8') === whole, 'chunks differ from btfToC');
});

test('CLI streams the C header through a slow pipe unchanged, and stops quietly when the reader leaves', { skip: noKernel }, async () => {
  const expected = btfToC(Btf.loadKernel());
  const child = spawn(process.execPath, [bin, 'btf', 'dump', '--format', 'c'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const parts: Buffer[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  // Read slowly at first so the writer has to wait for the pipe to drain.
  child.stdout.pause();
  await new Promise((r) => setTimeout(r, 300));
  child.stdout.on('data', (d: Buffer) => parts.push(d));
  child.stdout.resume();
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, stderr);
  assert.ok(Buffer.concat(parts).toString('utf8') === expected, 'CLI output differs from btfToC');

  const head = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" btf dump --format c | head -c 40`], { encoding: 'utf8' });
  assert.equal(head.status, 0, head.stderr);
  assert.equal(head.stdout, expected.slice(0, 40));
  assert.equal(head.stderr, '');
});
