/**
 * Map specs (what a map should be) and the one map interface shared by kernel maps and userspace maps, so
 * user code does not care where a map lives.
 */

/** What a map should be, before it is created. */
export interface MapSpec {
  name: string;
  /** `BPF_MAP_TYPE_*` value (see `MapType` in src/isa/uapi.ts). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode?: number;
  /** `LIBBPF_PIN_BY_NAME` (1) or none (0). */
  pinning?: number;
  /** BTF type ids of key and value in the object's BTF, when the map has them. */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** For map-in-map: the inner map's spec. */
  inner?: MapSpec;
  /** Initial contents: raw key/value pairs (global data sections have one entry at key 0). */
  contents?: { key: Uint8Array; value: Uint8Array | string }[];
  /** For prog arrays / map-in-maps initialised in the object: slot → program or map name. */
  initialSlots?: { index: number; name: string }[];
  /** Global data section this map stands for (`.data`, `.rodata`, `.bss`, `.kconfig`, ...), if any. */
  dataSection?: string;
  /** Extra data for special maps (map_extra: bloom filter hash count, ...). */
  mapExtra?: bigint;
}

/** Update flags (same values as the kernel's BPF_ANY / BPF_NOEXIST / BPF_EXIST / BPF_F_LOCK). */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

/**
 * The common map interface. Keys and values are raw bytes at this level; typed views (BTF-marshalled JS objects)
 * are layered on top. Per-CPU maps take and return one value per CPU via the `*PerCpu` methods.
 * Errors: a missing key on delete / EXIST update gives a typed error with errno name `ENOENT`, a present key on
 * NOEXIST `EEXIST`, a full map `E2BIG`, a wrong key or value size `EINVAL` (KernelError for kernel maps, VmError-
 * compatible MapError for userspace maps: both carry `errnoName`).
 */
export interface BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** The value, or undefined when the key is absent. */
  lookup(key: Uint8Array): Uint8Array | undefined;
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Returns false when the key was absent. */
  delete(key: Uint8Array): boolean;
  /** Keys in the map's iteration order. */
  keys(): IterableIterator<Uint8Array>;
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  close(): void;
}

/**
 * Bytes one CPU's value takes in a per-CPU value buffer: `valueSize` rounded up to 8 (the kernel's layout for
 * per-CPU lookups and updates, which kernel and userspace maps both use).
 */
export function perCpuStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** Every CPU's value in the per-CPU layout; each value is cut to `valueSize` bytes. */
export function packPerCpu(values: readonly Uint8Array[], valueSize: number): Uint8Array {
  const stride = perCpuStride(valueSize);
  const out = new Uint8Array(stride * values.length);
  values.forEach((v, c) => out.set(v.subarray(0, valueSize), c * stride));
  return out;
}

/** The per-CPU layout holding `value` on each of `ncpus` CPUs, written into `into` (padding zeroed) or a new array. */
export function replicatePerCpu(value: Uint8Array, ncpus: number, into?: Uint8Array): Uint8Array {
  const stride = perCpuStride(value.length);
  const out = into ?? new Uint8Array(stride * ncpus);
  out.fill(0, 0, stride * ncpus);
  for (let c = 0; c < ncpus; c++) out.set(value, c * stride);
  return out;
}

/** One copy per CPU of the values in a per-CPU layout buffer. */
export function splitPerCpu(raw: Uint8Array, valueSize: number, ncpus: number): Uint8Array[] {
  const stride = perCpuStride(valueSize);
  const out: Uint8Array[] = [];
  for (let c = 0; c < ncpus; c++) out.push(raw.slice(c * stride, c * stride + valueSize));
  return out;
}

/** A map's [key, value] pairs from its `keys()` and `lookup()`; entries deleted during the walk are skipped. */
export function* mapEntries(map: Pick<BpfMap, 'keys' | 'lookup'>): IterableIterator<[Uint8Array, Uint8Array]> {
  for (const k of map.keys()) {
    const v = map.lookup(k);
    if (v) yield [k, v];
  }
}
