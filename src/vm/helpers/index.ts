/**
 * The runtime's helper table: every implementation registered by helper NAME and turned into ids through
 * src/isa/helpers.ts (ids are never spelled here). `runtimeHelpers()` gives the id → implementation map a `Vm`
 * takes; `isHelperImplemented` lets loaders refuse, at load time, programs that call anything else.
 */
import type { HelperImpl } from '../api.js';
import { helperById, helperByName } from '../../isa/helpers.js';
import { mapHelpers } from './maps.js';
import { taskHelpers } from './task.js';
import { probeHelpers } from './probe.js';
import { printfHelpers } from './printf.js';
import { eventHelpers } from './events.js';
import { controlHelpers } from './control.js';
import { xdpHelpers } from './xdp.js';
import { skbHelpers } from './skb.js';
import { redirectHelpers } from './redirect.js';
import { tracingHelpers } from './tracing.js';

export * from './env.js';
export { bpfFormat } from './printf.js';
export { csumPartial, csumReplace2, csumReplace4, csumFold } from './csum.js';
export { flowHash } from './skb.js';
export { parseIp, routeFor } from './redirect.js';

const BY_NAME: Record<string, HelperImpl> = {
  ...mapHelpers,
  ...taskHelpers,
  ...probeHelpers,
  ...printfHelpers,
  ...eventHelpers,
  ...controlHelpers,
  ...xdpHelpers,
  ...skbHelpers,
  ...redirectHelpers,
  ...tracingHelpers,
};

const BY_ID = new Map<number, HelperImpl>();
for (const [name, impl] of Object.entries(BY_NAME)) {
  const proto = helperByName(name);
  if (!proto) throw new Error(`runtime helper table: ${name} is not a helper of the UAPI header`);
  BY_ID.set(proto.id, impl);
}

/** The runtime's helper implementations by id (a fresh map the caller may modify). */
export function runtimeHelpers(): Map<number, HelperImpl> {
  return new Map(BY_ID);
}

/** Whether the runtime implements helper `id`. */
export function isHelperImplemented(id: number): boolean {
  return BY_ID.has(id);
}

/** Names (without `bpf_`) of every helper the runtime implements, sorted by id. */
export function implementedHelpers(): string[] {
  return [...BY_ID.keys()].sort((a, b) => a - b).map((id) => helperById(id)!.name);
}

/** The runtime's implementation of a helper by name (with or without `bpf_`), for mocks that delegate. */
export function helperImplementation(name: string): HelperImpl | undefined {
  const p = helperByName(name);
  return p ? BY_ID.get(p.id) : undefined;
}
