// The work the portable-entry tests run twice: through `bpfkit/portable` inside a bare JavaScript context (no
// process, require, Buffer or Node built-ins; see sandbox.ts) and through the main entry in the test process. It
// imports nothing at run time (the API arrives as a parameter), so the sandbox can load it as a module of its own,
// and returns only strings so results from the two realms compare with deepEqual.
import type * as Portable from '../../src/portable.js';

type Api = typeof Portable;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const replacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? hex(v) : v);
const json = (v: unknown): string => JSON.stringify(v, replacer);

/** An Ethernet + IPv4 + TCP frame to `dport` (no payload). */
export function tcpPacket(dport: number): Uint8Array {
  const p = new Uint8Array(54);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  p[14] = 0x45;
  v.setUint16(16, 40);
  p[22] = 64;
  p[23] = 6;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  v.setUint16(34, 40000);
  v.setUint16(36, dport);
  p[46] = 0x50;
  p[47] = 0x02;
  return p;
}

/** An Ethernet + IPv6 + UDP frame to port 53. */
export function udp6Packet(): Uint8Array {
  const p = new Uint8Array(62);
  const v = new DataView(p.buffer);
  v.setUint16(12, 0x86dd);
  p[14] = 0x60;
  v.setUint16(18, 8);
  p[20] = 17;
  p[21] = 64;
  p[37] = 1;
  p[53] = 2;
  v.setUint16(54, 5353);
  v.setUint16(56, 53);
  v.setUint16(58, 8);
  return p;
}

/** Assemble, run (interpreter and JIT), load and run an XDP object, compile and run pcap filters, verify. */
export function portableWorkload(b: Api, files: { xdpProto: Uint8Array }): Record<string, string> {
  const out: Record<string, string> = {};

  // Assembler, disassembler, encoding, both engines.
  const insns = b.assemble('mov %r0, 6\nmov %r1, 7\nmul %r0, %r1\nlddw %r2, 0x100000000\nadd %r0, %r2\nexit\n');
  out.asmBytes = hex(b.encodeProgram(insns));
  out.disasmLlvm = b.disassemble(insns, { syntax: 'llvm' });
  out.runInterp = String(new b.Vm(insns).run());
  out.runJit = String(b.compileJit(insns).run());
  out.jitWasmMagic = hex(b.jitModule(b.compileJit(insns))!.wasm.subarray(0, 4));

  // An XDP object from examples/build: ELF + BTF, the runtime with both engines, a per-CPU map.
  const spec = b.loadObjectSpec(files.xdpProto);
  out.objPrograms = spec.programs.map((p) => `${p.name}:${p.type}:${p.insns.length}`).join(',');
  out.objMaps = spec.maps.map((m) => `${m.name}:${m.type}:${m.maxEntries}`).join(',');
  for (const engine of ['interp', 'jit'] as const) {
    const c = b.loadCollection(spec, { engine, ncpus: 2, cpu: 0 });
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const runs = [tcpPacket(80), tcpPacket(80), udp6Packet(), arp].map((packet) => json(c.run('xdp_count_proto', { packet })));
    out[`xdp.${engine}`] = runs.join('\n');
    const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
    out[`xdpMap.${engine}`] = [6, 17, 1].map((n) => c.maps['proto_count']!.lookupPerCpu(key(n))!.map(hex).join('/')).join(' ');
    c.close();
  }

  // The object's BTF as C (Btf, the C writer, its text sink).
  const obj = b.loadObject(files.xdpProto);
  out.btfC = obj.btf ? b.btfToC(obj.btf) : 'no btf';

  // The static verifier on the object's program.
  const v = b.verify(spec.programs[0]!, { maps: spec.maps });
  out.verify = `${v.ok} ${v.errors.map((e) => e.message).join('; ')}`;
  const bad = b.verify({ insns: b.assemble('ldxdw %r0, [%r10-8]\nexit\n'), type: b.ProgType.SOCKET_FILTER });
  out.verifyBad = `${bad.ok} ${bad.errors[0]?.message}`;

  // Classic BPF: the pcap filter compiler, the cBPF interpreter, cBPF → eBPF in the VM, pcap files.
  const filter = b.compileFilter('tcp and dst port 80');
  out.filterAsm = b.disassembleClassic(filter);
  const pkts = [tcpPacket(80), tcpPacket(443), udp6Packet()];
  out.filterClassic = pkts.map((p) => b.runClassic(filter, p)).join(',');
  const runner = new b.EbpfFilterRunner(b.classicToEbpf(filter));
  out.filterEbpf = pkts.map((p) => runner.run(p)).join(',');
  const pcap = b.writePcap(pkts.map((data, i) => ({ data, ts: 1_700_000_000_000_000 + i })));
  const read = b.readCapture(pcap);
  out.pcap = json([read.format, read.linktype, read.records.length, b.matchRecords(filter, read.records, 'cbpf'), b.matchRecords(filter, read.records, 'ebpf')]);

  // Seccomp policies (Linux errno names, fixed architecture).
  const sec = b.compileSeccomp({ defaultAction: 'allow', architectures: ['x86_64'], syscalls: [{ names: ['mkdir'], action: 'errno(EACCES)' }] });
  out.seccomp = b.formatDump(sec);

  // A bloom filter map (random seed from crypto.getRandomValues) and a zero-seeded one.
  const bloomSpec = { name: 'bf', type: b.MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 16, flags: 0 };
  const bloom = b.createMap(bloomSpec);
  const zero = b.createMap({ ...bloomSpec, flags: b.Uapi.BPF_F_ZERO_SEED });
  const val = new Uint8Array([1, 2, 3, 4]);
  for (const m of [bloom, zero]) m.update(new Uint8Array(0), val);
  out.bloom = `${bloom.lookup(val) !== undefined} ${zero.lookup(val) !== undefined}`;
  return out;
}

/** What the portable entry does where the host has no file system, and with an in-memory host installed. */
export function hostlessWorkload(b: Api, files: { xdpProto: Uint8Array }): Record<string, string> {
  const out: Record<string, string> = {};
  const err = (f: () => unknown): string => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  out.loadKernel = err(() => b.Btf.loadKernel('/nonexistent/vmlinux'));
  out.kernelConfig = String(b.readKernelConfig());
  out.tracepointFormat = String(b.tracepointFormat('syscalls/sys_enter_openat'));
  out.conformanceFile = err(() => b.runConformanceFile('/x.data'));
  out.seccompHostArch = err(() => b.hostSeccompArch());
  // /etc/protocols is out of reach: the built-in table names the protocols.
  out.protoFilter = ['ip proto gre', 'ip proto \\tcp'].map((f) => b.runClassic(b.compileFilter(f), tcpPacket(80))).join(',');

  // An in-memory host: the object's BTF served as "kernel BTF", a conformance test file.
  const obj = b.loadObject(files.xdpProto);
  const btfBytes = obj.btf?.bytes ?? new Uint8Array(0);
  const fsys = new Map<string, Uint8Array>([
    ['/mem/vmlinux', btfBytes],
    ['/mem/t.data', new TextEncoder().encode('-- asm\nmov %r0, 3\nadd %r0, 4\nexit\n-- result\n0x7\n')],
  ]);
  b.setHostIo({
    readFile: (p) => {
      const f = fsys.get(p);
      if (!f) throw new Error(`ENOENT: ${p}`);
      return f;
    },
  });
  try {
    out.memKernelBtf = String(b.Btf.loadKernel('/mem/vmlinux').findByName('xdp_md', 'struct')?.kind);
    out.memConformance = b.formatConformanceResult(b.runConformanceFile('/mem/t.data'));
  } finally {
    b.setHostIo(undefined);
  }
  return out;
}
