// Generic HTTP SMS gateway: one JSON POST per message,
//
//   POST <provider.url>
//   Authorization: Bearer <provider.token>        (when a token is configured)
//   Idempotency-Key: <outbox id>
//   Content-Type: application/json
//   { "id": "<outbox id>", "to": "+4915…", "from": "<channel.from>", "text": "…" }
//
// plus the channel's configured headers. A 2xx answer is `sent`, its JSON `id` the provider's message id.
// Idempotent: the contract asks the gateway to deduplicate by Idempotency-Key (and the body carries the same id),
// so the engine may resend an ambiguous attempt. Failures are read as in http-request.ts.
import { buildHeaders, postAndClassify } from './http-request.js';
import { failed, InFlight } from './in-flight.js';
import type { ChannelProvider, OutgoingMessage, ProviderOptions, SendResult } from './provider.js';
import type { ProviderConfig } from './resolve-config.js';

type HttpSmsConfig = Extract<ProviderConfig, { kind: 'http' }>;

export function createHttpSmsProvider(config: HttpSmsConfig, options: ProviderOptions = {}): ChannelProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const inFlight = new InFlight();

  const attempt = async (msg: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> => {
    const r = msg.rendered;
    if (r.channel !== 'sms') return failed(false, 'wrong_message_type', `the http SMS provider sends sms, not ${r.channel}`);
    if (r.text.trim() === '') return failed(false, 'empty_message', 'the SMS text is empty');
    if (msg.to.trim() === '') return failed(false, 'invalid_address', 'the customer has no phone number');
    const body = JSON.stringify({ id: msg.id, to: msg.to, ...(config.from !== undefined ? { from: config.from } : {}), text: r.text });
    const headers = buildHeaders(config.headers, {
      'Content-Type': 'application/json',
      'Idempotency-Key': msg.id,
      ...(config.token !== undefined ? { Authorization: `Bearer ${config.token}` } : {}),
    });
    return postAndClassify({ url: config.url, headers, body, timeoutMs, ...(signal ? { signal } : {}) }, now);
  };

  return {
    idempotent: true,
    send: (msg, signal) => inFlight.run(() => attempt(msg, signal)),
    close: () => inFlight.close(),
  };
}
