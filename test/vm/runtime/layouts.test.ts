// The context layout tables (src/isa/contexts.ts) against the system headers: every field's offset and
// size as the C compiler sees them in <linux/bpf.h>, <asm/ptrace.h> and <linux/seccomp.h>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PT_REGS, SECCOMP_DATA, SK_BUFF, XDP_MD, type CtxLayout } from '../../../src/isa/contexts.js';

const hasCc = spawnSync('gcc', ['--version']).status === 0;
/** User-space asm/ptrace.h spells x86-64 registers with an r/e prefix. */
const UAPI_REG: Record<string, string> = { bp: 'rbp', bx: 'rbx', ax: 'rax', cx: 'rcx', dx: 'rdx', si: 'rsi', di: 'rdi', orig_ax: 'orig_rax', ip: 'rip', flags: 'eflags', sp: 'rsp' };

function cOffsets(layout: CtxLayout, struct: string, rename: (n: string) => string = (n) => n): string {
  return layout.fields.map((f) => `printf("${f.name} %zu %zu\\n", offsetof(${struct}, ${rename(f.name)}), sizeof(((${struct} *)0)->${rename(f.name)}));`).join('\n');
}

test('context layouts match <linux/bpf.h>, <asm/ptrace.h> and <linux/seccomp.h>', { skip: !hasCc ? 'gcc not installed' : process.arch !== 'x64' ? 'x86-64 pt_regs layout' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-layouts-'));
  try {
    const src = `#include <stdio.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <linux/seccomp.h>
int main(void) {
printf("sizeof __sk_buff %zu\\n", sizeof(struct __sk_buff));
printf("sizeof xdp_md %zu\\n", sizeof(struct xdp_md));
printf("sizeof pt_regs %zu\\n", sizeof(struct pt_regs));
printf("sizeof seccomp_data %zu\\n", sizeof(struct seccomp_data));
${cOffsets(SK_BUFF, 'struct __sk_buff')}
${cOffsets(XDP_MD, 'struct xdp_md')}
${cOffsets(PT_REGS, 'struct pt_regs', (n) => UAPI_REG[n] ?? n)}
${cOffsets(SECCOMP_DATA, 'struct seccomp_data')}
return 0; }`;
    writeFileSync(join(dir, 'l.c'), src);
    execFileSync('gcc', ['-o', join(dir, 'l'), join(dir, 'l.c')]);
    const lines = execFileSync(join(dir, 'l'), { encoding: 'utf8' }).trim().split('\n');
    assert.equal(lines[0], `sizeof __sk_buff ${SK_BUFF.size}`);
    assert.equal(lines[1], `sizeof xdp_md ${XDP_MD.size}`);
    assert.equal(lines[2], `sizeof pt_regs ${PT_REGS.size}`);
    assert.equal(lines[3], `sizeof seccomp_data ${SECCOMP_DATA.size}`);
    const ours = [...SK_BUFF.fields, ...XDP_MD.fields, ...PT_REGS.fields, ...SECCOMP_DATA.fields].map((f) => `${f.name} ${f.offset} ${f.size}`);
    assert.deepEqual(lines.slice(4), ours);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
