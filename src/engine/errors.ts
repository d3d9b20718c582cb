// Typed failures of the engine. A caller branches on `kind` (the CLI maps it to an exit code in one place),
// never on the class or the message.
import type { EngineCode } from './codes.js';

export type EngineErrorKind = 'conflict' | 'unavailable' | 'invalid' | 'not_found';

export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    readonly code: EngineCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export function isEngineError(error: unknown, kind?: EngineErrorKind): error is EngineError {
  return error instanceof EngineError && (kind === undefined || error.kind === kind);
}
