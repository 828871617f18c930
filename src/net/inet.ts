/** Network addresses as text, one implementation for the tracing language's ntop(), tools and kernel views. */

/**
 * An address as text, like glibc's inet_ntop: dotted IPv4 for family 2 (AF_INET), IPv6 for 10 (AF_INET6) with the
 * longest run of two or more zero groups as `::` and IPv4-mapped/compatible tails dotted; '' for other families.
 */
export function inetNtop(family: number, a: Uint8Array): string {
  if (family === 2) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  if (family !== 10) return '';
  const w = Array.from({ length: 8 }, (_, i) => (a[2 * i]! << 8) | a[2 * i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (cur.base < 0) cur = { base: i, len: 1 };
      else cur.len++;
      if (cur.len > best.len) best = { ...cur };
    } else cur = { base: -1, len: 0 };
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      break;
    }
    out += w[i]!.toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ':';
  return out;
}
