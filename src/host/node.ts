/**
 * The Node host for bpfkit's file-reading conveniences (see src/host/io.ts), installed by the main entry
 * (`bpfkit`) through a static import of the Node built-ins, so it works on every Node 20 release. The portable
 * entry (`bpfkit/portable`) does not import this module.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { release } from 'node:os';
import { arch } from 'node:process';
import { nodeHostIo, setHostIo, type HostIo } from './io.js';

/** The Node implementation of `HostIo`. */
export const NODE_HOST_IO: HostIo = nodeHostIo({
  fs: { readFileSync: (p) => readFileSync(p), readdirSync: (p) => readdirSync(p), statSync: (p) => statSync(p) },
  path: { join },
  zlib: { gunzipSync: (b) => gunzipSync(b) },
  os: { release },
  process: { arch },
});

/** Install the Node host (done once by the main entry on import). */
export function useNodeHostIo(): void {
  setHostIo(NODE_HOST_IO);
}

useNodeHostIo();
