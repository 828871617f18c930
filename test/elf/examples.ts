// Shared by the ELF tests: where the compiled example objects live and whether tools exist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** examples/build, relative to dist/test/elf. */
export const examplesDir = fileURLToPath(new URL('../../../examples/build/', import.meta.url));

/** Names of the compiled example objects (empty when examples were not built). */
export function exampleObjects(): string[] {
  if (!existsSync(examplesDir)) return [];
  return readdirSync(examplesDir)
    .filter((f) => f.endsWith('.o'))
    .sort();
}

/** Bytes of one example object, or undefined when it was not built. */
export function readExample(name: string): Uint8Array | undefined {
  const p = join(examplesDir, name);
  return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
}

/** Skip reason when the examples are missing. */
export const noExamples = exampleObjects().length ? undefined : 'examples/build has no objects (run scripts/build-examples.sh; needs clang)';

/** True when a command runs. */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}
