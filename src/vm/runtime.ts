/**
 * The public surface of the userspace runtime (maps, helpers, contexts, collections), re-exported by
 * src/vm/index.ts. Names that would clash with the kernel backend's get a `Vm`/`User` prefix
 * (`VmCollection` here, `Collection` there; context layouts as `*_LAYOUT`).
 */
export {
  loadCollection,
  Collection as VmCollection,
  UserProgram,
  type CollectionOptions as VmCollectionOptions,
  type RunResult,
  type HelperMock,
} from './collection.js';
export type { RunInput } from './contexts/index.js';
export {
  createMap,
  MapError,
  UserMap,
  ALL_CPUS,
  ArrayMap,
  HashMap,
  LpmTrieMap,
  ProgArrayMap,
  ArrayOfMaps,
  HashOfMaps,
  RingBufMap,
  RingBufReader,
  PerfEventArrayMap,
  PerfEventReader,
  StackTraceMap,
  QueueStackMap,
  BloomFilterMap,
  LocalStorageMap,
  SparseArrayMap,
  jhash,
  jhash2,
  type UserMapOptions,
  type CreateMapOptions,
  type PerfRecord,
  type PerfSample,
  type RingBufReaderStats,
} from './maps/index.js';
export {
  runtimeHelpers,
  isHelperImplemented,
  implementedHelpers,
  helperImplementation,
  bpfFormat,
  MapHandles,
  type RuntimeEnv,
  type SimTask,
  type SimClock,
  type MemoryChunk,
  type Route,
  type RecordedEvent,
  type RedirectTarget,
  type HelperCall,
  type SkbState,
} from './helpers/index.js';
export {
  XDP_MD as XDP_MD_LAYOUT,
  SK_BUFF as SK_BUFF_LAYOUT,
  PT_REGS as PT_REGS_LAYOUT,
  PT_REGS_ARGS,
  PERF_EVENT_DATA as PERF_EVENT_DATA_LAYOUT,
  layoutFor,
  fieldAt,
  fieldNamed,
  rewriteCtxAccess,
  shadowLayout,
  verdictName,
  parseTracepointFormat,
  tracepointFormat,
  PacketBuffer,
  type CtxLayout,
  type CtxField,
  type CtxValues,
  type TracepointField,
} from './contexts/index.js';
export { Errno, errnoName } from './errno.js';
export { objectId, objectById } from './objects.js';
