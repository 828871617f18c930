/** Control-flow helpers: bpf_tail_call (through a prog array of runtime programs) and bpf_loop. */
import type { HelperImpl } from '../api.js';
import { Errno } from '../errno.js';
import { ProgArrayMap } from '../maps/prog-array.js';
import type { Vm } from '../vm.js';
import { mapArg, u32 } from './util.js';

const BPF_MAX_LOOPS = 8 * 1024 * 1024;

/** Control helper implementations by name. */
export const controlHelpers: Record<string, HelperImpl> = {
  tail_call(c, _r1, r2, r3) {
    const m = mapArg(c, r2);
    if (!(m instanceof ProgArrayMap)) return -Errno.EINVAL;
    const prog = m.program(u32(r3)) as { vm?: Vm } | undefined;
    if (!prog?.vm) return -Errno.ENOENT;
    return c.tailCall(prog.vm) ? 0 : -Errno.ENOENT;
  },
  loop(c, r1, r2, r3, r4) {
    if (r4 !== 0n) return -Errno.EINVAL;
    const n = u32(r1);
    if (n > BPF_MAX_LOOPS) return -Errno.E2BIG;
    for (let i = 0; i < n; i++) {
      const ret = c.callSubprogram(r2, BigInt(i), r3);
      if (ret !== 0n) return i + 1;
    }
    return n;
  },
};
