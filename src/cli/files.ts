/**
 * Input-file context for CLI errors: a parse error of a file's contents (ELF, BTF, pcap, instructions) names
 * the offset and the reason; the CLI adds which file, so the one-line message says where and why.
 */
import { BpfkitError } from '../errors.js';

/** Run `fn` (which parses the contents of `path`); a BpfkitError it throws gets `path: ` in front of its message. */
export function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BpfkitError && path && !err.message.includes(path)) err.message = `${path}: ${err.message}`;
    throw err;
  }
}
