/**
 * Running a command under a seccomp program. Node cannot run code between fork and exec, so the child is a
 * small Node launcher (seccomp-launcher.ts) that installs the filter on itself through FFI (prctl
 * NO_NEW_PRIVS + seccomp SET_MODE_FILTER) and then execve(2)s the command, which inherits the filter.
 * The policy must therefore allow execve (and what the dynamic loader needs) for the command to start.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeFilter, type SockFilter } from './insn.js';

/** Path of the compiled launcher module. */
export const SECCOMP_LAUNCHER = fileURLToPath(new URL('./seccomp-launcher.js', import.meta.url));

/** Options of {@link spawnUnderSeccomp}. */
export interface SeccompSpawnOptions {
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Spawn `cmd args` with the classic program `prog` installed as its seccomp filter. */
export function spawnUnderSeccomp(prog: readonly SockFilter[], cmd: string, args: readonly string[], opts: SeccompSpawnOptions = {}): ChildProcess {
  const hex = Buffer.from(encodeFilter(prog)).toString('hex');
  return spawn(process.execPath, [SECCOMP_LAUNCHER, hex, cmd, ...args], { stdio: opts.stdio ?? 'inherit', env: opts.env ?? process.env, cwd: opts.cwd });
}

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Wait for a child to exit. */
export function waitChild(child: ChildProcess): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}
