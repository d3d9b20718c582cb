// Graceful shutdown for a provider: after close() no new attempt starts, and close() resolves once the attempts
// already running have their outcome (the engine records it, so SIGTERM loses nothing).
import type { SendResult } from './provider.js';

export class InFlight {
  private readonly running = new Set<Promise<SendResult>>();
  private closed = false;

  /** Run one attempt unless closed. */
  run(attempt: () => Promise<SendResult>): Promise<SendResult> {
    if (this.closed) return Promise.resolve(failed(true, 'provider_closed', 'the provider is closed'));
    // A provider that throws broke its contract; whether its request left is unknown, so the safe reading is
    // ambiguous (never blindly resent on a channel without idempotency).
    const p = attempt().catch((e: unknown): SendResult => ({ kind: 'ambiguous', code: 'internal', message: `provider error: ${errorText(e)}` }));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running]);
  }
}

export function failed(retryable: boolean, code: string, message: string, retryAfterMs?: number): SendResult {
  return { kind: 'failed', retryable, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
