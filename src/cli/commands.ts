/**
 * The CLI commands: name → module. Each command lives in its own module under src/cli/ and exports
 * `register(program)`. Only the module of the command being run is imported (fast start, and a command's
 * dependencies cannot break another command); `--help` without a command imports them all to list them.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

/** Command name (first word on the command line) → loader of the module that registers it. */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<{ register: RegisterCommand }>>> = {
  asm: () => import('./asm.js'),
  disasm: () => import('./disasm.js'),
  conformance: () => import('./conformance.js'),
  'conformance-plugin': () => import('./conformance-plugin.js'),
  objdump: () => import('./objdump.js'),
  gen: () => import('./gen.js'),
  btf: () => import('./btf.js'),
  run: () => import('./run.js'),
  prog: () => import('./prog.js'),
  map: () => import('./map.js'),
  link: () => import('./link.js'),
  net: () => import('./net.js'),
  cgroup: () => import('./cgroup.js'),
  perf: () => import('./perf.js'),
  feature: () => import('./feature.js'),
  attach: () => import('./attach.js'),
  filter: () => import('./filter.js'),
  capture: () => import('./capture.js'),
  seccomp: () => import('./seccomp.js'),
  verify: () => import('./verify.js'),
  trace: () => import('./trace.js'),
  tool: () => import('./tool.js'),
  'xdp-firewall': () => import('./xdp-firewall.js'),
  'xdp-lb': () => import('./xdp-lb.js'),
  secure: () => import('./secure.js'),
};

/** The register functions for a command line: just its command's, or every command's when none is named. */
export async function commandsFor(argv: readonly string[]): Promise<RegisterCommand[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const names = first && first !== 'help' && COMMAND_MODULES[first] ? [first] : Object.keys(COMMAND_MODULES);
  const mods = await Promise.all(names.map((n) => COMMAND_MODULES[n]!()));
  return mods.map((m) => m.register);
}
