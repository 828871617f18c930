/**
 * Loading an object's BTF into the kernel (BPF_BTF_LOAD) with a log on failure, so maps get key/value types
 * and programs func_info / line_info. PARTIAL: no type-by-type sanitisation for old kernels (libbpf rewrites
 * kinds the kernel lacks); when the kernel rejects the BTF, the Collection proceeds without it and says so.
 */
import { BpfCmd } from '../../isa/uapi.js';
import { Attr, bpfRaw, textBeforeNul } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';

/** Load raw BTF bytes; returns the owned BTF fd. Throws `KernelError('BTF_LOAD')` with the kernel's log. */
export function loadBtf(bytes: Uint8Array): FdRef {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const a = new Attr('BTF_LOAD');
  a.setAll({ btf: data, btf_size: data.length });
  let r = bpfRaw(BpfCmd.BTF_LOAD, a.addr, a.size);
  if (r >= 0) return new FdRef(r, 'BTF');
  let errno = -r;
  let log = Buffer.alloc(1 << 20);
  for (let i = 0; i < 4; i++) {
    a.zero().setAll({ btf: data, btf_size: data.length, btf_log_buf: log, btf_log_size: log.length, btf_log_level: 1 });
    r = bpfRaw(BpfCmd.BTF_LOAD, a.addr, a.size);
    if (r >= 0) return new FdRef(r, 'BTF');
    errno = -r;
    if (errno !== 28) break;
    log = Buffer.alloc(Math.max(a.get('btf_log_true_size') + 1, log.length * 4));
  }
  const text = textBeforeNul(log);
  const last = text.split('\n').filter(Boolean).slice(-2).join(' | ');
  throw kernelError('BTF_LOAD', errno, { log: text || undefined, detail: last || undefined });
}
