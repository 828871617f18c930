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
