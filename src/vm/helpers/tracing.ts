/**
 * Tracing helpers: stacks (get_stackid into a stack-trace map, get_stack, get_task_stack) from the simulated
 * task's frames, get_func_ip / get_attach_cookie / get_func_arg / get_func_ret / get_func_arg_cnt from the run's
 * values, and the helpers with effects outside the program — send_signal, send_signal_thread, override_return
 * (which also sets the pt_regs return register, as the kernel) — recorded in the run's event list.
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { StackTraceMap } from '../maps/stack-trace.js';
import { PT_REGS, fieldNamed } from '../contexts/layouts.js';
import { envOf } from './env.js';
import { mapArg, u32 } from './util.js';

const SKIP_MASK = BigInt(Uapi.BPF_F_SKIP_FIELD_MASK);

function frames(c: HelperCallContext, flags: bigint): bigint[] | undefined {
  const t = envOf(c).task;
  return flags & BigInt(Uapi.BPF_F_USER_STACK) ? t.userStack : t.kernelStack;
}

function getStack(c: HelperCallContext, stack: bigint[] | undefined, buf: bigint, size: number, flags: bigint): number {
  const out = c.mem.view(buf, size, true);
  const allowed = SKIP_MASK | BigInt(Uapi.BPF_F_USER_STACK | Uapi.BPF_F_USER_BUILD_ID);
  if (flags & ~allowed || flags & BigInt(Uapi.BPF_F_USER_BUILD_ID) || size % 8) {
    out.fill(0);
    return -Errno.EINVAL;
  }
  const skip = Number(flags & SKIP_MASK);
  if (!stack || stack.length <= skip) {
    out.fill(0);
    return -Errno.EFAULT;
  }
  const ips = stack.slice(skip, skip + size / 8);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  ips.forEach((ip, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, ip), true));
  out.fill(0, ips.length * 8);
  return ips.length * 8;
}

/** Tracing helper implementations by name. */
export const tracingHelpers: Record<string, HelperImpl> = {
  get_stackid(c, _r1, r2, r3) {
    const m = mapArg(c, r2);
    const allowed = SKIP_MASK | BigInt(Uapi.BPF_F_USER_STACK | Uapi.BPF_F_FAST_STACK_CMP | Uapi.BPF_F_REUSE_STACKID);
    if (!(m instanceof StackTraceMap) || r3 & ~allowed) return -Errno.EINVAL;
    const skip = Number(r3 & SKIP_MASK);
    const st = frames(c, r3);
    if (!st || st.length <= skip) return -Errno.EFAULT;
    return m.getStackId(st.slice(skip, skip + m.depth), Number(r3 & ~SKIP_MASK));
  },
  get_stack: (c, _r1, r2, r3, r4) => getStack(c, frames(c, r4), r2, u32(r3), r4),
  get_task_stack: (c, _r1, r2, r3, r4) => getStack(c, frames(c, r4), r2, u32(r3), r4),
  get_func_ip: (c) => envOf(c).funcIp,
  get_attach_cookie: (c) => envOf(c).attachCookie,
  get_func_arg(c, _r1, r2, r3) {
    const args = envOf(c).funcArgs;
    const n = u32(r2);
    if (n >= args.length) {
      c.mem.store(r3, 8, 0);
      return -Errno.EINVAL;
    }
    c.mem.store(r3, 8, args[n]);
    return 0;
  },
  get_func_ret(c, _r1, r2) {
    c.mem.store(r2, 8, envOf(c).funcRet);
    return 0;
  },
  get_func_arg_cnt: (c) => envOf(c).funcArgs.length,
  send_signal(c, r1) {
    const sig = u32(r1);
    if (sig > 64) return -Errno.EINVAL;
    envOf(c).events.push({ kind: 'signal', sig, thread: false });
    return 0;
  },
  send_signal_thread(c, r1) {
    const sig = u32(r1);
    if (sig > 64) return -Errno.EINVAL;
    envOf(c).events.push({ kind: 'signal', sig, thread: true });
    return 0;
  },
  override_return(c, r1, r2) {
    envOf(c).events.push({ kind: 'override_return', rc: r2 });
    const ax = fieldNamed(PT_REGS, 'ax')!;
    if (c.mem.regionOf(r1)) c.mem.store(r1 + BigInt(ax.offset), 8, r2);
    return 0;
  },
};
