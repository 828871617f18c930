/**
 * Global variables of an object (`.data`, `.rodata`, `.bss` and their `.data.*` / `.rodata.*` siblings):
 * finding a variable's offset in its section map through the object's BTF DATASEC, and setting its initial
 * value in the spec before the Collection loads it (const volatile knobs in .rodata are set this way).
 */
import { Btf } from '../../btf/btf.js';
import { KernelError } from '../../errors.js';
import type { MapSpec } from '../../spec/map.js';
import type { ObjectSpec } from '../../spec/program.js';

/** A global variable's place. */
export interface GlobalVar {
  name: string;
  section: string;
  offset: number;
  size: number;
}

/** Every global variable of the object, from its BTF DATASECs (empty without BTF). */
export function globalVariables(spec: ObjectSpec): GlobalVar[] {
  if (!spec.btfRaw) return [];
  const btf = Btf.parse(spec.btfRaw);
  const out: GlobalVar[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    if (btf.kindNameOf(id) !== 'datasec') continue;
    const ds = btf.typeById(id);
    if (ds.kind !== 'datasec') continue;
    for (const v of ds.vars) out.push({ name: btf.nameOf(v.typeId), section: ds.name, offset: v.offset, size: v.size });
  }
  return out;
}

function dataMap(spec: ObjectSpec, section: string): MapSpec | undefined {
  return spec.maps.find((m) => m.dataSection === section || m.name === section);
}

/**
 * Set a global variable's initial value in the spec (before `Collection.load`). `value`: bytes of the
 * variable's size, or a number/bigint written little-endian in that size. Throws `KernelError(ENOENT/EINVAL)`.
 */
export function setGlobal(spec: ObjectSpec, name: string, value: Uint8Array | number | bigint): void {
  const v = globalVariables(spec).find((g) => g.name === name);
  if (!v) throw new KernelError('globals', 2, 'ENOENT', { hint: `no global variable ${name} in the object's BTF` });
  const m = dataMap(spec, v.section);
  if (!m) throw new KernelError('globals', 2, 'ENOENT', { hint: `no map for section ${v.section}` });
  let bytes: Uint8Array;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
    bytes = b.subarray(0, v.size);
  } else bytes = value;
  if (bytes.length !== v.size) throw new KernelError('globals', 22, 'EINVAL', { hint: `${name} is ${v.size} bytes, ${bytes.length} given` });
  const cur = m.contents?.[0]?.value;
  const data = new Uint8Array(m.valueSize);
  if (cur instanceof Uint8Array) data.set(cur.subarray(0, m.valueSize));
  data.set(bytes, v.offset);
  m.contents = [{ key: new Uint8Array(4), value: data }];
}
