// Runs the engine's CLI commands the way main.ts does (same registration, same UserError → exit code),
// in-process with captured output. The commands are registered by the lead in commands/index.ts; until
// then this harness is how they are reached. `cli-entry.ts` is the same as a process, for signal tests.
import { Command, CommanderError } from 'commander';
import { registerApply, registerRollback, registerStatus } from '../../../src/cli/commands/apply.js';
import { registerEngine } from '../../../src/cli/commands/engine.js';
import { ExitCode, UserError } from '../../../src/cli/exit-codes.js';
import type { CliIO } from '../../../src/cli/io.js';
import type { CommandContext } from '../../../src/cli/main.js';

export const ENGINE_COMMANDS = [registerApply, registerRollback, registerStatus, registerEngine];

export async function runHerald(args: string[], io: CliIO): Promise<number> {
  let exit: number = ExitCode.ok;
  const program = new Command()
    .name('herald')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const ctx: CommandContext = { io, setExit: (code) => void (exit = code), debug: () => false };
  for (const register of ENGINE_COMMANDS) register(program, ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
    return exit;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error instanceof UserError) {
      io.err(`error[${error.code}]: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function herald(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    cwd: options.cwd,
    env: { HERALD_WHO: 'tester', ...options.env },
    isTTY: false,
  };
  const code = await runHerald(args, io);
  return { code, stdout, stderr };
}
