// `bpfkit gen types`: the generated skeleton type-checks (tsc --noEmit under strict), and the compiled module
// round-trips struct values through encode/decode with the member offsets BTF gives (read with src/btf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateSkeleton } from '../../src/gen/skeleton.js';
import { parseElf } from '../../src/elf/reader.js';
import { Btf } from '../../src/btf/btf.js';
import { noExamples, readExample } from '../elf/examples.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(root, 'node_modules/.bin/tsc');

test('generated skeletons type-check and their codecs round-trip at BTF offsets', { skip: noExamples ?? (existsSync(tsc) ? undefined : 'tsc not installed'), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-gen-'));
  try {
    const objs = {
      exec_logger: generateSkeleton(readExample('exec_logger.bpf.o')!, { name: 'exec_logger', types: ['exec_event'] }),
      tc_filter: generateSkeleton(readExample('tc_filter.bpf.o')!, { name: 'tc_filter' }),
      globals: generateSkeleton(readExample('globals.bpf.o')!, { name: 'globals' }),
      tailcall_mim: generateSkeleton(readExample('tailcall_mim.bpf.o')!, { name: 'tailcall_mim' }),
    };
    for (const [n, text] of Object.entries(objs)) writeFileSync(join(dir, `${n}.ts`), text);
    // A consumer using the generated types, to prove they are precise (wrong types would fail to compile).
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { exec_event, encode, decode } from './exec_logger.js';",
        "import { rodataDefaults, maps } from './globals.js';",
        "const e: exec_event = { pid: 1, ppid: 2, uid: 3, filename_len: 4, comm: 'x', filename: '/bin/true' };",
        'const back: exec_event = decode(exec_event, encode(exec_event, e));',
        'const n: number = back.pid + rodataDefaults.multiplier;',
        'const t: bigint = rodataDefaults.threshold;',
        'const g: string = rodataDefaults.greeting;',
        'const v: bigint = maps.results.value.decode(new DataView(new ArrayBuffer(8)), 0);',
        'export { n, t, g, v };',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmitOnError: true, outDir: 'out', types: [], lib: ['ES2022', 'DOM'] },
        include: ['*.ts'],
      }),
    );
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const check = spawnSync(tsc, ['-p', dir, '--noEmit'], { encoding: 'utf8' });
    assert.equal(check.status, 0, `tsc --noEmit:\n${check.stdout}${check.stderr}`);
    const build = spawnSync(tsc, ['-p', dir], { encoding: 'utf8' });
    assert.equal(build.status, 0, `tsc:\n${build.stdout}${build.stderr}`);

    // exec_event: offsets and round trip against the object's BTF.
    const sk = await import(pathToFileURL(join(dir, 'out', 'exec_logger.js')).href);
    const bytes = readExample('exec_logger.bpf.o')!;
    const btf = Btf.parse(parseElf(bytes).section('.BTF')!.data);
    const st = btf.findByName('exec_event', 'struct') as unknown as { size: number; members: { name: string; bitOffset: number }[] };
    assert.equal(sk.exec_event.size, st.size);
    for (const m of st.members) assert.equal(sk.exec_event.offsets[m.name], m.bitOffset / 8, m.name);
    const ev = { pid: 0x01020304, ppid: 7, uid: 1000, filename_len: 10, comm: 'bash', filename: '/usr/bin/ls' };
    const enc: Uint8Array = sk.encode(sk.exec_event, ev);
    assert.equal(enc.length, st.size);
    const dv = new DataView(enc.buffer);
    assert.equal(dv.getUint32(st.members.find((m) => m.name === 'pid')!.bitOffset / 8, true), 0x01020304);
    const commOff = st.members.find((m) => m.name === 'comm')!.bitOffset / 8;
    assert.equal(new TextDecoder().decode(enc.subarray(commOff, commOff + 4)), 'bash');
    assert.equal(enc[commOff + 4], 0);
    assert.deepEqual(sk.decode(sk.exec_event, enc), ev);
    assert.equal(sk.programs.handle_exec.section, 'tracepoint/sched/sched_process_exec');
    assert.equal(sk.programs.handle_exec.attachTo, 'sched/sched_process_exec');

    // tc_filter: the stats map's value struct (three u64) and the .rodata settings.
    const tc = await import(pathToFileURL(join(dir, 'out', 'tc_filter.js')).href);
    const stats = { packets: 1n, bytes: 1500n, dropped: 2n ** 63n };
    const sb: Uint8Array = tc.encode(tc.maps.stats.value, stats);
    assert.equal(sb.length, 24);
    assert.equal(new DataView(sb.buffer).getBigUint64(8, true), 1500n);
    assert.deepEqual(tc.decode(tc.maps.stats.value, sb), stats);
    assert.deepEqual(tc.rodataDefaults, { blocked_port: 9999, mark_value: 0x42 });
    assert.equal(tc.maps.stats.maxEntries, 1);

    const gl = await import(pathToFileURL(join(dir, 'out', 'globals.js')).href);
    assert.deepEqual(gl.rodataDefaults, { multiplier: 3, threshold: 1000n, greeting: 'hello' });
    assert.deepEqual(gl.dataDefaults, { total: 7n });
    assert.equal(gl.Bss.offsets.last_value, 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
