/**
 * The USDT target of examples/usdt_probe.bpf.c, built once per test process with gcc against <sys/sdt.h>:
 * `bpfkit_usdt_target` (examples/usdt_target.c, -O0 PIE: memory, register and constant arguments, two
 * bpfkit:tick call sites) linked with `libbpfkit_usdt.so` (examples/usdt_target_lib.c, -O2: register arguments,
 * bpfkit:gated behind a semaphore), in a temporary directory removed at exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, run } from './fixtures.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;

/** Where the built target lives. */
export interface UsdtTarget {
  dir: string;
  /** The executable (`bpfkit_usdt_target`). */
  exe: string;
  /** The shared library (`libbpfkit_usdt.so`). */
  lib: string;
}

let built: UsdtTarget | undefined;
let failure: string | undefined;

/** Build (once) the USDT target, or say why it cannot be built. */
export function usdtTarget(): UsdtTarget | { skip: string } {
  if (built) return built;
  if (failure) return { skip: failure };
  if (!hasTool('gcc')) return { skip: (failure = 'gcc not installed (needed to build the USDT target)') };
  const probe = run('sh', ['-c', 'echo "#include <sys/sdt.h>" | gcc -E -x c - >/dev/null']);
  if (probe.status !== 0) return { skip: (failure = '<sys/sdt.h> missing (Debian: systemtap-sdt-dev; scripts/setup.sh installs it)') };
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-usdt-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const lib = join(dir, 'libbpfkit_usdt.so');
  const exe = join(dir, 'bpfkit_usdt_target');
  let r = run('gcc', ['-O2', '-shared', '-fPIC', '-o', lib, join(EXAMPLES, 'usdt_target_lib.c')]);
  if (r.status === 0) r = run('gcc', ['-O0', '-o', exe, join(EXAMPLES, 'usdt_target.c'), `-L${dir}`, '-lbpfkit_usdt', '-Wl,-rpath,$ORIGIN']);
  if (r.status !== 0) return { skip: (failure = `cannot build the USDT target: ${r.stderr.trim().split('\n')[0]}`) };
  return (built = { dir, exe, lib });
}
