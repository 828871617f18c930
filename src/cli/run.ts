/**
 * `bpfkit run FILE.o --program NAME [--pcap in.pcap] [--out out.pcap] [--ctx ctx.json] [--maps init.json]
 * [--dump-maps] [--json]`: run an eBPF object in the userspace runtime (no kernel needed), one run per packet of
 * a capture (or one run with the given context), printing verdicts and return values, writing the packets the
 * program let through, and dumping map contents at the end.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadObjectSpec } from '../elf/object.js';
import { Btf } from '../btf/btf.js';
import { btfCodec } from '../kernel/maps/btf-codec.js';
import { readCapture, writePcap, Linktype, type PcapRecord } from '../pcap/index.js';
import type { MapSpec } from '../spec/map.js';
import { loadCollection, mapTypeName, type Collection, type RunResult } from '../vm/collection.js';
import type { RunInput } from '../vm/contexts/index.js';
import type { UserMap } from '../vm/maps/base.js';
import { inFile } from './files.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Verdicts that mean the packet does not go on (not written to --out). */
const DROPS = new Set(['XDP_DROP', 'XDP_ABORTED', 'TC_ACT_SHOT', 'DROP']);

interface RunOptions {
  program?: string;
  pcap?: string;
  out?: string;
  ctx?: string;
  maps?: string;
  dumpMaps?: boolean;
  json?: boolean;
  cpus?: string;
}

function parseJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** Bytes of a key or value given as a hex string, an integer (little-endian, sized to the map) or a BTF object. */
function toBytes(v: unknown, size: number, where: string, btf: Btf | undefined, typeId: number | undefined): Uint8Array {
  if (typeof v === 'string') {
    const h = v.replace(/^0x/i, '').replace(/[\s:]/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(h)) throw new UsageError(`${where}: "${v}" is not a hex string`);
    const b = Uint8Array.from(Buffer.from(h, 'hex'));
    if (b.length !== size) throw new UsageError(`${where}: ${b.length} bytes, the map wants ${size}`);
    return b;
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (size > 8) throw new UsageError(`${where}: a number for a ${size}-byte field; give hex or an object`);
    const b = new Uint8Array(size);
    let x = BigInt.asUintN(size * 8, BigInt(v));
    for (let i = 0; i < size; i++, x >>= 8n) b[i] = Number(x & 0xffn);
    return b;
  }
  if (v && typeof v === 'object') {
    if (!btf || !typeId) throw new UsageError(`${where}: JSON objects need BTF types for the map (compile with -g)`);
    return btfCodec(btf, typeId).encode(v);
  }
  throw new UsageError(`${where}: expected a hex string, a number or an object`);
}

function initMaps(c: Collection, specs: MapSpec[], btf: Btf | undefined, init: unknown): void {
  if (!init || typeof init !== 'object' || Array.isArray(init)) throw new UsageError('--maps: expected {"MAP": [{"key": K, "value": V}, ...]}');
  for (const [name, entries] of Object.entries(init as Record<string, unknown>)) {
    const m = c.maps[name];
    const spec = specs.find((s) => s.name === name);
    if (!m) throw new UsageError(`--maps: the object has no map ${name} (maps: ${Object.keys(c.maps).join(', ')})`);
    if (!Array.isArray(entries)) throw new UsageError(`--maps: ${name} must be a list of {"key", "value"}`);
    entries.forEach((e: { key?: unknown; value?: unknown }, i) => {
      const where = `--maps ${name}[${i}]`;
      const key = m.keySize ? toBytes(e.key, m.keySize, `${where}.key`, btf, spec?.btfKeyTypeId) : new Uint8Array(0);
      const value = toBytes(e.value, m.valueSize, `${where}.value`, btf, spec?.btfValueTypeId);
      m.update(key, value);
    });
  }
}

function dumpMap(m: UserMap, spec: MapSpec | undefined, btf: Btf | undefined): { key: unknown; value: unknown }[] {
  const out: { key: unknown; value: unknown }[] = [];
  const show = (b: Uint8Array, id: number | undefined) => {
    if (btf && id) {
      try {
        return btfCodec(btf, id).decode(b);
      } catch {
        // fall back to hex
      }
    }
    return hex(b);
  };
  for (const [k, v] of m.entries()) {
    if (m.percpu) {
      out.push({ key: show(k, spec?.btfKeyTypeId), value: m.lookupPerCpu(k)!.map((x) => show(x, spec?.btfValueTypeId)) });
    } else out.push({ key: show(k, spec?.btfKeyTypeId), value: show(v, spec?.btfValueTypeId) });
  }
  return out;
}

const jsonReplacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? hex(v) : v);

/** Register `bpfkit run`. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run an eBPF object in the userspace runtime (per packet of a capture, or once with a context)')
    .argument('<file>', 'eBPF object (.o from clang -target bpf)')
    .option('--program <name>', 'program to run (default: the only one)')
    .option('--pcap <file>', 'run once per packet of this capture (pcap or pcapng, Ethernet)')
    .option('--out <file>', 'write the packets the program let through (not dropped) to this pcap')
    .option('--ctx <file>', 'JSON context: fields by name ({"ingress_ifindex": 2}), or {"args": [...]} for kprobe/raw_tp/fentry')
    .option('--maps <file>', 'JSON initial map contents: {"MAP": [{"key": K, "value": V}]} (hex strings, numbers, or objects with BTF)')
    .option('--dump-maps', 'print the map contents at the end')
    .option('--json', 'one JSON object per input: {"index", "retval", "verdict", "packet"}')
    .option('--cpus <n>', 'number of simulated CPUs (per-CPU maps)', '1')
    .option('--engine <engine>', 'interp (the interpreter) or jit (WebAssembly JIT)', 'interp')
    .action((file: string, o: RunOptions & { engine?: string }) => {
      if (o.engine !== undefined && o.engine !== 'interp' && o.engine !== 'jit') throw new UsageError(`--engine: '${o.engine}' is not interp or jit`);
      const bytes = readFileSync(file);
      const spec = inFile(file, () => loadObjectSpec(bytes));
      const btf = spec.btfRaw ? Btf.parse(spec.btfRaw) : undefined;
      const names = spec.programs.map((p) => p.name);
      const name = o.program ?? (names.length === 1 ? names[0] : undefined);
      if (!name) throw new UsageError(`${file} has ${names.length} programs; choose one with --program (${names.join(', ')})`);
      if (!names.includes(name)) throw new UsageError(`${file} has no program ${name} (programs: ${names.join(', ')})`);
      const ctxJson = o.ctx ? (parseJsonFile(o.ctx, '--ctx') as Record<string, unknown>) : {};
      let clockNs = 1_000_000_000n;
      const c = loadCollection(spec, {
        ncpus: Number(o.cpus ?? 1),
        engine: o.engine as 'interp' | 'jit' | undefined,
        clock: { monotonicNs: () => clockNs, bootNs: () => clockNs, coarseNs: () => clockNs, taiNs: () => clockNs },
      });
      if (o.maps) initMaps(c, spec.maps, btf, parseJsonFile(o.maps, '--maps'));
      const { args, ret, fields, ...ctxFields } = ctxJson as { args?: (number | string)[]; ret?: number | string; fields?: Record<string, unknown> };
      const base: RunInput = {
        ctx: Object.keys(ctxFields).length ? (ctxFields as RunInput['ctx']) : undefined,
        args: args?.map((a) => BigInt(a)),
        ret: ret !== undefined ? BigInt(ret) : undefined,
        fields,
      };
      // Buffered stdout: one write per ~64 KiB instead of one per packet.
      let buf = '';
      const write = (text: string) => {
        buf += text;
        if (buf.length > 65536) {
          process.stdout.write(buf);
          buf = '';
        }
      };
      const print = (index: number, r: RunResult | undefined, err?: string) => {
        if (o.json) {
          write(
            JSON.stringify(
              r ? { index, retval: r.retval, verdict: r.verdict ?? null, packet: r.packet ? hex(r.packet) : null, printk: r.printk.length ? r.printk : undefined } : { index, error: err },
              jsonReplacer,
            ) + '\n',
          );
        } else if (r) {
          write(`#${index}: ${r.verdict ?? 'retval'} ${r.retval}${r.verdict ? ` (retval ${r.retval})` : ''}${r.redirect ? ` → ifindex ${r.redirect.ifindex}` : ''}\n`);
          for (const l of r.printk) write(`    printk: ${l}\n`);
        } else write(`#${index}: error: ${err}\n`);
      };
      const outRecords: PcapRecord[] = [];
      if (o.pcap) {
        const pcap = o.pcap;
        const cap = inFile(pcap, () => readCapture(readFileSync(pcap)));
        if (cap.linktype !== Linktype.EN10MB) throw new UsageError(`${o.pcap}: link type ${cap.linktype} is not Ethernet (DLT_EN10MB)`);
        cap.records.forEach((rec, i) => {
          clockNs = BigInt(Math.round(rec.ts)) * 1000n;
          let r: RunResult | undefined;
          try {
            r = c.run(name, { ...base, packet: rec.data });
          } catch (e) {
            if (!(e instanceof UsageError)) throw e;
            print(i, undefined, e.message);
            return;
          }
          print(i, r);
          if (r.packet && !DROPS.has(r.verdict ?? '')) {
            // Socket filters accept the first retval bytes after the MAC header.
            const pkt = r.verdict?.startsWith('ACCEPT(') ? r.packet.subarray(0, Math.min(r.packet.length, r.retval + 14)) : r.packet;
            outRecords.push({ data: pkt, ts: rec.ts });
          }
        });
      } else {
        print(0, c.run(name, base));
      }
      process.stdout.write(buf);
      buf = '';
      if (o.out) writeFileSync(o.out, writePcap(outRecords));
      if (o.dumpMaps) {
        const dump: Record<string, unknown> = {};
        for (const [mname, m] of Object.entries(c.maps)) dump[mname] = { type: mapTypeName(m.type), entries: dumpMap(m, spec.maps.find((s) => s.name === mname), btf) };
        if (o.json) process.stdout.write(JSON.stringify({ maps: dump }, jsonReplacer) + '\n');
        else {
          for (const [mname, d] of Object.entries(dump) as [string, { type: string; entries: { key: unknown; value: unknown }[] }][]) {
            process.stdout.write(`map ${mname} (${d.type}, ${d.entries.length} entries)\n`);
            for (const e of d.entries) process.stdout.write(`  ${JSON.stringify(e.key, jsonReplacer)}: ${JSON.stringify(e.value, jsonReplacer)}\n`);
          }
        }
      }
      c.close();
    });
}
