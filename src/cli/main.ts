import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from './exit-codes.js';
import { processIO, type CliIO } from './io.js';
import { commands } from './commands/index.js';

export interface CommandContext {
  io: CliIO;
  /** Set by a command's action; main returns it. */
  setExit(code: ExitCode): void;
  debug(): boolean;
}

/** A command module: adds itself to the program. Actions report through ctx.setExit, never process.exit. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

export async function main(argv: string[], io: CliIO = processIO()): Promise<ExitCode> {
  let exit: ExitCode = ExitCode.ok;
  const program = new Command();
  program
    .name('herald')
    .description('Customer communications as code')
    .option('--debug', 'show stack traces for internal errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const ctx: CommandContext = {
    io,
    setExit: (code) => {
      exit = code;
    },
    debug: () => Boolean(program.opts().debug),
  };
  for (const register of commands) register(program, ctx);
  try {
    await program.parseAsync(argv);
    return exit;
  } catch (error) {
    return reportFailure(error, io, argv.includes('--debug'));
  }
}

function reportFailure(error: unknown, io: CliIO, debug: boolean): ExitCode {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) {
      return ExitCode.ok;
    }
    return ExitCode.usage;
  }
  if (error instanceof UserError) {
    io.err(`error[${error.code}]: ${error.message}\n`);
    if (error.hint) io.err(`  hint: ${error.hint}\n`);
    if (debug) io.err(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`internal error: ${message}\n`);
  io.err(debug && error instanceof Error ? `${error.stack}\n` : 'run again with --debug for a stack trace\n');
  return ExitCode.internal;
}
