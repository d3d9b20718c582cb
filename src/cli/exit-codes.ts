// The one place that decides exit codes (DESIGN §5). Commands return an ExitCode; only main.ts sets it.
export const ExitCode = {
  ok: 0,
  invalid: 1,
  changes: 2,
  guard: 3,
  conflict: 4,
  unavailable: 5,
  usage: 64,
  internal: 70,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A user-facing failure: printed as one message with its code, never with a stack (unless --debug). */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = ExitCode.invalid,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
