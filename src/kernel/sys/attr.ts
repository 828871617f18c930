/**
 * The layouts of `union bpf_attr` (per command) and of the other kernel structs bpfkit fills or reads
 * (bpf_*_info, perf_event_attr, perf_event_mmap_page): ONE table, field name → [byte offset, byte size].
 * Offsets are those of Linux 6.18 (the newest fields included; older kernels accept a shorter attr as long as
 * the unknown tail is zero). test/kernel/attr.test.ts compiles a C program against the system's
 * <linux/bpf.h> (and, when bpftool is present, the running kernel's BTF as C) and compares every field.
 * Field names are the C member names; nested members are dotted (`kprobe_multi.cnt`); the C expression for a
 * field is `prefix + name` inside `c`.
 */

/** A field's [offset, size] in bytes. */
export type FieldSpec = readonly [offset: number, size: number];

/** One struct layout: its C type, the member prefix inside it, and its fields. */
export interface Layout {
  readonly c: string;
  readonly prefix: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

/** Every layout, by name. */
export const LAYOUTS = {
  /** `union bpf_attr`. */
  MAP_CREATE: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      map_type: [0, 4],
      key_size: [4, 4],
      value_size: [8, 4],
      max_entries: [12, 4],
      map_flags: [16, 4],
      inner_map_fd: [20, 4],
      numa_node: [24, 4],
      map_name: [28, 16],
      map_ifindex: [44, 4],
      btf_fd: [48, 4],
      btf_key_type_id: [52, 4],
      btf_value_type_id: [56, 4],
      btf_vmlinux_value_type_id: [60, 4],
      map_extra: [64, 8],
      value_type_btf_obj_fd: [72, 4],
      map_token_fd: [76, 4],
    },
  },
  /** `union bpf_attr`. */
  MAP_ELEM: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      map_fd: [0, 4],
      key: [8, 8],
      value: [16, 8],
      next_key: [16, 8],
      flags: [24, 8],
    },
  },
  /** `union bpf_attr` (member `batch`). */
  MAP_BATCH: {
    c: 'union bpf_attr',
    prefix: 'batch.',
    fields: {
      in_batch: [0, 8],
      out_batch: [8, 8],
      keys: [16, 8],
      values: [24, 8],
      count: [32, 4],
      map_fd: [36, 4],
      elem_flags: [40, 8],
      flags: [48, 8],
    },
  },
  /** `union bpf_attr`. */
  PROG_LOAD: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      prog_type: [0, 4],
      insn_cnt: [4, 4],
      insns: [8, 8],
      license: [16, 8],
      log_level: [24, 4],
      log_size: [28, 4],
      log_buf: [32, 8],
      kern_version: [40, 4],
      prog_flags: [44, 4],
      prog_name: [48, 16],
      prog_ifindex: [64, 4],
      expected_attach_type: [68, 4],
      prog_btf_fd: [72, 4],
      func_info_rec_size: [76, 4],
      func_info: [80, 8],
      func_info_cnt: [88, 4],
      line_info_rec_size: [92, 4],
      line_info: [96, 8],
      line_info_cnt: [104, 4],
      attach_btf_id: [108, 4],
      attach_prog_fd: [112, 4],
      attach_btf_obj_fd: [112, 4],
      core_relo_cnt: [116, 4],
      fd_array: [120, 8],
      core_relos: [128, 8],
      core_relo_rec_size: [136, 4],
      log_true_size: [140, 4],
      prog_token_fd: [144, 4],
      fd_array_cnt: [148, 4],
    },
  },
  /** `union bpf_attr`. */
  OBJ: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      pathname: [0, 8],
      bpf_fd: [8, 4],
      file_flags: [12, 4],
      path_fd: [16, 4],
    },
  },
  /** `union bpf_attr`. */
  PROG_ATTACH: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      target_fd: [0, 4],
      target_ifindex: [0, 4],
      attach_bpf_fd: [4, 4],
      attach_type: [8, 4],
      attach_flags: [12, 4],
      replace_bpf_fd: [16, 4],
      relative_fd: [20, 4],
      relative_id: [20, 4],
      expected_revision: [24, 8],
    },
  },
  /** `union bpf_attr` (member `test`). */
  TEST_RUN: {
    c: 'union bpf_attr',
    prefix: 'test.',
    fields: {
      prog_fd: [0, 4],
      retval: [4, 4],
      data_size_in: [8, 4],
      data_size_out: [12, 4],
      data_in: [16, 8],
      data_out: [24, 8],
      repeat: [32, 4],
      duration: [36, 4],
      ctx_size_in: [40, 4],
      ctx_size_out: [44, 4],
      ctx_in: [48, 8],
      ctx_out: [56, 8],
      flags: [64, 4],
      cpu: [68, 4],
      batch_size: [72, 4],
    },
  },
  /** `union bpf_attr`. */
  GET_ID: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      start_id: [0, 4],
      prog_id: [0, 4],
      map_id: [0, 4],
      btf_id: [0, 4],
      link_id: [0, 4],
      next_id: [4, 4],
      open_flags: [8, 4],
    },
  },
  /** `union bpf_attr` (member `info`). */
  INFO: {
    c: 'union bpf_attr',
    prefix: 'info.',
    fields: {
      bpf_fd: [0, 4],
      info_len: [4, 4],
      info: [8, 8],
    },
  },
  /** `union bpf_attr` (member `query`). */
  QUERY: {
    c: 'union bpf_attr',
    prefix: 'query.',
    fields: {
      target_fd: [0, 4],
      target_ifindex: [0, 4],
      attach_type: [4, 4],
      query_flags: [8, 4],
      attach_flags: [12, 4],
      prog_ids: [16, 8],
      prog_cnt: [24, 4],
      count: [24, 4],
      prog_attach_flags: [32, 8],
      link_ids: [40, 8],
      link_attach_flags: [48, 8],
      revision: [56, 8],
    },
  },
  /** `union bpf_attr` (member `raw_tracepoint`). */
  RAW_TP: {
    c: 'union bpf_attr',
    prefix: 'raw_tracepoint.',
    fields: {
      name: [0, 8],
      prog_fd: [8, 4],
      cookie: [16, 8],
    },
  },
  /** `union bpf_attr`. */
  BTF_LOAD: {
    c: 'union bpf_attr',
    prefix: '',
    fields: {
      btf: [0, 8],
      btf_log_buf: [8, 8],
      btf_size: [16, 4],
      btf_log_size: [20, 4],
      btf_log_level: [24, 4],
      btf_log_true_size: [28, 4],
      btf_flags: [32, 4],
      btf_token_fd: [36, 4],
    },
  },
  /** `union bpf_attr` (member `task_fd_query`). */
  TASK_FD_QUERY: {
    c: 'union bpf_attr',
    prefix: 'task_fd_query.',
    fields: {
      pid: [0, 4],
      fd: [4, 4],
      flags: [8, 4],
      buf_len: [12, 4],
      buf: [16, 8],
      prog_id: [24, 4],
      fd_type: [28, 4],
      probe_offset: [32, 8],
      probe_addr: [40, 8],
    },
  },
  /** `union bpf_attr` (member `link_create`). */
  LINK_CREATE: {
    c: 'union bpf_attr',
    prefix: 'link_create.',
    fields: {
      prog_fd: [0, 4],
      map_fd: [0, 4],
      target_fd: [4, 4],
      target_ifindex: [4, 4],
      attach_type: [8, 4],
      flags: [12, 4],
      target_btf_id: [16, 4],
      iter_info: [16, 8],
      iter_info_len: [24, 4],
      'perf_event.bpf_cookie': [16, 8],
      'kprobe_multi.flags': [16, 4],
      'kprobe_multi.cnt': [20, 4],
      'kprobe_multi.syms': [24, 8],
      'kprobe_multi.addrs': [32, 8],
      'kprobe_multi.cookies': [40, 8],
      'tracing.target_btf_id': [16, 4],
      'tracing.cookie': [24, 8],
      'tcx.relative_fd': [16, 4],
      'tcx.relative_id': [16, 4],
      'tcx.expected_revision': [24, 8],
      'uprobe_multi.path': [16, 8],
      'uprobe_multi.offsets': [24, 8],
      'uprobe_multi.ref_ctr_offsets': [32, 8],
      'uprobe_multi.cookies': [40, 8],
      'uprobe_multi.cnt': [48, 4],
      'uprobe_multi.flags': [52, 4],
      'uprobe_multi.pid': [56, 4],
      'netkit.relative_fd': [16, 4],
      'netkit.expected_revision': [24, 8],
      'cgroup.relative_fd': [16, 4],
      'cgroup.expected_revision': [24, 8],
    },
  },
  /** `union bpf_attr` (member `link_update`). */
  LINK_UPDATE: {
    c: 'union bpf_attr',
    prefix: 'link_update.',
    fields: {
      link_fd: [0, 4],
      new_prog_fd: [4, 4],
      new_map_fd: [4, 4],
      flags: [8, 4],
      old_prog_fd: [12, 4],
      old_map_fd: [12, 4],
    },
  },
  /** `union bpf_attr` (member `link_detach`). */
  LINK_DETACH: {
    c: 'union bpf_attr',
    prefix: 'link_detach.',
    fields: {
      link_fd: [0, 4],
    },
  },
  /** `union bpf_attr` (member `enable_stats`). */
  ENABLE_STATS: {
    c: 'union bpf_attr',
    prefix: 'enable_stats.',
    fields: {
      type: [0, 4],
    },
  },
  /** `union bpf_attr` (member `iter_create`). */
  ITER_CREATE: {
    c: 'union bpf_attr',
    prefix: 'iter_create.',
    fields: {
      link_fd: [0, 4],
      flags: [4, 4],
    },
  },
  /** `union bpf_attr` (member `prog_bind_map`). */
  PROG_BIND_MAP: {
    c: 'union bpf_attr',
    prefix: 'prog_bind_map.',
    fields: {
      prog_fd: [0, 4],
      map_fd: [4, 4],
      flags: [8, 4],
    },
  },
  /** `struct bpf_prog_info`. */
  PROG_INFO: {
    c: 'struct bpf_prog_info',
    prefix: '',
    fields: {
      type: [0, 4],
      id: [4, 4],
      tag: [8, 8],
      jited_prog_len: [16, 4],
      xlated_prog_len: [20, 4],
      jited_prog_insns: [24, 8],
      xlated_prog_insns: [32, 8],
      load_time: [40, 8],
      created_by_uid: [48, 4],
      nr_map_ids: [52, 4],
      map_ids: [56, 8],
      name: [64, 16],
      ifindex: [80, 4],
      netns_dev: [88, 8],
      netns_ino: [96, 8],
      nr_jited_ksyms: [104, 4],
      nr_jited_func_lens: [108, 4],
      jited_ksyms: [112, 8],
      jited_func_lens: [120, 8],
      btf_id: [128, 4],
      func_info_rec_size: [132, 4],
      func_info: [136, 8],
      nr_func_info: [144, 4],
      nr_line_info: [148, 4],
      line_info: [152, 8],
      jited_line_info: [160, 8],
      nr_jited_line_info: [168, 4],
      line_info_rec_size: [172, 4],
      jited_line_info_rec_size: [176, 4],
      nr_prog_tags: [180, 4],
      prog_tags: [184, 8],
      run_time_ns: [192, 8],
      run_cnt: [200, 8],
      recursion_misses: [208, 8],
      verified_insns: [216, 4],
      attach_btf_obj_id: [220, 4],
      attach_btf_id: [224, 4],
    },
  },
  /** `struct bpf_map_info`. */
  MAP_INFO: {
    c: 'struct bpf_map_info',
    prefix: '',
    fields: {
      type: [0, 4],
      id: [4, 4],
      key_size: [8, 4],
      value_size: [12, 4],
      max_entries: [16, 4],
      map_flags: [20, 4],
      name: [24, 16],
      ifindex: [40, 4],
      btf_vmlinux_value_type_id: [44, 4],
      netns_dev: [48, 8],
      netns_ino: [56, 8],
      btf_id: [64, 4],
      btf_key_type_id: [68, 4],
      btf_value_type_id: [72, 4],
      btf_vmlinux_id: [76, 4],
      map_extra: [80, 8],
    },
  },
  /** `struct bpf_link_info`. */
  LINK_INFO: {
    c: 'struct bpf_link_info',
    prefix: '',
    fields: {
      type: [0, 4],
      id: [4, 4],
      prog_id: [8, 4],
      'raw_tracepoint.tp_name': [16, 8],
      'raw_tracepoint.tp_name_len': [24, 4],
      'tracing.attach_type': [16, 4],
      'tracing.target_obj_id': [20, 4],
      'tracing.target_btf_id': [24, 4],
      'cgroup.cgroup_id': [16, 8],
      'cgroup.attach_type': [24, 4],
      'iter.target_name': [16, 8],
      'iter.target_name_len': [24, 4],
      'iter.map.map_id': [28, 4],
      'netns.netns_ino': [16, 4],
      'netns.attach_type': [20, 4],
      'xdp.ifindex': [16, 4],
      'struct_ops.map_id': [16, 4],
      'kprobe_multi.addrs': [16, 8],
      'kprobe_multi.count': [24, 4],
      'kprobe_multi.flags': [28, 4],
      'uprobe_multi.path': [16, 8],
      'uprobe_multi.offsets': [24, 8],
      'uprobe_multi.ref_ctr_offsets': [32, 8],
      'uprobe_multi.cookies': [40, 8],
      'uprobe_multi.path_size': [48, 4],
      'uprobe_multi.count': [52, 4],
      'uprobe_multi.flags': [56, 4],
      'uprobe_multi.pid': [60, 4],
      'perf_event.type': [16, 4],
      'perf_event.tracepoint.tp_name': [24, 8],
      'perf_event.tracepoint.name_len': [32, 4],
      'perf_event.uprobe.file_name': [24, 8],
      'perf_event.uprobe.name_len': [32, 4],
      'perf_event.uprobe.offset': [36, 4],
      'perf_event.kprobe.func_name': [24, 8],
      'perf_event.kprobe.name_len': [32, 4],
      'perf_event.kprobe.offset': [36, 4],
      'perf_event.kprobe.addr': [40, 8],
      'perf_event.event.config': [24, 8],
      'perf_event.event.type': [32, 4],
      'tcx.ifindex': [16, 4],
      'tcx.attach_type': [20, 4],
      'netkit.ifindex': [16, 4],
      'netkit.attach_type': [20, 4],
      'sockmap.map_id': [16, 4],
      'sockmap.attach_type': [20, 4],
    },
  },
  /** `struct bpf_btf_info`. */
  BTF_INFO: {
    c: 'struct bpf_btf_info',
    prefix: '',
    fields: {
      btf: [0, 8],
      btf_size: [8, 4],
      id: [12, 4],
      name: [16, 8],
      name_len: [24, 4],
      kernel_btf: [28, 4],
    },
  },
  /** `struct perf_event_attr`. */
  PERF_EVENT_ATTR: {
    c: 'struct perf_event_attr',
    prefix: '',
    fields: {
      type: [0, 4],
      size: [4, 4],
      config: [8, 8],
      sample_period: [16, 8],
      sample_freq: [16, 8],
      sample_type: [24, 8],
      read_format: [32, 8],
      /** The bitfield word (disabled, inherit, ..., freq, ...): see `PerfAttrFlag`. Not addressable in C. */
      flags: [40, 8],
      wakeup_events: [48, 4],
      wakeup_watermark: [48, 4],
      bp_type: [52, 4],
      config1: [56, 8],
      kprobe_func: [56, 8],
      uprobe_path: [56, 8],
      config2: [64, 8],
      kprobe_addr: [64, 8],
      probe_offset: [64, 8],
      branch_sample_type: [72, 8],
      sample_regs_user: [80, 8],
      sample_stack_user: [88, 4],
      clockid: [92, 4],
      sample_regs_intr: [96, 8],
      aux_watermark: [104, 4],
      sample_max_stack: [108, 2],
    },
  },
  /** `struct perf_event_mmap_page`. */
  PERF_MMAP_PAGE: {
    c: 'struct perf_event_mmap_page',
    prefix: '',
    fields: {
      version: [0, 4],
      compat_version: [4, 4],
      data_head: [1024, 8],
      data_tail: [1032, 8],
      data_offset: [1040, 8],
      data_size: [1048, 8],
    },
  },
} as const satisfies Record<string, Layout>;

/** A layout's name. */
export type LayoutName = keyof typeof LAYOUTS;
/** The field names of one layout. */
export type FieldOf<L extends LayoutName> = keyof (typeof LAYOUTS)[L]['fields'] & string;

/** The bytes of a layout up to the end of its last field (what bpfkit passes as the attr size). */
export function layoutEnd(name: LayoutName): number {
  let end = 0;
  for (const [off, size] of Object.values(LAYOUTS[name].fields) as FieldSpec[]) end = Math.max(end, off + size);
  return (end + 7) & ~7;
}

/** The layout each bpf(2) command fills (`BPF_<name>` → layout). */
export const COMMAND_LAYOUT = {
  MAP_CREATE: 'MAP_CREATE',
  MAP_LOOKUP_ELEM: 'MAP_ELEM',
  MAP_UPDATE_ELEM: 'MAP_ELEM',
  MAP_DELETE_ELEM: 'MAP_ELEM',
  MAP_GET_NEXT_KEY: 'MAP_ELEM',
  MAP_LOOKUP_AND_DELETE_ELEM: 'MAP_ELEM',
  MAP_FREEZE: 'MAP_ELEM',
  MAP_LOOKUP_BATCH: 'MAP_BATCH',
  MAP_LOOKUP_AND_DELETE_BATCH: 'MAP_BATCH',
  MAP_UPDATE_BATCH: 'MAP_BATCH',
  MAP_DELETE_BATCH: 'MAP_BATCH',
  PROG_LOAD: 'PROG_LOAD',
  OBJ_PIN: 'OBJ',
  OBJ_GET: 'OBJ',
  PROG_ATTACH: 'PROG_ATTACH',
  PROG_DETACH: 'PROG_ATTACH',
  PROG_TEST_RUN: 'TEST_RUN',
  PROG_GET_NEXT_ID: 'GET_ID',
  MAP_GET_NEXT_ID: 'GET_ID',
  BTF_GET_NEXT_ID: 'GET_ID',
  LINK_GET_NEXT_ID: 'GET_ID',
  PROG_GET_FD_BY_ID: 'GET_ID',
  MAP_GET_FD_BY_ID: 'GET_ID',
  BTF_GET_FD_BY_ID: 'GET_ID',
  LINK_GET_FD_BY_ID: 'GET_ID',
  OBJ_GET_INFO_BY_FD: 'INFO',
  PROG_QUERY: 'QUERY',
  RAW_TRACEPOINT_OPEN: 'RAW_TP',
  BTF_LOAD: 'BTF_LOAD',
  TASK_FD_QUERY: 'TASK_FD_QUERY',
  LINK_CREATE: 'LINK_CREATE',
  LINK_UPDATE: 'LINK_UPDATE',
  LINK_DETACH: 'LINK_DETACH',
  ENABLE_STATS: 'ENABLE_STATS',
  ITER_CREATE: 'ITER_CREATE',
  PROG_BIND_MAP: 'PROG_BIND_MAP',
} as const satisfies Record<string, LayoutName>;

/** A bpf(2) command name (without `BPF_`). */
export type CommandName = keyof typeof COMMAND_LAYOUT;

/** Fields that are bitfield words (no C member): the test checks them as `offsetof(previous) + size`. */
export const BITFIELD_WORDS: Record<string, { after: string }> = { 'PERF_EVENT_ATTR.flags': { after: 'read_format' } };
/** Bits of the perf_event_attr `flags` word (byte 40). */
export const PerfAttrFlag = {
  disabled: 1n << 0n,
  inherit: 1n << 1n,
  pinned: 1n << 2n,
  exclusive: 1n << 3n,
  exclude_user: 1n << 4n,
  exclude_kernel: 1n << 5n,
  exclude_hv: 1n << 6n,
  exclude_idle: 1n << 7n,
  mmap: 1n << 8n,
  comm: 1n << 9n,
  freq: 1n << 10n,
  inherit_stat: 1n << 11n,
  enable_on_exec: 1n << 12n,
  task: 1n << 13n,
  watermark: 1n << 14n,
} as const;
/** `bpf_prog_info.gpl_compatible` is bit 0 of the u32 at this offset (after `ifindex`). */
export const PROG_INFO_GPL_OFFSET = 84;
