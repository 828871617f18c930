/**
 * Finding a shared library by name the way the dynamic loader would: /etc/ld.so.cache (new glibc format),
 * then the standard directories. Paths containing '/' are taken as they are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { arch } from 'node:process';
import { KernelError } from '../../errors.js';

const MAGIC_NEW = 'glibc-ld.so.cache1.1';

/** Library name → path entries of /etc/ld.so.cache (empty when unreadable). */
export function ldCacheEntries(path = '/etc/ld.so.cache'): Map<string, string> {
  const out = new Map<string, string>();
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return out;
  }
  // The new format may follow an old-format block: find its magic.
  const start = b.indexOf(MAGIC_NEW);
  if (start < 0) return out;
  const n = b.readUInt32LE(start + 20);
  const entries = start + 48;
  for (let i = 0; i < n; i++) {
    const e = entries + i * 24;
    if (e + 24 > b.length) break;
    const key = b.readUInt32LE(e + 4);
    const value = b.readUInt32LE(e + 8);
    const str = (off: number) => {
      const end = b.indexOf(0, off);
      return b.subarray(off, end).toString();
    };
    const k = str(key);
    if (!out.has(k)) out.set(k, str(value));
  }
  return out;
}

const DIRS: Record<string, string[]> = {
  x64: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64'],
  arm64: ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64'],
};

/** The path of a binary or library: as given when it contains '/', else from ld.so.cache or standard dirs. */
export function resolveLibrary(name: string): string {
  if (name.includes('/')) {
    if (!existsSync(name)) throw new KernelError('uprobe', 2, 'ENOENT', { detail: name, hint: `no such file ${name}` });
    return name;
  }
  const cached = ldCacheEntries().get(name);
  if (cached && existsSync(cached)) return cached;
  // `c` → libc.so.6 style shorthands: try libNAME.so and versioned names in the cache.
  for (const [k, v] of ldCacheEntries()) if (k.startsWith(`lib${name}.so`) || k.startsWith(`${name}.so`)) return v;
  for (const d of [...(DIRS[arch] ?? []), '/lib', '/usr/lib', '/usr/local/lib', '/bin', '/usr/bin', '/sbin', '/usr/sbin']) {
    if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  }
  throw new KernelError('uprobe', 2, 'ENOENT', { detail: name, hint: `cannot find ${name} in ld.so.cache or the standard library directories` });
}
