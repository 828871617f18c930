// The interpreter's own test suite (test/vm/interpreter.test.ts: every fault kind, division semantics, frames,
// call depth, helpers, callbacks, callx, kfuncs, pseudo lddw, tail calls, legacy loads, Memory API, re-entrancy)
// run again with every Vm on the JIT.
import { Vm } from '../../src/vm/vm.js';

Vm.defaultEngine = 'jit';
await import('../vm/interpreter.test.js');
