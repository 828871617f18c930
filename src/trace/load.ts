/**
 * Loading one compiled probe into the kernel. Programs with subprograms (the callbacks of for loops) need BTF
 * func_info, so a small BTF blob (`int f(void *)` for the program, `int cb(void *, void *, void *, void *)` for
 * each callback) is generated and loaded with them.
 */
import { BtfBuilder } from '../btf/builder.js';
import { loadBtf } from '../kernel/load/btf-load.js';
import { KernelProgram } from '../kernel/load/program.js';
import type { CompiledProbe } from './compile.js';

/** Load `p` with the script's maps (reference name → map). Throws KernelError with the verifier's reason. */
export function loadCompiledProbe(p: CompiledProbe, maps: Record<string, { fd: number }>): KernelProgram {
  const spec = { name: `bt_${p.ap.kind}`.slice(0, 15), section: '', type: p.progType, insns: p.program.insns, references: p.program.references, license: 'GPL' };
  const subs = p.program.subprograms ?? [];
  if (!subs.length) return KernelProgram.load(spec, { maps });
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const voidPtr = b.addPtr(0);
  const mainProto = b.add({ kind: 'func_proto', returnTypeId: int, params: [{ name: 'ctx', typeId: voidPtr }] });
  const main = b.add({ kind: 'func', name: 'bt_probe', typeId: mainProto, linkage: 'global' });
  const cbProto = b.add({ kind: 'func_proto', returnTypeId: int, params: ['map', 'key', 'value', 'ctx'].map((name) => ({ name, typeId: voidPtr })) });
  const funcInfo = [{ insnOff: 0, typeId: main }];
  subs.forEach((off, i) => funcInfo.push({ insnOff: off, typeId: b.add({ kind: 'func', name: `bt_for_${i}`, typeId: cbProto, linkage: 'static' }) }));
  const btf = loadBtf(b.encode());
  try {
    return KernelProgram.load({ ...spec, btfExt: { funcInfo, lineInfo: [] } }, { maps, btfFd: btf.fd });
  } finally {
    btf.close();
  }
}
