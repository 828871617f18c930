/**
 * BPF_MAP_TYPE_PROG_ARRAY in userspace: slots hold runtime programs (by pseudo fd, see src/vm/objects.ts), the
 * targets of bpf_tail_call. As in the kernel, every program in one prog array must have the same program type
 * (EINVAL otherwise), an fd that names no program is EBADF, and userspace lookups return the program's id.
 */
import type { MapSpec } from '../../spec/map.js';
import { EBADF, Errno } from '../errno.js';
import { isProgramObject, objectById, objectId } from '../objects.js';
import { u32Key, keyU32, type UserMapOptions } from './base.js';
import { SparseArrayMap } from './sparse.js';

/** A program array (tail-call targets). */
export class ProgArrayMap extends SparseArrayMap {
  private progType: number | undefined;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
  }

  protected override validate(value: Uint8Array): number {
    const prog = objectById(keyU32(value));
    if (!isProgramObject(prog)) return -EBADF;
    if (this.progType !== undefined && prog.type !== this.progType) return -Errno.EINVAL;
    this.progType = prog.type;
    return 0;
  }

  /** Put `prog` (a runtime program) at `index`, or empty the slot with `undefined`. */
  setProgram(index: number, prog: object | undefined): void {
    if (prog === undefined) {
      this.delete(u32Key(index));
      return;
    }
    this.update(u32Key(index), u32Key(objectId(prog)));
  }

  /** The program at `index`, if any. */
  program(index: number): ({ type: number; name: string } & object) | undefined {
    const id = this.slotU32(index);
    if (id === undefined) return undefined;
    const p = objectById(id);
    return isProgramObject(p) ? p : undefined;
  }
}
