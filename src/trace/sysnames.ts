/**
 * User-space lookups behind builtins whose values the kernel side only records as numbers: username (the uid →
 * /etc/passwd name) and cgroup_path() (a cgroup id → its path in each mounted cgroup hierarchy, found by walking
 * the hierarchies for the directory whose inode number is the id, as bpftrace does).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { globRegExp } from './probes.js';

let passwd: Map<number, string> | undefined;

/** username: the login name of `uid` from /etc/passwd (the number itself when it has none). */
export function userName(uid: number): string {
  if (!passwd) {
    passwd = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 3 && /^\d+$/.test(f[2]!) && !passwd.has(Number(f[2]))) passwd.set(Number(f[2]), f[0]!);
      }
    } catch {
      /* no passwd file: numbers */
    }
  }
  return passwd.get(uid) ?? String(uid);
}

/** A mounted cgroup hierarchy: bpftrace's name for it (`unified` for cgroup2) and its mount point. */
interface Hierarchy {
  name: string;
  mount: string;
}

/** Mounted hierarchies: cgroup2 first, then the v1 ones by name (bpftrace's order). */
function hierarchies(): Hierarchy[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const v2: Hierarchy[] = [];
  const v1: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const fstype = post.split(' ')[0];
    // Only mounts of a hierarchy's root (bind mounts of sub-trees would give other paths).
    const f = pre.split(' ');
    if (f[3] !== '/' || !f[4]) continue;
    const mount = f[4].replace(/\\040/g, ' ');
    const name = fstype === 'cgroup2' ? 'unified' : fstype === 'cgroup' ? mount.slice(mount.lastIndexOf('/') + 1) : undefined;
    if (!name || seen.has(name)) continue;
    seen.add(name);
    (fstype === 'cgroup2' ? v2 : v1).push({ name, mount });
  }
  v1.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...v2.slice(0, 1), ...v1];
}

/** The path (from the hierarchy's root, `/` for the root) of the directory with inode `id`, or undefined. */
function findInode(root: string, id: bigint): string | undefined {
  const queue: string[] = [''];
  for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
    const dir = root + rel;
    try {
      if (statSync(dir || '/', { bigint: true }).ino === id) return rel || '/';
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) queue.push(`${rel}/${d.name}`);
    } catch {
      /* gone or unreadable: skip */
    }
  }
  return undefined;
}

/**
 * cgroup_path(id[, filter]): `name:path` for each hierarchy (matching the glob `filter`) holding a cgroup with
 * inode `id`, joined by commas. Cgroups created after the lookup of an id are found on the next lookup.
 */
export function cgroupPath(id: bigint, filter?: string): string {
  const re = filter !== undefined ? globRegExp(filter) : undefined;
  const out: string[] = [];
  for (const h of hierarchies()) {
    if (re && !re.test(h.name)) continue;
    const p = findInode(h.mount, id);
    if (p !== undefined) out.push(`${h.name}:${p}`);
  }
  return out.join(',');
}

/** buf() text: printable ASCII as is, other bytes as `\xNN` (bpftrace's %r). */
export function bufText(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
  return s;
}

/** macaddr() text: six upper-case hex bytes separated by colons. */
export function macText(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (c) => c.toString(16).toUpperCase().padStart(2, '0')).join(':');
}
