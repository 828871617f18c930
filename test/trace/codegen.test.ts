/** Every language construct compiles to programs the kernel verifier accepts (loaded for real, then closed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadCompiledProbe } from '../../src/trace/load.js';
import { compileScript } from '../../src/trace/compile.js';
import { noKernel } from './fixtures.js';

const SCRIPTS: Record<string, string> = {
  'begin/end, printf, exit': 'BEGIN { printf("%d %s %x %c %lu\\n", 1, "s", 2, 65, nsecs); exit(); } END { printf("bye\\n"); }',
  'builtins': 'BEGIN { @[pid, tid, uid, gid] = count(); @n = nsecs; @e = elapsed; @c = cpu; @g = cgroup; @t = curtask; @r = rand; @j = jiffies; @s = comm; @p = probe; }',
  'scratch vars, arithmetic, logic, ternary': 'BEGIN { $a = 5; $b = $a * 3 / 2 % 7 - 1 + (1 << 3) >> 1; $a += 2; $a -= 1; $a *= 3; $a /= 2; $a %= 5; $a &= 7; $a |= 8; $a ^= 1; $a <<= 1; $a >>= 1; $c = -$a; $d = ~$b; $e = !$c; @x = $a > $b ? $c : $d; @y = ($a && $b) || $e; @z = $a < 1 || $a <= 2 || $a >= 3 || $a != 4 || $a == 5; $a++; ++$a; $a--; }',
  'if/else chains': 'BEGIN { $x = 3; if ($x == 1) { @a = 1; } else if ($x == 2) { @a = 2; } else { @a = 3; } if ($x) { @b = 1 } }',
  'maps: keys, ++, +=, delete, print, clear, zero': 'BEGIN { @m[1, "k", comm] = 5; @m[2, "j", comm] += 3; @i++; ++@i; @i--; @d[7] = 1; delete(@d[7]); print(@m); clear(@m); zero(@i); @s = @i + @m[1, "k", comm]; }',
  'aggregations': 'BEGIN { @c = count(); @s = sum(5); @mi = min(3); @ma = max(4); @a = avg(6); @st = stats(7); @h = hist(100); @l = lhist(50, 0, 100, 10); @kc[comm] = count(); @kh["x", 1] = hist(3); }',
  'string comparison and str()': 'BEGIN { if (comm == "node") { @a = 1; } @b = comm != "bash"; @c = "x" == "y"; $s = comm; @d = $s == comm; @e = str(0); @f = str(0, 4); }',
  'tracepoint args (ints, pointers, char arrays, __data_loc, common fields)': 'tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = sum(args->flags); @d = args->dfd; @m = args.mode; @p = args->common_pid; } tracepoint:sched:sched_process_exec { printf("%s %d\\n", str(args->filename), args->old_pid); } tracepoint:sched:sched_switch { @sw[args->prev_comm, args->next_comm] = count(); }',
  'tracepoint wildcard': 'tracepoint:syscalls:sys_enter_getpid* { @[probe] = count(); }',
  'rawtracepoint': 'rawtracepoint:sys_enter { @[arg1] = count(); }',
  'uprobe/uretprobe args, retval, func, ustack': 'uprobe:/bin/sh:main { @[func, arg0, arg1, arg5] = count(); @u[ustack] = count(); } uretprobe:/bin/sh:main { @r = hist(retval); }',
  'kprobe/kretprobe (compile and load only)': 'kprobe:do_nanosleep { @[kstack] = count(); @a = arg0; } kretprobe:do_nanosleep { @r = retval; }',
  'interval and profile': 'interval:ms:100 { @i = count(); exit(); } profile:hz:99 { @p[cpu] = count(); @k[kstack] = count(); }',
  'predicates': 'tracepoint:syscalls:sys_enter_openat /pid == 1 && (comm == "init" || uid > 0)/ { @ = count(); }',
  'positional parameters (missing: 0 and "")': 'BEGIN { @a = $1 + $#; @b = str($2); @c = $3 * 2; }',
  'integer casts': 'BEGIN { @a = (uint8)300; @b = (int8)255; @c = (int16)-70000; @d = (uint32)-1; @e = (int64)(uint32)-1; @f = (uint16)(int8)-1; }',
  'while/unroll/break/continue/return': 'tracepoint:syscalls:sys_enter_getpid { $i = 0; while ($i < 50) { $i++; if ($i == 3) { continue; } if ($i > 40) { break; } @s += $i; } unroll(4) { @u++; } if (pid == 1) { return; } @x = 1; }',
  'curtask chains, embedded structs, bitfields-free ints, char arrays, casts to kernel structs': 'BEGIN { @a = curtask->tgid; @b = curtask->real_parent->real_parent->pid; @c = curtask->se.load.weight; @d = curtask->comm; @e = str(curtask->comm); $t = (struct task_struct *)curtask; @f = $t->mm->mmap_base; @g = *(uint32 *)curtask; @h = curtask->comm == comm; }',
  'script structs, pointer/array indexing, deref': 'struct foo { int a; char b[8]; long c; short d[4]; struct foo *next; } BEGIN { $p = (struct foo *)curtask; @a = $p->a; @b = $p->b; @c = $p->next->c; @d = $p->d[2]; @e = $p[1].a; $i = 1; @f = $p->d[$i]; @g = *(int8 *)curtask; }',
  'for loops over maps (callbacks with BTF func_info), break/continue': 'BEGIN { @m[1] = 2; @s["k", 1] = "v"; $x = 1; for ($kv : @m) { $x += $kv.1; if ($kv.0 == 1) { continue; } for ($e : @s) { @o[$e.0.0, $e.0.1] = $e.1; break; } } @x = $x; }',
  'sizeof, offsetof, kaddr, enums (script and kernel BTF), cat, system, signal': 'enum e { A, B = 7 }; struct s { int a; long b; } BEGIN { @a = sizeof(struct s) + offsetof(struct s, b) + sizeof(comm) + kaddr("vfs_read") + A + B + TASK_COMM_LEN; cat("/etc/%s", "hostname"); system("true %d", 1); } tracepoint:syscalls:sys_enter_getpid { signal("SIGUSR1"); $s = 10; signal($s); printf("%s\\n", kstack); }',
  'ntop, ksym, strftime, print top/div, delete on hist maps, str with a run-time length': 'tracepoint:sock:inet_sock_set_state { @[ntop(args->saddr), ntop(args->daddr_v6), ntop(2, 1)] = count(); @k = ksym(1); @t = strftime("%H:%M:%S", nsecs); printf("%s %s\\n", ksym(2), strftime("%Y", nsecs)); @h[1] = hist(5); @l[2] = lhist(5, 0, 100, 10); delete(@h[1]); delete(@l[2]); print(@h, 2, 10); $n = pid % 10; @s = str(args->skaddr, $n); }',
};

for (const [name, src] of Object.entries(SCRIPTS)) {
  test(`verifier accepts: ${name}`, { skip: noKernel }, () => {
    const c = compileScript(src, { unsafe: true });
    const maps: Record<string, KernelMap> = {};
    try {
      for (const [ref, spec] of c.mapSpecs) maps[ref] = KernelMap.create(spec);
      for (const p of c.probes) {
        const prog = loadCompiledProbe(p, maps);
        assert.ok(prog.fd > 0, p.ap.name);
        prog.close();
      }
    } finally {
      for (const m of Object.values(maps)) m.close();
    }
  });
}
