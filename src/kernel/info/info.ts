/**
 * Views of live kernel objects: BPF_OBJ_GET_INFO_BY_FD for programs, maps, links and BTF, decoded into plain
 * objects (ids, tags, names, run statistics, map ids, xlated instructions...).
 */
import { Attr, bpfAttr, scratchAttr, textBeforeNul } from '../sys/bpf.js';
import { LAYOUTS, PROG_INFO_GPL_OFFSET, type LayoutName } from '../sys/attr.js';
import { attachTypeName, linkTypeName, mapTypeName, progTypeName } from '../../isa/names.js';
import { LinkType } from '../../isa/uapi.js';

function getInfo<L extends LayoutName>(fd: number, layout: L, prepare?: (a: Attr<L>) => void): Attr<L> {
  const info = new Attr(layout);
  prepare?.(info);
  const a = scratchAttr('INFO');
  a.set('bpf_fd', fd).set('info_len', info.size).set('info', info.buf);
  bpfAttr('OBJ_GET_INFO_BY_FD', a);
  return info;
}

/** What the kernel says about a loaded program. */
export interface ProgInfo {
  id: number;
  type: number;
  typeName: string;
  name: string;
  /** The program tag (hex, 16 digits), as bpftool prints it. */
  tag: string;
  jitedLen: number;
  xlatedLen: number;
  /** Number of xlated instructions (xlatedLen / 8). */
  xlatedInsns: number;
  /** ns since boot. */
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  btfId: number;
  gplCompatible: boolean;
  /** Run statistics (only counted while stats are enabled: see `enableStats`). */
  runCount: bigint;
  runTimeNs: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfId: number;
  attachBtfObjId: number;
  /** The xlated program bytes when asked for. */
  xlated?: Uint8Array;
}

/** Information about the program behind `fd`. `xlated: true` also fetches the translated instructions. */
export function progInfo(fd: number, opts: { xlated?: boolean } = {}): ProgInfo {
  const first = getInfo(fd, 'PROG_INFO');
  const nrMaps = first.get('nr_map_ids');
  const xlen = first.get('xlated_prog_len');
  let info = first;
  let mapBuf: Buffer | undefined;
  let xbuf: Buffer | undefined;
  if (nrMaps > 0 || (opts.xlated && xlen > 0)) {
    info = getInfo(fd, 'PROG_INFO', (a) => {
      if (nrMaps > 0) {
        mapBuf = Buffer.alloc(nrMaps * 4);
        a.set('nr_map_ids', nrMaps).set('map_ids', mapBuf);
      }
      if (opts.xlated && xlen > 0) {
        xbuf = Buffer.alloc(xlen);
        a.set('xlated_prog_len', xlen).set('xlated_prog_insns', xbuf);
      }
    });
  }
  const mapIds: number[] = [];
  if (mapBuf) for (let i = 0; i < Math.min(nrMaps, info.get('nr_map_ids')); i++) mapIds.push(mapBuf.readUInt32LE(i * 4));
  const tagOff = LAYOUTS.PROG_INFO.fields.tag[0];
  const type = info.get('type');
  return {
    id: info.get('id'),
    type,
    typeName: progTypeName(type),
    name: info.getString('name'),
    tag: info.buf.subarray(tagOff, tagOff + 8).toString('hex'),
    jitedLen: info.get('jited_prog_len'),
    xlatedLen: xlen,
    xlatedInsns: xlen / 8,
    loadTime: info.get64('load_time'),
    createdByUid: info.get('created_by_uid'),
    mapIds,
    btfId: info.get('btf_id'),
    gplCompatible: (info.buf.readUInt32LE(PROG_INFO_GPL_OFFSET) & 1) === 1,
    runCount: info.get64('run_cnt'),
    runTimeNs: info.get64('run_time_ns'),
    recursionMisses: info.get64('recursion_misses'),
    verifiedInsns: info.get('verified_insns'),
    attachBtfId: info.get('attach_btf_id'),
    attachBtfObjId: info.get('attach_btf_obj_id'),
    xlated: xbuf ? new Uint8Array(xbuf) : undefined,
  };
}

/** What the kernel says about a map. */
export interface MapInfo {
  id: number;
  type: number;
  typeName: string;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  mapExtra: bigint;
}

/** Information about the map behind `fd`. */
export function mapInfo(fd: number): MapInfo {
  const i = getInfo(fd, 'MAP_INFO');
  const type = i.get('type');
  return {
    id: i.get('id'),
    type,
    typeName: mapTypeName(type),
    name: i.getString('name'),
    keySize: i.get('key_size'),
    valueSize: i.get('value_size'),
    maxEntries: i.get('max_entries'),
    flags: i.get('map_flags'),
    ifindex: i.get('ifindex'),
    btfId: i.get('btf_id'),
    btfKeyTypeId: i.get('btf_key_type_id'),
    btfValueTypeId: i.get('btf_value_type_id'),
    btfVmlinuxValueTypeId: i.get('btf_vmlinux_value_type_id'),
    mapExtra: i.get64('map_extra'),
  };
}

/** What the kernel says about a link. `details` depends on the link type. */
export interface LinkInfo {
  id: number;
  type: number;
  typeName: string;
  progId: number;
  details: Record<string, number | bigint | string>;
}

/** Information about the link behind `fd`. */
export function linkInfo(fd: number): LinkInfo {
  const first = getInfo(fd, 'LINK_INFO');
  const type = first.get('type');
  let i = first;
  const name = Buffer.alloc(type === LinkType.UPROBE_MULTI ? 4096 : 512); // uprobe_multi: a path (d_path fails when short)
  // Second pass with a name buffer for the kinds that report a string.
  const withName: Partial<Record<number, [string, string]>> = {
    [LinkType.RAW_TRACEPOINT]: ['raw_tracepoint.tp_name', 'raw_tracepoint.tp_name_len'],
    [LinkType.ITER]: ['iter.target_name', 'iter.target_name_len'],
    [LinkType.UPROBE_MULTI]: ['uprobe_multi.path', 'uprobe_multi.path_size'],
  };
  const nameFields = withName[type];
  let perfKind = type === LinkType.PERF_EVENT ? first.get('perf_event.type') : -1;
  const perfName: Record<number, [string, string]> = {
    1: ['perf_event.uprobe.file_name', 'perf_event.uprobe.name_len'],
    2: ['perf_event.uprobe.file_name', 'perf_event.uprobe.name_len'],
    3: ['perf_event.kprobe.func_name', 'perf_event.kprobe.name_len'],
    4: ['perf_event.kprobe.func_name', 'perf_event.kprobe.name_len'],
    5: ['perf_event.tracepoint.tp_name', 'perf_event.tracepoint.name_len'],
  };
  const nf = nameFields ?? perfName[perfKind];
  if (nf) {
    i = getInfo(fd, 'LINK_INFO', (a) => {
      a.set(nf[0] as never, name).set(nf[1] as never, name.length);
    });
  }
  const d: Record<string, number | bigint | string> = {};
  switch (type) {
    case LinkType.RAW_TRACEPOINT:
      d.tp_name = textBeforeNul(name);
      break;
    case LinkType.TRACING:
      d.attach_type = attachTypeName(i.get('tracing.attach_type'));
      d.target_obj_id = i.get('tracing.target_obj_id');
      d.target_btf_id = i.get('tracing.target_btf_id');
      break;
    case LinkType.CGROUP:
      d.cgroup_id = i.get64('cgroup.cgroup_id');
      d.attach_type = attachTypeName(i.get('cgroup.attach_type'));
      break;
    case LinkType.ITER:
      d.target_name = textBeforeNul(name);
      break;
    case LinkType.NETNS:
      d.netns_ino = i.get('netns.netns_ino');
      d.attach_type = attachTypeName(i.get('netns.attach_type'));
      break;
    case LinkType.XDP:
      d.ifindex = i.get('xdp.ifindex');
      break;
    case LinkType.TCX:
      d.ifindex = i.get('tcx.ifindex');
      d.attach_type = attachTypeName(i.get('tcx.attach_type'));
      break;
    case LinkType.NETKIT:
      d.ifindex = i.get('netkit.ifindex');
      d.attach_type = attachTypeName(i.get('netkit.attach_type'));
      break;
    case LinkType.SOCKMAP:
      d.map_id = i.get('sockmap.map_id');
      d.attach_type = attachTypeName(i.get('sockmap.attach_type'));
      break;
    case LinkType.KPROBE_MULTI:
      d.count = i.get('kprobe_multi.count');
      break;
    case LinkType.UPROBE_MULTI:
      // Linux 6.8+ (older kernels report nothing: count 0, empty path). Offsets/cookies: uprobeMultiDetails().
      d.path = textBeforeNul(name);
      d.count = i.get('uprobe_multi.count');
      d.flags = i.get('uprobe_multi.flags');
      d.pid = i.get('uprobe_multi.pid');
      break;
    case LinkType.PERF_EVENT: {
      perfKind = i.get('perf_event.type');
      const kinds = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'];
      d.event_type = kinds[perfKind] ?? String(perfKind);
      if (perfName[perfKind]) d.name = textBeforeNul(name);
      if (perfKind === 1 || perfKind === 2) d.offset = i.get('perf_event.uprobe.offset');
      if (perfKind === 6) {
        d.config = i.get64('perf_event.event.config');
        d.perf_type = i.get('perf_event.event.type');
      }
      break;
    }
  }
  return { id: i.get('id'), type, typeName: linkTypeName(type), progId: i.get('prog_id'), details: d };
}

/** What the kernel says about a BTF object. */
export interface BtfInfo {
  id: number;
  size: number;
  name: string;
  kernelBtf: boolean;
}

/** Information about the BTF object behind `fd`; `withData` also returns its raw bytes. */
export function btfInfo(fd: number, opts: { withData?: boolean } = {}): BtfInfo & { data?: Uint8Array } {
  const name = Buffer.alloc(64);
  const first = getInfo(fd, 'BTF_INFO', (a) => a.set('name', name).set('name_len', name.length));
  let data: Buffer | undefined;
  if (opts.withData) {
    const size = first.get('btf_size');
    data = Buffer.alloc(size);
    getInfo(fd, 'BTF_INFO', (a) => a.set('btf', data!).set('btf_size', size));
  }
  return {
    id: first.get('id'),
    size: first.get('btf_size'),
    name: textBeforeNul(name),
    kernelBtf: first.get('kernel_btf') !== 0,
    data: data ? new Uint8Array(data) : undefined,
  };
}
