/**
 * The final check: nothing a finished kernel test left behind — pins under /sys/fs/bpf, network namespaces,
 * veth interfaces, cgroups named `bpfkit-test-<pid>-*` whose test process is gone, and no kernel program or
 * map with a test name owned by no live process. (Test files run concurrently: leftovers of live processes
 * are still in use, so only dead owners count.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { cgroup2Root } from '../../src/kernel/features/probe.js';
import { hasTool, run } from './fixtures.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const deadOwner = (name: string) => {
  const m = /bpfkit-test-(\d+)-/.exec(name);
  return !!m && !alive(Number(m[1]));
};

test('no pins, netns, veth or cgroups left by finished tests', () => {
  const left: string[] = [];
  if (existsSync('/sys/fs/bpf')) for (const e of readdirSync('/sys/fs/bpf')) if (deadOwner(e)) left.push(`/sys/fs/bpf/${e}`);
  const cg = cgroup2Root();
  if (cg) for (const e of readdirSync(cg)) if (deadOwner(e)) left.push(`${cg}/${e}`);
  if (hasTool('ip')) {
    for (const line of run('ip', ['netns', 'list']).stdout.split('\n')) if (deadOwner(line)) left.push(`netns ${line}`);
    // veth names are short (bk<tag><pid mod 10000>h): while any live test owns a netns, leave them be.
    const liveNs = run('ip', ['netns', 'list']).stdout.split('\n').some((l) => /bpfkit-test-\d+-/.test(l) && !deadOwner(l));
    if (!liveNs) for (const m of run('ip', ['-o', 'link']).stdout.matchAll(/^\d+: (bk\w+\d+[hp])(?:@\S+)?:/gm)) left.push(`link ${m[1]}`);
  }
  assert.deepEqual(left, []);
});

test('no test programs or maps outlive their processes', { skip: hasTool('bpftool') ? false : 'bpftool not installed' }, async () => {
  // Objects of exited processes (and of deleted tc filters, netns and cgroups) are freed asynchronously (RCU,
  // deferred netns cleanup, cgroup release work), which takes seconds on a loaded machine: look again for up to
  // 20 s before calling anything a leak.
  const orphans = (): string[] => {
    const progs = JSON.parse(run('bpftool', ['prog', 'show', '--json']).stdout || '[]') as { name?: string; pids?: { pid: number }[] }[];
    return progs.filter((p) => /^bk_|^bench_|^bpfkit_/.test(p.name ?? '') && !(p.pids ?? []).some((x) => alive(x.pid))).map((p) => p.name ?? '');
  };
  let left = orphans();
  for (let waited = 0; left.length && waited < 20_000; waited += 250) {
    await new Promise((r) => setTimeout(r, 250));
    left = orphans();
  }
  // A pinned or attached-by-link program has no owning pid; ours never stay pinned, so any orphan is a leak.
  assert.deepEqual(left, []);
});
