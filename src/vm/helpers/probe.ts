/**
 * probe_read helpers: read from a simulated kernel or user address space the test provides (a list of
 * `{ addr, bytes }` chunks), or from VM memory when the address is a VM address (the program's own stack, a map
 * value, the task region). On a bad address they zero the destination and return -EFAULT, like the kernel.
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { Errno } from '../errno.js';
import { envOf, type MemoryChunk } from './env.js';
import { u32, writeBytes, zeroBytes } from './util.js';

type Space = 'kernel' | 'user' | 'any';

function chunksOf(c: HelperCallContext, space: Space): MemoryChunk[] {
  const env = envOf(c);
  if (space === 'kernel') return env.kernelMemory;
  if (space === 'user') return env.userMemory;
  return [...env.kernelMemory, ...env.userMemory];
}

/** `len` bytes at `addr` of the address space, or undefined when they are not all mapped. */
export function readSpace(c: HelperCallContext, space: Space, addr: bigint, len: number): Uint8Array | undefined {
  const r = c.mem.regionOf(addr);
  if (r) {
    const off = Number(addr & 0xffffffffn);
    return off + len <= r.bytes.length ? r.bytes.slice(off, off + len) : undefined;
  }
  for (const ch of chunksOf(c, space)) {
    if (addr >= ch.addr && addr + BigInt(len) <= ch.addr + BigInt(ch.bytes.length)) {
      const off = Number(addr - ch.addr);
      return ch.bytes.slice(off, off + len);
    }
  }
  return undefined;
}

/** Bytes of the NUL-terminated string at `addr` (without the NUL, at most `max`), or undefined. */
export function readSpaceString(c: HelperCallContext, space: Space, addr: bigint, max: number): Uint8Array | undefined {
  const r = c.mem.regionOf(addr);
  let src: Uint8Array | undefined;
  let off = 0;
  if (r) {
    src = r.bytes;
    off = Number(addr & 0xffffffffn);
  } else {
    for (const ch of chunksOf(c, space)) {
      if (addr >= ch.addr && addr < ch.addr + BigInt(ch.bytes.length)) {
        src = ch.bytes;
        off = Number(addr - ch.addr);
        break;
      }
    }
  }
  if (!src || off >= src.length) return undefined;
  const end = Math.min(src.length, off + max);
  for (let i = off; i < end; i++) if (src[i] === 0) return src.slice(off, i);
  return end - off >= max ? src.slice(off, end) : undefined;
}

function probeRead(space: Space): HelperImpl {
  return (c, r1, r2, r3) => {
    const size = u32(r2);
    const data = readSpace(c, space, r3, size);
    if (!data) {
      zeroBytes(c, r1, size);
      return -Errno.EFAULT;
    }
    writeBytes(c, r1, data);
    return 0;
  };
}

function probeReadStr(space: Space): HelperImpl {
  return (c, r1, r2, r3) => {
    const size = u32(r2);
    if (size === 0) return 0;
    const s = readSpaceString(c, space, r3, size - 1);
    if (!s) {
      zeroBytes(c, r1, size);
      return -Errno.EFAULT;
    }
    writeBytes(c, r1, s);
    c.mem.store(r1 + BigInt(s.length), 1, 0);
    return s.length + 1;
  };
}

/** probe_read helper implementations by name. */
export const probeHelpers: Record<string, HelperImpl> = {
  probe_read: probeRead('any'),
  probe_read_kernel: probeRead('kernel'),
  probe_read_user: probeRead('user'),
  copy_from_user: probeRead('user'),
  probe_read_str: probeReadStr('any'),
  probe_read_kernel_str: probeReadStr('kernel'),
  probe_read_user_str: probeReadStr('user'),
  probe_write_user(c, r1, r2, r3) {
    const env = envOf(c);
    const len = u32(r3);
    const bytes = c.mem.view(r2, len).slice();
    for (const ch of env.userMemory) {
      if (r1 >= ch.addr && r1 + BigInt(len) <= ch.addr + BigInt(ch.bytes.length)) {
        ch.bytes.set(bytes, Number(r1 - ch.addr));
        env.events.push({ kind: 'probe_write_user', addr: r1, bytes });
        return 0;
      }
    }
    return -Errno.EFAULT;
  },
};
