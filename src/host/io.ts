/**
 * Host services for bpfkit's kernel-free code, without a static import of any Node built-in, so that the
 * portable entry (`bpfkit/portable`) runs in a browser or any JS runtime. A few kernel-free functions read
 * optional host files: kernel BTF (`Btf.loadKernel`, `loadKernelBtf`), the kernel config and release (`.kconfig`
 * externs), tracefs tracepoint formats, /etc/protocols and /etc/services (pcap filter names), conformance test
 * directories. They get the file system through this module:
 *
 *  - `setHostIo(io)` installs an implementation (any subset; a browser app can serve files from memory);
 *  - otherwise, on Node (≥ 20.16 / 22.3), the Node built-ins are reached through `process.getBuiltinModule`,
 *    which bundlers leave alone; the main entry (`bpfkit`) also installs them statically (src/host/node.ts),
 *    which covers older Node 20 releases;
 *  - otherwise (a browser) the file functions throw `UsageError` and callers fall back as they would on a
 *    host without the file (no kernel BTF, built-in protocol names, release unknown...).
 */
import { UsageError } from '../errors.js';

/** What bpfkit may ask of its host. Every member is optional in `setHostIo`. */
export interface HostIo {
  /** The whole content of a file; throws (with the host's message) when it cannot be read. */
  readFile(path: string): Uint8Array;
  /** Entry names of a directory (not paths); throws when it cannot be read. */
  readDir(path: string): string[];
  /** What a path is; throws when it does not exist. */
  stat(path: string): { isFile(): boolean; isDirectory(): boolean };
  /** Join path segments the host's way (Node: `path.join`). */
  joinPath(...parts: string[]): string;
  /** Decompress gzip data synchronously (for /proc/config.gz). */
  gunzip(bytes: Uint8Array): Uint8Array;
  /** The running kernel's release string (`uname -r`), or '' when unknown. */
  osRelease(): string;
  /** The CPU architecture in Node's spelling (`x64`, `arm64`...), or '' when unknown. */
  arch(): string;
}

/** The Node built-in functions `nodeHostIo` needs, typed structurally so this module imports nothing from Node. */
export interface NodeBuiltins {
  fs: {
    readFileSync(path: string): Uint8Array;
    readdirSync(path: string): string[];
    statSync(path: string): { isFile(): boolean; isDirectory(): boolean };
  };
  path: { join(...parts: string[]): string };
  zlib: { gunzipSync(bytes: Uint8Array): Uint8Array };
  os: { release(): string };
  process: { arch: string };
}

/** A `HostIo` over Node's built-in modules (used by src/host/node.ts and by the `getBuiltinModule` fallback). */
export function nodeHostIo(n: NodeBuiltins): HostIo {
  return {
    readFile: (p) => n.fs.readFileSync(p),
    readDir: (p) => n.fs.readdirSync(p),
    stat: (p) => n.fs.statSync(p),
    joinPath: (...parts) => n.path.join(...parts),
    gunzip: (b) => n.zlib.gunzipSync(b),
    osRelease: () => n.os.release(),
    arch: () => n.process.arch,
  };
}

let installed: Partial<HostIo> | undefined;
let builtin: HostIo | null | undefined;

/**
 * Install the host services bpfkit's file-reading conveniences use (see the module comment). Members left out
 * fall back to Node's built-ins when reachable, else to "unavailable". `setHostIo(undefined)` removes them.
 */
export function setHostIo(io: Partial<HostIo> | undefined): void {
  installed = io;
}

/** Node's built-ins through `process.getBuiltinModule`, when this runs on a Node that has it. */
function builtinHost(): HostIo | null {
  if (builtin !== undefined) return builtin;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; arch?: string } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== 'function') return (builtin = null);
  try {
    builtin = nodeHostIo({
      fs: get('node:fs') as NodeBuiltins['fs'],
      path: get('node:path') as NodeBuiltins['path'],
      zlib: get('node:zlib') as NodeBuiltins['zlib'],
      os: get('node:os') as NodeBuiltins['os'],
      process: proc as NodeBuiltins['process'],
    });
  } catch {
    builtin = null;
  }
  return builtin;
}

function member<K extends keyof HostIo>(key: K): HostIo[K] | undefined {
  return installed?.[key] ?? builtinHost()?.[key];
}

function unavailable(what: string): never {
  throw new UsageError(`${what}: this host has no file system for bpfkit (pass the data directly, or install one with setHostIo)`);
}

/** Read a file through the host; throws when there is no host file system or the file cannot be read. */
export function hostReadFile(path: string): Uint8Array {
  const f = member('readFile');
  return f ? f(path) : unavailable(`cannot read ${path}`);
}

/** Read a UTF-8 text file through the host (as `readFileSync(path, 'utf8')`: a BOM is kept). */
export function hostReadText(path: string): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(hostReadFile(path));
}

/** List a directory through the host. */
export function hostReadDir(path: string): string[] {
  const f = member('readDir');
  return f ? f(path) : unavailable(`cannot list ${path}`);
}

/** Stat a path through the host. */
export function hostStat(path: string): { isFile(): boolean; isDirectory(): boolean } {
  const f = member('stat');
  return f ? f(path) : unavailable(`cannot stat ${path}`);
}

/** Join path segments the host's way; `/`-joined when there is no host. */
export function hostJoinPath(...parts: string[]): string {
  const f = member('joinPath');
  return f ? f(...parts) : parts.join('/').replace(/\/{2,}/g, '/');
}

/** Gunzip through the host; throws when it cannot. */
export function hostGunzip(bytes: Uint8Array): Uint8Array {
  const f = member('gunzip');
  return f ? f(bytes) : unavailable('cannot decompress gzip data');
}

/** The running kernel's release (`uname -r`), or '' when the host does not know it. */
export function hostOsRelease(): string {
  const f = member('osRelease');
  return f ? f() : '';
}

/** The CPU architecture in Node's spelling (`x64`, `arm64`), or '' when the host does not say. */
export function hostArch(): string {
  const f = member('arch');
  return f ? f() : '';
}
