/**
 * The list of CLI commands. Each command lives in its own module under src/cli/ and exports
 * `register(program)`; add one import and one list entry here per command.
 */
import type { Command } from 'commander';

import { register as objdump } from './objdump.js';
import { register as gen } from './gen.js';
import { register as conformance } from './conformance.js';
import { register as conformancePlugin } from './conformance-plugin.js';
import { register as asm } from './asm.js';
import { register as disasm } from './disasm.js';
import { register as btf } from './btf.js';
import { register as filter } from './filter.js';
import { register as seccomp } from './seccomp.js';
import { register as capture } from './capture.js';

import { register as kernelProg } from './prog.js';
import { register as kernelMap } from './map.js';
import { register as kernelLink } from './link.js';
import { register as kernelFeature } from './feature.js';
import { register as kernelAttach } from './attach.js';
import { register as run } from './run.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [objdump, gen, conformance, conformancePlugin, asm, disasm, btf, filter, seccomp, capture, kernelProg, kernelMap, kernelLink, kernelFeature, kernelAttach, run];
