/** Views of kernel objects: info by fd, walking ids, run statistics. */
export * from './info.js';
export * from './ids.js';
export * from './query.js';
export * from './xlated.js';
export * from './net-attach.js';
