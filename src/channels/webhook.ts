// Webhook: a signed POST of the rendered JSON body to `provider.url` — a call-centre queue, a messenger gateway,
// anything that speaks HTTP (DESIGN §4.5).
//
//   POST <provider.url>
//   Content-Type: application/json
//   Idempotency-Key: <outbox id>
//   Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with provider.secret>
//   Authorization: Bearer <provider.token>          (when a token is configured)
//   <the channel's configured headers>
//
//   <the template's webhook body, JSON, exactly the bytes that were signed>
//
// The signature scheme is documented in webhook-signature.ts. Idempotent only when the Channel says so
// (`provider.idempotent: true`): Herald always sends Idempotency-Key, but only the receiver knows whether it
// deduplicates by it. Failures are read as in http-request.ts.
import { buildHeaders, postAndClassify } from './http-request.js';
import { failed, InFlight } from './in-flight.js';
import type { ChannelProvider, OutgoingMessage, ProviderOptions, SendResult } from './provider.js';
import type { ProviderConfig } from './resolve-config.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature, type WebhookVerification } from './webhook-signature.js';

type WebhookConfig = Extract<ProviderConfig, { kind: 'webhook' }>;

export function createWebhookProvider(config: WebhookConfig, options: ProviderOptions = {}): ChannelProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const inFlight = new InFlight();

  const attempt = async (msg: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> => {
    const r = msg.rendered;
    if (r.channel !== 'webhook') return failed(false, 'wrong_message_type', `the webhook provider sends webhook bodies, not ${r.channel}`);
    const body = JSON.stringify(r.body);
    const headers = buildHeaders(config.headers, {
      'Content-Type': 'application/json',
      'Idempotency-Key': msg.id,
      [SIGNATURE_HEADER]: signWebhookBody(body, config.secret, now()),
      ...(config.token !== undefined ? { Authorization: `Bearer ${config.token}` } : {}),
    });
    return postAndClassify({ url: config.url, headers, body, timeoutMs, ...(signal ? { signal } : {}) }, now);
  };

  return {
    idempotent: config.idempotent,
    send: (msg, signal) => inFlight.run(() => attempt(msg, signal)),
    close: () => inFlight.close(),
  };
}
