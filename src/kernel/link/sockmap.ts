/**
 * sk_msg and sk_skb programs on a SOCKMAP / SOCKHASH: a sockmap link (BPF_LINK_CREATE with target_fd = the
 * map, Linux 6.10+), falling back to BPF_PROG_ATTACH on the map (then `close()` does BPF_PROG_DETACH) when the
 * kernel has no sockmap links. The programs run for the sockets put in the map after the attachment (the
 * kernel copies the map's programs into a socket's state when the socket is inserted).
 */
import { KernelError } from '../../errors.js';
import { attachTypeName, mapTypeName } from '../../isa/names.js';
import { AttachType, MapType } from '../../isa/uapi.js';
import { classifySection } from '../../elf/sections.js';
import type { KernelProgram } from '../load/program.js';
import { bpf, bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { dupFd } from '../sys/process.js';
import { BpfLink, DetachOnceLink } from './link.js';

/** The attach types a sockmap takes. */
export const SOCKMAP_ATTACH_TYPES: ReadonlySet<number> = new Set([
  AttachType.SK_MSG_VERDICT,
  AttachType.SK_SKB_STREAM_PARSER,
  AttachType.SK_SKB_STREAM_VERDICT,
  AttachType.SK_SKB_VERDICT,
]);

/** A sockmap link (BPF_LINK_CREATE). */
export class SockMapLink extends BpfLink {
  readonly mode = 'link' as const;
}

/**
 * A legacy (PROG_ATTACH) sockmap attachment. It holds its own duplicates of the program's and the map's
 * descriptors, so detaching names the right objects even after the caller closed them.
 */
export class SockMapAttachment extends DetachOnceLink {
  readonly kind = 'sockmap';
  readonly mode = 'prog_attach' as const;
  private readonly prog: FdRef;
  private readonly map: FdRef;
  constructor(
    readonly target: string,
    progFd: number,
    mapFd: number,
    private readonly attachType: number,
  ) {
    super();
    this.prog = new FdRef(dupFd(progFd, target), `sockmap program ${target}`);
    try {
      this.map = new FdRef(dupFd(mapFd, target), `sockmap ${target}`);
    } catch (e) {
      this.prog.close();
      throw e;
    }
  }
  /** BPF_PROG_DETACH from the map. */
  protected detach(): void {
    try {
      bpf('PROG_DETACH', { target_fd: this.map.fd, attach_bpf_fd: this.prog.fd, attach_type: this.attachType }, { detail: this.target });
    } finally {
      this.prog.close();
      this.map.close();
    }
  }
}

/** Either kind of sockmap attachment; `mode` tells them apart. */
export type SockMapAttach = SockMapLink | SockMapAttachment;

/** errnos with which LINK_CREATE says "no sockmap links in this kernel". */
const NO_SOCKMAP_LINK = new Set([22 /* EINVAL */, 95 /* EOPNOTSUPP */, 524 /* ENOTSUPP */]);

/**
 * Attach an SK_MSG or SK_SKB program to a SOCKMAP / SOCKHASH. `attachType` defaults to the program's expected
 * attach type, else the one its section names (`sk_msg` → SK_MSG_VERDICT, `sk_skb/stream_parser`,
 * `sk_skb/stream_verdict`, `sk_skb/verdict`). `mode`: 'link' (sockmap link only), 'prog_attach' (legacy
 * only) or 'auto' (a link, else PROG_ATTACH; default).
 */
export function attachSockMap(
  prog: KernelProgram,
  map: { readonly fd: number; readonly name?: string; readonly type?: number } | number,
  attachType?: number,
  opts: { mode?: 'auto' | 'link' | 'prog_attach' } = {},
): SockMapAttach {
  const at = attachType ?? prog.expectedAttachType ?? classifySection(prog.spec?.section ?? '')?.expectedAttachType;
  const mapFd = typeof map === 'number' ? map : map.fd;
  const mapName = typeof map === 'number' ? `map fd ${map}` : `map ${map.name ?? `fd ${map.fd}`}`;
  if (at === undefined || !SOCKMAP_ATTACH_TYPES.has(at)) {
    throw new KernelError('attach', 22, 'EINVAL', {
      detail: `${prog.name} on ${mapName}`,
      hint: at === undefined ? 'a sockmap attach needs an attach type (sk_msg_verdict, sk_skb_stream_parser, sk_skb_stream_verdict, sk_skb_verdict)' : `${attachTypeName(at)} is not a sockmap attach type`,
    });
  }
  if (typeof map !== 'number' && map.type !== undefined && map.type !== MapType.SOCKMAP && map.type !== MapType.SOCKHASH) {
    throw new KernelError('attach', 22, 'EINVAL', { detail: `${prog.name} on ${mapName}`, hint: `a ${mapTypeName(map.type)} map is not a SOCKMAP or SOCKHASH` });
  }
  const target = `${mapName} ${attachTypeName(at)}`;
  const mode = opts.mode ?? 'auto';
  let linkError: KernelError | undefined;
  if (mode !== 'prog_attach') {
    const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_fd: mapFd, attach_type: at });
    if (ret >= 0) return new SockMapLink(new FdRef(ret, `sockmap link ${target}`), 'sockmap', target);
    linkError = kernelError('LINK_CREATE', -ret, { detail: target });
    if (mode === 'link' || !NO_SOCKMAP_LINK.has(-ret)) throw linkError;
  }
  try {
    bpf('PROG_ATTACH', { target_fd: mapFd, attach_bpf_fd: prog.fd, attach_type: at }, { detail: target });
  } catch (e) {
    if (e instanceof KernelError && linkError) {
      throw new KernelError(e.command, e.errno, e.errnoName, { detail: `${target}, after LINK_CREATE failed with ${linkError.errnoName}`, hint: e.hint, log: e.log });
    }
    throw e;
  }
  return new SockMapAttachment(target, prog.fd, mapFd, at);
}
