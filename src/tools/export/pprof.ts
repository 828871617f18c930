/**
 * pprof export of profile results: a perftools.profiles.Profile (schema ./profile.proto) encoded with
 * protobufjs and gzipped. Sample types samples/count and cpu/nanoseconds (count × sampling period), one
 * location per distinct frame address (per process for user frames), functions by name and file, mappings
 * for the kernel and each mapped user file; samples labelled with comm and pid.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import type { ProfileFrame, ProfileResult } from '../profile.js';

/**
 * The schema file, the one copy of profile.proto: src/tools/export/profile.proto, shipped in the package
 * (package.json `files`) and found from the compiled module (dist/src/tools/export/) at the project root.
 */
export const PROFILE_PROTO_URL = new URL('../../../../src/tools/export/profile.proto', import.meta.url);

let profileType: protobuf.Type | undefined;
/** The protobufjs type of perftools.profiles.Profile (the schema is read on first use). */
export function pprofType(): protobuf.Type {
  if (!profileType) {
    const text = readFileSync(PROFILE_PROTO_URL, 'utf8');
    profileType = protobuf.parse(text, { keepCase: true }).root.lookupType('perftools.profiles.Profile');
  }
  return profileType;
}

/** The Profile message (plain object, snake_case fields as in profile.proto) of a profile run. */
export function pprofMessage(r: ProfileResult): Record<string, unknown> {
  const strings = [''];
  const strIdx = new Map<string, number>([['', 0]]);
  const s = (x: string) => {
    let i = strIdx.get(x);
    if (i === undefined) {
      i = strings.length;
      strings.push(x);
      strIdx.set(x, i);
    }
    return i;
  };
  const mappings: Record<string, unknown>[] = [];
  const mappingIds = new Map<string, number>();
  const mappingOf = (f: ProfileFrame): number => {
    const key = f.kernel ? '[kernel]' : f.mapping ? `${f.mapping.path}@${f.mapping.start}` : '';
    if (!key) return 0;
    let id = mappingIds.get(key);
    if (id === undefined) {
      id = mappings.length + 1;
      mappingIds.set(key, id);
      mappings.push(
        f.kernel
          ? { id, memory_start: 0, memory_limit: 0, file_offset: 0, filename: s('[kernel.kallsyms]'), has_functions: true }
          : { id, memory_start: f.mapping!.start.toString(), memory_limit: f.mapping!.end.toString(), file_offset: f.mapping!.fileOffset.toString(), filename: s(f.mapping!.path), has_functions: true },
      );
    }
    return id;
  };
  const functions: Record<string, unknown>[] = [];
  const functionIds = new Map<string, number>();
  const functionOf = (f: ProfileFrame): number => {
    const file = f.kernel ? '[kernel.kallsyms]' : f.module ?? '';
    const name = f.name === '[unknown]' ? `0x${f.address.toString(16)}` : f.name;
    const key = `${name}\0${file}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functionIds.set(key, id);
      functions.push({ id, name: s(name), system_name: s(name), filename: s(file) });
    }
    return id;
  };
  const locations: Record<string, unknown>[] = [];
  const locationIds = new Map<string, number>();
  const locationOf = (f: ProfileFrame, pid: number): number => {
    const key = f.kernel ? `k${f.address}` : `u${pid}:${f.address}`;
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locationIds.set(key, id);
      locations.push({ id, mapping_id: mappingOf(f), address: f.address.toString(), line: [{ function_id: functionOf(f) }] });
    }
    return id;
  };
  const period = Math.round(1e9 / r.hz);
  const sampleType = [
    { type: s('samples'), unit: s('count') },
    { type: s('cpu'), unit: s('nanoseconds') },
  ];
  const samples = r.stacks.map((st) => ({
    location_id: st.frames.map((f) => locationOf(f, st.pid)),
    value: [st.count, st.count * period],
    label: [
      { key: s('comm'), str: s(st.comm) },
      { key: s('pid'), num: st.pid },
    ],
  }));
  return {
    sample_type: sampleType,
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    string_table: strings,
    time_nanos: (BigInt(r.startTime.getTime()) * 1_000_000n).toString(),
    duration_nanos: r.durationNs,
    period_type: { type: s('cpu'), unit: s('nanoseconds') },
    period,
    default_sample_type: 1,
  };
}

/** The gzipped profile.proto bytes of a profile run (what `go tool pprof` reads). */
export function pprofBytes(r: ProfileResult): Uint8Array {
  const t = pprofType();
  const msg = t.fromObject(pprofMessage(r));
  return gzipSync(t.encode(msg).finish());
}

/** Decode pprof bytes (gzipped or not) into a plain object; 64-bit integers as decimal strings. */
export function decodePprof(bytes: Uint8Array): Record<string, unknown> {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const t = pprofType();
  return t.toObject(t.decode(raw), { longs: String, defaults: true, arrays: true });
}
