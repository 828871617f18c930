/**
 * Programs attached to perf events: tracepoints, kprobes, uprobes (through their perf PMUs) and sampling
 * events. Attaching uses BPF_LINK_CREATE (BPF_PERF_EVENT) and falls back to ioctl(PERF_EVENT_IOC_SET_BPF);
 * the event is enabled after. Closing the perf fd costs ~72 ms of kernel time: use `closeLinks` for many.
 */
import { AttachType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { onlineCpus } from '../sys/fs.js';
import { ioctl, perfEventOpen, PerfIoctl, PerfSwConfig, PerfType } from '../sys/perf.js';
import { PerfAttrFlag } from '../sys/attr.js';
import { linkInfo, type LinkInfo } from '../info/info.js';
import type { Link } from './link.js';

/** A program on one perf event (plus its BPF link when the kernel gave one). */
export class PerfEventLink implements Link {
  readonly kind: string;
  readonly target: string;
  readonly perf: FdRef;
  readonly bpfLink?: FdRef;
  /** 'link' (BPF_LINK_CREATE) or 'ioctl' (PERF_EVENT_IOC_SET_BPF). */
  readonly method: 'link' | 'ioctl';

  constructor(kind: string, target: string, perf: FdRef, bpfLink: FdRef | undefined) {
    this.kind = kind;
    this.target = target;
    this.perf = perf;
    this.bpfLink = bpfLink;
    this.method = bpfLink ? 'link' : 'ioctl';
  }

  get closed(): boolean {
    return this.perf.closed;
  }

  /** Link info (only for BPF-link attachments). */
  info(): LinkInfo | undefined {
    return this.bpfLink && !this.bpfLink.closed ? linkInfo(this.bpfLink.fd) : undefined;
  }

  close(): void {
    this.bpfLink?.close();
    this.perf.close();
  }

  async closeAsync(): Promise<void> {
    this.bpfLink?.close();
    await this.perf.closeAsync();
  }
}

/**
 * Attach `prog` to an open perf event fd (taking ownership of it) and enable the event.
 * Throws `KernelError` (the perf fd is closed on failure).
 */
export function attachPerfEventFd(prog: KernelProgram, perf: FdRef, kind: string, target: string, opts: { cookie?: bigint } = {}): PerfEventLink {
  let link: FdRef | undefined;
  try {
    const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_fd: perf.fd, attach_type: AttachType.PERF_EVENT, 'perf_event.bpf_cookie': opts.cookie });
    if (ret >= 0) link = new FdRef(ret, `perf link ${target}`);
    else if (ret === -22 || ret === -95 || ret === -524) {
      // No perf links in this kernel (< 5.15): the ioctl way.
      ioctl(perf.fd, PerfIoctl.SET_BPF, prog.fd, 'PERF_EVENT_IOC_SET_BPF');
    } else throw kernelError('LINK_CREATE', -ret, { detail: `${kind} ${target}` });
    ioctl(perf.fd, PerfIoctl.ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
    return new PerfEventLink(kind, target, perf, link);
  } catch (e) {
    link?.close(); // created, but enabling the event failed: do not leave the link to the GC
    void perf.closeAsync();
    throw e;
  }
}

/** Options for sampling perf events. */
export interface PerfSamplingOptions {
  /** Samples per second per CPU (default 99). */
  frequency?: number;
  /** Or every N events. */
  period?: number;
  /** PerfType (default SOFTWARE) and config (default SW_CPU_CLOCK). */
  type?: number;
  config?: number | bigint;
  /** CPUs to sample on (default all online). */
  cpus?: number[];
  /** Only this process (-1: all). */
  pid?: number;
}

/** A group of per-CPU perf-event links closed together. */
export class PerfEventLinks implements Link {
  readonly kind = 'perf_event';
  readonly target: string;
  constructor(readonly links: PerfEventLink[], target: string) {
    this.target = target;
  }
  get closed(): boolean {
    return this.links.every((l) => l.closed);
  }
  close(): void {
    for (const l of this.links) l.close();
  }
  async closeAsync(): Promise<void> {
    await Promise.all(this.links.map((l) => l.closeAsync()));
  }
}

/** Attach a PERF_EVENT program to a sampling event on every (given) CPU (software CPU clock by default). */
export function attachPerfEvent(prog: KernelProgram, o: PerfSamplingOptions = {}): PerfEventLinks {
  const cpus = o.cpus ?? onlineCpus();
  const type = o.type ?? PerfType.SOFTWARE;
  const config = o.config ?? PerfSwConfig.CPU_CLOCK;
  const what = `type ${type} config ${config} @ ${o.period ? `every ${o.period}` : `${o.frequency ?? 99} Hz`}`;
  const links: PerfEventLink[] = [];
  try {
    for (const cpu of cpus) {
      const fd = perfEventOpen({
        type,
        config,
        sampleFreq: o.period ? undefined : (o.frequency ?? 99),
        samplePeriod: o.period,
        flags: PerfAttrFlag.disabled,
        cpu,
        pid: o.pid ?? -1,
      });
      links.push(attachPerfEventFd(prog, fd, 'perf_event', `cpu ${cpu} ${what}`));
    }
  } catch (e) {
    for (const l of links) void l.closeAsync();
    throw e;
  }
  return new PerfEventLinks(links, what);
}
