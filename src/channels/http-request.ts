// One HTTP POST attempt through global fetch, and how its outcome maps to a SendResult (shared by the SMS, webhook
// and web push providers).
//
// The hard case is an error with no response: was the request written? fetch does not say, so this module listens
// to undici's diagnostics channels: `undici:request:create` (tagged with the attempt through AsyncLocalStorage, it
// is published synchronously inside fetch) and `undici:request:bodySent` (the last byte of the body went to the
// socket). A timeout or reset after bodySent is `ambiguous`; before it, the provider cannot have acted, so the
// attempt is a plain retryable failure. If the channels never fire (another runtime), "unknown" is read as
// "maybe sent", except for errors that happen before any byte leaves (refused, DNS, …).
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { errorText, failed } from './in-flight.js';
import type { SendResult } from './provider.js';

export interface HttpAttempt {
  url: string;
  headers: Headers;
  body: string | Uint8Array;
  timeoutMs: number;
  signal?: AbortSignal;
}

export type HttpOutcome =
  | { kind: 'response'; status: number; headers: Headers; body: string }
  | { kind: 'error'; reason: 'timeout' | 'aborted' | 'network'; sent: boolean | 'unknown'; code: string; message: string };

interface Tracker {
  created: boolean;
  bodySent: boolean;
}

const attempts = new AsyncLocalStorage<Tracker>();
const byRequest = new WeakMap<object, Tracker>();
/** Set once a request of ours was seen on the diagnostics channel: from then on, no `create` means not dispatched. */
let channelsWork = false;
let subscribed = false;

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', (message) => {
    const tracker = attempts.getStore();
    const request = (message as { request?: object }).request;
    if (!tracker || !request) return;
    tracker.created = true;
    channelsWork = true;
    byRequest.set(request, tracker);
  });
  diagnostics.subscribe('undici:request:bodySent', (message) => {
    const request = (message as { request?: object }).request;
    const tracker = request ? byRequest.get(request) : undefined;
    if (tracker) tracker.bodySent = true;
  });
}

/** Error codes that mean no byte of the request left this host. */
const NOT_SENT: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
};
const SENT_OR_NOT: Record<string, string> = {
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_lost',
  UND_ERR_CLOSED: 'connection_lost',
};

const MAX_BODY = 64 * 1024;

/** The channel's configured headers, then Herald's own, which win (case-insensitively) over a configured one. */
export function buildHeaders(configured: Record<string, string>, own: Record<string, string>): Headers {
  const headers = new Headers(configured);
  for (const [name, value] of Object.entries(own)) headers.set(name, value);
  return headers;
}

export async function postOnce(attempt: HttpAttempt): Promise<HttpOutcome> {
  subscribe();
  if (attempt.signal?.aborted) return { kind: 'error', reason: 'aborted', sent: false, code: 'aborted', message: 'the send was aborted before it started' };
  const tracker: Tracker = { created: false, bodySent: false };
  const timeout = AbortSignal.timeout(attempt.timeoutMs);
  const signal = attempt.signal ? AbortSignal.any([attempt.signal, timeout]) : timeout;
  const sentSoFar = (): boolean | 'unknown' => (tracker.bodySent ? true : tracker.created || channelsWork ? false : 'unknown');
  let response: Response;
  try {
    response = await attempts.run(tracker, () =>
      fetch(attempt.url, { method: 'POST', headers: attempt.headers, body: attempt.body, signal, redirect: 'manual' }),
    );
  } catch (e) {
    if (attempt.signal?.aborted) return { kind: 'error', reason: 'aborted', sent: sentSoFar(), code: 'aborted', message: 'the send was aborted' };
    if (timeout.aborted) {
      return { kind: 'error', reason: 'timeout', sent: sentSoFar(), code: 'timeout', message: `no response within ${attempt.timeoutMs} ms` };
    }
    const cause = causeCode(e);
    if (cause && NOT_SENT[cause]) return { kind: 'error', reason: 'network', sent: false, code: NOT_SENT[cause], message: `${cause}: ${causeText(e)}` };
    const code = (cause && SENT_OR_NOT[cause]) ?? (/certificate|tls|ssl/i.test(causeText(e)) || cause?.startsWith('ERR_TLS') ? 'tls' : 'network_error');
    return { kind: 'error', reason: 'network', sent: sentSoFar(), code, message: `${cause ?? 'error'}: ${causeText(e)}` };
  }
  return { kind: 'response', status: response.status, headers: response.headers, body: await readCapped(response) };
}

/**
 * The common reading of an outcome. Providers handle 2xx (and their own special statuses) before calling this.
 * 408, 425, 429 and 5xx are retryable (with Retry-After when given); 409 too, since an Idempotency-Key
 * server answers it while an earlier attempt with the same key is still running; other statuses are permanent.
 */
export function classifyHttpFailure(outcome: HttpOutcome, nowMs: number): SendResult {
  if (outcome.kind === 'error') {
    if (outcome.sent === false) return failed(true, outcome.code, `${outcome.message} (the request was not sent)`);
    const maybe = outcome.sent === 'unknown' ? 'may have been' : 'was';
    return { kind: 'ambiguous', code: outcome.code, message: `${outcome.message}; the request ${maybe} sent, its outcome is unknown` };
  }
  const { status } = outcome;
  const detail = outcome.body ? `: ${outcome.body.slice(0, 300)}` : '';
  const retryable = status >= 500 || status === 408 || status === 409 || status === 425 || status === 429;
  const retryAfterMs = retryable ? parseRetryAfter(outcome.headers.get('retry-after'), nowMs) : undefined;
  return failed(retryable, `http_${status}`, `HTTP ${status}${detail}`, retryAfterMs);
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= MAX_BODY) {
        await reader.cancel();
        break;
      }
    }
  } catch {
    // The status is what decides; a body cut off by the timeout is read as far as it came.
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
}

function causeCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown; errors?: { code?: unknown }[] } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.find((x) => typeof x.code === 'string')?.code;
  return typeof inner === 'string' ? inner : undefined;
}

function causeText(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  return cause !== undefined ? errorText(cause) : errorText(e);
}

/** A provider's message id from a JSON response body `{ "id": … }`; undefined for anything else. */
export function providerIdFromBody(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown } | null)?.id;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  } catch {
    return undefined;
  }
}

/** One POST, classified: 2xx is sent (with the provider's id from the body when it gives one), else a failure. */
export async function postAndClassify(attempt: HttpAttempt, now: () => number): Promise<SendResult> {
  const outcome = await postOnce(attempt);
  if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) {
    const providerMessageId = providerIdFromBody(outcome.body);
    return { kind: 'sent', ...(providerMessageId !== undefined ? { providerMessageId } : {}), at: now() };
  }
  return classifyHttpFailure(outcome, now());
}
