// The legacy cgroup attachment (BPF_PROG_ATTACH, used where the kernel has no cgroup links) detaches the program
// it attached, even when the caller closed that program first and its descriptor number was reused meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { AttachType, MapType, ProgType, Uapi } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns } from '../../src/kernel/load/program.js';
import { CgroupAttachment } from '../../src/kernel/link/cgroup.js';
import { bpf } from '../../src/kernel/sys/bpf.js';
import { counterProgram, hasTool, makeCgroup, run } from './fixtures.js';

test('PROG_ATTACH cgroup attachment detaches its own program after the program fd was closed and reused', (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root (CAP_BPF, cgroup v2 writes)');
  if (!hasTool('bpftool')) return void t.skip('bpftool not installed (used to list the cgroup attachments)');
  const cg = makeCgroup('legacy');
  if (!cg) return void t.skip('no cgroup2 mount');
  const map = KernelMap.create({ name: 'bk_cg_legacy', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  const at = AttachType.CGROUP_INET_EGRESS;
  const attached = () => (run('bpftool', ['cgroup', 'show', cg.path]).stdout.match(/bk_cg_legacy/g) ?? []).length;
  try {
    const prog = loadInsns(ProgType.CGROUP_SKB, counterProgram(map.fd, { r0: 1 }), { name: 'bk_cg_legacy', expectedAttachType: at });
    const dir = openSync(cg.path, 'r');
    try {
      bpf('PROG_ATTACH', { target_fd: dir, attach_bpf_fd: prog.fd, attach_type: at, attach_flags: Uapi.BPF_F_ALLOW_MULTI });
    } finally {
      closeSync(dir);
    }
    const attachment = new CgroupAttachment(`${cg.path} egress`, cg.path, prog.fd, at);
    const oldFd = prog.fd;
    prog.close();
    // A new program very likely takes the freed descriptor number; detaching by number would name it instead.
    const other = loadInsns(ProgType.CGROUP_SKB, counterProgram(map.fd, { r0: 1 }), { name: 'bk_cg_other', expectedAttachType: at });
    try {
      t.diagnostic(`old program fd ${oldFd}, new program fd ${other.fd}`);
      assert.equal(attached(), 1, 'attached while the attachment is open');
      attachment.close();
      assert.equal(attached(), 0, 'the attached program is gone after close');
      attachment.close(); // once only
    } finally {
      other.close();
    }
  } finally {
    map.close();
    cg.cleanup();
  }
});
