/**
 * `bpfkit btf list`: every BTF object loaded in the kernel by id — vmlinux, modules, programs' and maps' BTF —
 * with name, size, and the programs and maps using it (like `bpftool btf list`).
 */
import { objectIds, tryOpenById } from '../kernel/info/ids.js';
import { btfInfo, mapInfo, progInfo } from '../kernel/info/info.js';
import { printJson, printTable } from './prog.js';

/** One BTF object, with bpftool's JSON keys. */
interface BtfRow {
  id: number;
  size: number;
  prog_ids: number[];
  map_ids: number[];
  kernel: boolean;
  name: string;
}

/** The ids of `kind` objects whose BTF is `btf_id`, by BTF id. */
function usersByBtf(kind: 'prog' | 'map'): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const id of objectIds(kind)) {
    const fd = tryOpenById(kind, id);
    if (!fd) continue;
    try {
      const b = kind === 'prog' ? progInfo(fd.fd).btfId : mapInfo(fd.fd).btfId;
      if (b) out.set(b, [...(out.get(b) ?? []), id]);
    } finally {
      fd.close();
    }
  }
  return out;
}

/** Run `btf list`. */
export function btfList(opts: { json?: boolean }): void {
  const progs = usersByBtf('prog');
  const maps = usersByBtf('map');
  const rows: BtfRow[] = [];
  for (const id of objectIds('btf')) {
    const fd = tryOpenById('btf', id);
    if (!fd) continue;
    try {
      const i = btfInfo(fd.fd);
      rows.push({ id, size: i.size, prog_ids: progs.get(id) ?? [], map_ids: maps.get(id) ?? [], kernel: i.kernelBtf, name: i.name });
    } finally {
      fd.close();
    }
  }
  if (opts.json) printJson(rows);
  else printTable(['ID', 'NAME', 'SIZE', 'KERNEL', 'PROGS', 'MAPS'], rows.map((r) => [r.id, r.name || '-', r.size, r.kernel ? 'yes' : 'no', r.prog_ids.join(',') || '-', r.map_ids.join(',') || '-']));
}
