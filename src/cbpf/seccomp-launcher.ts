/**
 * The child side of `seccomp run`: `node seccomp-launcher.js <filter-hex> <cmd> [args...]`. Installs the
 * filter on this process and execve(2)s the command (looked up in PATH). Not a library module.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { decodeFilter } from './insn.js';
import { execve, installSeccomp } from './sys.js';

function resolveCommand(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir || '.', cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return cmd;
}

const [hex, cmd, ...args] = process.argv.slice(2);
if (!hex || !cmd) {
  process.stderr.write('usage: seccomp-launcher <filter-hex> <cmd> [args...]\n');
  process.exit(2);
}
const path = resolveCommand(cmd);
const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
try {
  installSeccomp(decodeFilter(Buffer.from(hex, 'hex')));
  execve(path, [cmd, ...args], env);
} catch (e) {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(127);
}
