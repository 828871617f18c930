/**
 * The `bpfkit` command line: parses arguments (commander), dispatches to one module per command, and turns
 * typed errors into a single `error: <message>` line with a non-zero exit (stack traces only with --debug).
 */
import { Command, CommanderError } from 'commander';
import { BpfkitError } from '../errors.js';
import '../host/node.js'; // file access for kernel BTF, kconfig, tracefs... on every Node 20 (src/host/io.ts)
import { commandsFor, type RegisterCommand } from './commands.js';

/** Build the commander program with the given commands registered. */
export function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command('bpfkit')
    .description('eBPF, the whole system, in TypeScript')
    .version('0.1.0')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const register of commands) register(program);
  return program;
}

/** Run the CLI with the given argv (without `node` and the script). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // A closed pipe (`bpfkit ... | head`) ends the command quietly, as for any Unix tool.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  const debug = argv.includes('--debug');
  try {
    const program = buildProgram(await commandsFor(argv));
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (usage errors, --help, --version).
      return err.exitCode;
    }
    if (err instanceof BpfkitError) {
      process.stderr.write(`error: ${err.message.split('\n')[0]}\n`);
      if (debug && err.stack) process.stderr.write(err.stack + '\n');
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string' && e.syscall) {
      // Node file-system errors: already one readable line ("ENOENT: no such file or directory, open 'x'").
      process.stderr.write(`error: ${e.message}\n`);
      if (debug && e.stack) process.stderr.write(e.stack + '\n');
      return 1;
    }
    process.stderr.write(`error: internal: ${(err as Error)?.message ?? String(err)}\n`);
    if (debug && (err as Error)?.stack) process.stderr.write((err as Error).stack + '\n');
    return 70;
  }
}
