/**
 * `bpfkit seccomp compile POLICY.json [-d|-dd|-ddd]`: compile a seccomp policy to classic BPF (bpf_asm text by
 * default). `bpfkit seccomp run POLICY.json -- CMD ARGS...`: run a command under the policy; the exit status
 * is the command's (128+N when a signal N killed it, e.g. SIGSYS for kill_process).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { compileSeccomp, disassembleClassic, parseSeccompPolicy, spawnUnderSeccomp, waitChild } from '../cbpf/index.js';
import { CbpfError, UsageError } from '../errors.js';
import { formatLevel } from './filter.js';

function loadPolicy(file: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new CbpfError(`${file}: invalid JSON: ${e.message}`);
    throw e;
  }
  return parseSeccompPolicy(json);
}

/** Register the `seccomp` command group. */
export function register(program: Command): void {
  const seccomp = program.command('seccomp').description('seccomp policies compiled to classic BPF');
  let level = 0;
  const compile = seccomp
    .command('compile')
    .description('compile a JSON policy; prints bpf_asm text (-d tcpdump style, -dd C array, -ddd decimal)')
    .argument('<policy>', 'policy JSON file ("-" for stdin)')
    .option('-d, --dump', 'dump format; repeat for -dd and -ddd')
    .option('--arch <list>', 'comma-separated architectures (x86_64, aarch64); overrides the policy');
  compile.on('option:dump', () => level++);
  compile.action((file: string, opts: { arch?: string }) => {
    const policy = loadPolicy(file);
    if (opts.arch) policy.architectures = opts.arch.split(',').map((s) => s.trim());
    const prog = compileSeccomp(policy);
    process.stdout.write(level ? formatLevel(prog, level) : disassembleClassic(prog));
  });

  seccomp
    .command('run')
    .description('run a command under a policy: bpfkit seccomp run POLICY -- CMD [ARGS...]')
    .argument('<policy>', 'policy JSON file')
    .argument('<cmd...>', 'command and its arguments (after --)')
    .action(async (file: string, cmd: string[]) => {
      if (!cmd.length) throw new UsageError('seccomp run: no command given');
      const prog = compileSeccomp(loadPolicy(file));
      const exit = await waitChild(spawnUnderSeccomp(prog, cmd[0]!, cmd.slice(1)));
      if (exit.signal) {
        process.stderr.write(`${cmd[0]}: killed by ${exit.signal}\n`);
        process.exitCode = 128 + ((constants.signals as Record<string, number>)[exit.signal] ?? 0);
      } else process.exitCode = exit.code ?? 1;
    });
}
