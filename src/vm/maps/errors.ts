/** The typed error userspace maps throw from their `BpfMap` methods: carries the kernel's errno and its name. */
import { BpfkitError } from '../../errors.js';
import { errnoName } from '../errno.js';

/**
 * A map operation failed the way the kernel's would (`ENOENT`, `EEXIST`, `E2BIG`, `EINVAL`...). `code` and
 * `errnoName` are the errno name, like `KernelError` for kernel maps, so code can test either the same way.
 */
export class MapError extends BpfkitError {
  readonly errno: number;
  readonly errnoName: string;
  readonly map: string;
  readonly op: string;
  constructor(map: string, op: string, errno: number, detail?: string) {
    const name = errnoName(errno);
    super(name, `map ${map}: ${op}: ${name}${detail ? ` (${detail})` : ''}`);
    this.errno = Math.abs(errno);
    this.errnoName = name;
    this.map = map;
    this.op = op;
  }
}
