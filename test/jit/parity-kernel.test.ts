// Parity with the kernel on the JIT: test/parity's suite (examples and test/parity/progs on 250 packets through
// BPF_PROG_TEST_RUN and the userspace runtime) with every Vm on the JIT. Skips like the original when not root
// or without clang.
import { Vm } from '../../src/vm/vm.js';

Vm.defaultEngine = 'jit';
await import('../parity/parity.test.js');
