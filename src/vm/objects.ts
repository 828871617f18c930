/**
 * Pseudo file descriptors for userspace objects. Kernel maps hold fds of programs and maps (prog arrays,
 * map-in-maps) and report ids on lookup; the userspace runtime gives each map and program one small number that
 * serves as both, so `update(key, u32(fd))` and raw map contents look like the kernel's.
 */

const byId = new Map<number, WeakRef<object>>();
const ids = new WeakMap<object, number>();
let nextId = 1;

/** The pseudo fd / id of an object (assigned on first use, stable afterwards). */
export function objectId(obj: object): number {
  let id = ids.get(obj);
  if (id === undefined) {
    id = nextId++;
    ids.set(obj, id);
    byId.set(id, new WeakRef(obj));
  }
  return id;
}

/** The live object with this pseudo fd / id, or undefined. */
export function objectById(id: number): object | undefined {
  const ref = byId.get(id);
  const obj = ref?.deref();
  if (ref && !obj) byId.delete(id);
  return obj;
}

/** Forget an object's id (on close). */
export function releaseObjectId(obj: object): void {
  const id = ids.get(obj);
  if (id !== undefined) byId.delete(id);
}

/** Marks runtime program objects (so a prog array can tell a program id from a map id). */
export const PROGRAM_MARK: unique symbol = Symbol.for('bpfkit.vm.program');

/** Whether `o` is a userspace runtime program. */
export function isProgramObject(o: unknown): o is { [PROGRAM_MARK]: true; type: number; name: string } {
  return typeof o === 'object' && o !== null && (o as Record<symbol, unknown>)[PROGRAM_MARK] === true;
}
