// The portable entry (`bpfkit/portable`, dist/src/portable.js): its import graph, walked with V8's own parser
// in a child process (sandbox.ts), has no Node built-in, no bare specifier and no koffi; it loads and works in a
// bare JavaScript context without process/require/Buffer (assembler, both engines, an XDP object, BTF → C, the
// verifier, pcap filters, pcap files, seccomp, maps); it gives the same results as the main entry; its exports
// are the main entry's same objects; without a host file system its file conveniences fail cleanly or fall back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as main from '../../src/index.js';
import * as portable from '../../src/portable.js';
import { portableWorkload } from './workload.js';

const root = process.cwd();
const xdpObject = join(root, 'examples/build/xdp_proto.bpf.o');
const noExamples = !existsSync(xdpObject) && 'examples not built (scripts/build-examples.sh)';

interface Report {
  error?: string;
  modules?: string[];
  external: { specifier: string; from: string }[];
  dynamicImports: { specifier: string; from: string }[];
  sourceHits?: string[];
  globals?: string;
  exports?: string[];
  workload?: Record<string, string>;
  hostless?: Record<string, string>;
}

let cached: Report | undefined;
function sandbox(): Report {
  if (cached) return cached;
  const r = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', join(root, 'dist/test/portable/sandbox.js')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `sandbox exited ${r.status}: ${r.stderr}`);
  cached = JSON.parse(r.stdout) as Report;
  return cached;
}

test('the portable import graph has no node: module, bare specifier, koffi or dynamic import', () => {
  const r = sandbox();
  const bad = r.external.map((e) => `'${e.specifier}' imported by ${e.from}`);
  assert.deepEqual(bad, [], `non-relative imports in the portable graph:\n${bad.join('\n')}`);
  assert.deepEqual(r.dynamicImports, []);
  assert.ok(r.modules, r.error);
  assert.deepEqual(r.sourceHits, []);
  // It is the kernel-free part: none of the kernel backend, CLI, tracing or tools modules.
  const kernelish = r.modules.filter((m) => /dist\/src\/(kernel|cli|trace|tools|net|security)\/|cbpf\/(sys|capture|seccomp-run|seccomp-launcher)\.js|host\/node\.js/.test(m));
  assert.deepEqual(kernelish, []);
  assert.ok(r.modules.length > 100, `only ${r.modules.length} modules`);
});

test('the portable entry runs in a bare context (no process, require, Buffer)', { skip: noExamples }, () => {
  const r = sandbox();
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.globals, 'undefined,undefined,undefined,undefined,undefined,object');
  const w = r.workload!;
  assert.equal(w.runInterp, String(42n + 0x100000000n));
  assert.equal(w.runJit, w.runInterp);
  assert.equal(w.jitWasmMagic, '0061736d');
  assert.equal(w.objPrograms, 'xdp_count_proto:6:33');
  assert.equal(w['xdp.jit'], w['xdp.interp']);
  assert.deepEqual(w['xdp.interp']!.split('\n').map((l) => JSON.parse(l).verdict), ['XDP_PASS', 'XDP_PASS', 'XDP_PASS', 'XDP_PASS']);
  // proto_count[6] = 2 (two TCP packets on CPU 0), [17] = 1 (UDP over IPv6), [1] = 0.
  assert.equal(w['xdpMap.interp'], '0200000000000000/0000000000000000 0100000000000000/0000000000000000 0000000000000000/0000000000000000');
  assert.equal(w['xdpMap.jit'], w['xdpMap.interp']);
  assert.match(w.btfC!, /struct xdp_md \{/);
  assert.match(w.btfC!, /typedef unsigned long long __u64;/);
  assert.equal(w.verify, 'true ');
  assert.match(w.verifyBad!, /^false insn 0: .*never written/);
  assert.equal(w.filterClassic, '262144,0,0');
  assert.equal(w.filterEbpf, w.filterClassic);
  assert.equal(w.pcap, '["pcap",1,3,[0],[0]]');
  assert.match(w.seccomp!, /ret +#327693/); // SECCOMP_RET_ERRNO | EACCES (13)
  assert.equal(w.bloom, 'true true');
});

test('the portable entry gives the same results as the main entry', { skip: noExamples }, () => {
  const r = sandbox();
  assert.equal(r.error, undefined, r.error);
  const here = portableWorkload(main as never, { xdpProto: new Uint8Array(readFileSync(xdpObject)) });
  assert.deepEqual(r.workload, here);
});

test("the portable entry's exports are the main entry's own objects", () => {
  const names = Object.keys(portable);
  assert.ok(names.length > 200, `${names.length} exports`);
  const missing = names.filter((k) => (main as Record<string, unknown>)[k] !== (portable as Record<string, unknown>)[k]);
  assert.deepEqual(missing, []);
  // The kernel half stays out.
  for (const k of ['attachFilter', 'capture', 'spawnUnderSeccomp', 'packetSocket']) {
    assert.ok(k in main, `main entry lacks ${k}`);
    assert.ok(!(k in portable), `portable entry exports ${k}`);
  }
  const r = sandbox();
  if (r.exports) assert.deepEqual(r.exports, [...names].sort());
});

test('without a host file system the file conveniences fail cleanly; setHostIo serves files', { skip: noExamples }, () => {
  const h = sandbox().hostless!;
  assert.match(h.loadKernel!, /^BtfError: cannot read kernel BTF \/nonexistent\/vmlinux: .*no file system.*setHostIo/);
  assert.equal(h.kernelConfig, 'undefined');
  assert.equal(h.tracepointFormat, 'undefined');
  assert.match(h.conformanceFile!, /^UsageError: cannot read \/x\.data: .*setHostIo/);
  assert.match(h.seccompHostArch!, /^CbpfError: no seccomp syscall table for architecture unknown/);
  assert.equal(h.protoFilter, '0,262144');
  assert.equal(h.memKernelBtf, 'struct');
  assert.equal(h.memConformance, 'PASS /mem/t.data');
});

test('the main entry installs the Node host: kernel config and release still come from the system', () => {
  // Same as before the host layer: /proc/config.gz or /boot/config-*, os.release(), process.arch.
  const cfg = main.readKernelConfig();
  if (existsSync('/proc/config.gz') || existsSync(`/boot/config-${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`)) {
    assert.ok(cfg && cfg.size > 100, 'kernel config not read');
  }
  assert.ok(main.kernelVersionCode() > 0);
  if (process.arch === 'x64') assert.equal(main.hostSeccompArch(), 'x86_64');
});

test('on Node, the portable entry alone reaches the file system through process.getBuiltinModule', (t) => {
  if (typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== 'function') return t.skip('this Node has no process.getBuiltinModule');
  if (!existsSync('/sys/kernel/btf/vmlinux')) return t.skip('no /sys/kernel/btf/vmlinux');
  const code = `import('./dist/src/portable.js').then((p) => console.log(p.Btf.loadKernel().findByName('task_struct', 'struct')?.kind, p.kernelVersionCode() > 0))`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'struct true');
});
