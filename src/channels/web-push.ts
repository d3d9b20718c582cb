// Web push (RFC 8030) with VAPID (RFC 8292) and message encryption (RFC 8291, aes128gcm), through `web-push`.
//
// Address: the channel's address attribute holds the browser's PushSubscription as JSON, exactly what
// `JSON.stringify(subscription)` gives in the page: `{"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}}`.
// A bare endpoint URL is not enough: without the keys the payload cannot be encrypted, and a push without a
// payload cannot show a title or body. Only https endpoints are accepted (browsers hand out nothing else; this
// also keeps a forged subscription from pointing the engine at plain-http hosts), unless
// `allowHttpPushEndpoints` is set for tests or a local relay.
//
// Payload (what the service worker's `push` event reads with `event.data.json()`):
//   { "id": "<outbox id>", "title": "…", "body": "…", "url": "…" }
//
// web-push builds the request (encryption, VAPID JWT, TTL, Topic, Urgency); global fetch sends it, so timeouts,
// aborts and "was the request written?" are read as for the other HTTP providers (http-request.ts), and plain
// http endpoints work for tests. Push services answer 201 Created with a Location (the message resource, kept as
// providerMessageId); 404 and 410 mean the subscription expired or was revoked: a permanent failure with code
// `subscription_gone`, so the engine can drop the address.
//
// Not idempotent: a push service delivers every accepted message. `Topic` is set from the outbox id, so a resend
// that reaches the service while the first copy is still undelivered replaces it instead of adding a second one
// (RFC 8030 §5.4); after delivery a resend is shown again.
import { createHash } from 'node:crypto';
import webpush, { type RequestDetails } from 'web-push';
import { buildHeaders, classifyHttpFailure, postOnce } from './http-request.js';
import { errorText, failed, InFlight } from './in-flight.js';
import type { ChannelProvider, OutgoingMessage, ProviderOptions, SendResult } from './provider.js';
import type { ProviderConfig } from './resolve-config.js';

type WebPushConfig = Extract<ProviderConfig, { kind: 'webpush' }>;

export interface PushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export type ParsedSubscription = { kind: 'ok'; subscription: PushSubscriptionJson } | { kind: 'invalid'; message: string };

/** Read an address attribute as a PushSubscription. */
export function parseSubscription(address: string, allowHttp = false): ParsedSubscription {
  let value: unknown;
  try {
    value = JSON.parse(address);
  } catch {
    return { kind: 'invalid', message: 'the push address is not a JSON PushSubscription' };
  }
  const s = value as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } } | null;
  if (typeof s?.endpoint !== 'string' || typeof s.keys?.p256dh !== 'string' || typeof s.keys.auth !== 'string') {
    return { kind: 'invalid', message: 'the PushSubscription needs endpoint, keys.p256dh and keys.auth' };
  }
  let url: URL;
  try {
    url = new URL(s.endpoint);
  } catch {
    return { kind: 'invalid', message: 'the PushSubscription endpoint is not a URL' };
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return { kind: 'invalid', message: `the PushSubscription endpoint must be https, not ${url.protocol}` };
  }
  return { kind: 'ok', subscription: { endpoint: s.endpoint, keys: { p256dh: s.keys.p256dh, auth: s.keys.auth } } };
}

/** RFC 8030 Topic for an outbox id: at most 32 characters of the URL-safe base64 alphabet. */
export function pushTopicFor(outboxId: string): string {
  return createHash('sha256').update(outboxId).digest('base64url').slice(0, 32);
}

export function createWebPushProvider(config: WebPushConfig, options: ProviderOptions = {}): ChannelProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ttl = options.pushTtlSeconds ?? 86_400;
  const inFlight = new InFlight();
  const vapidDetails = { subject: config.subject, publicKey: config.publicKey, privateKey: config.privateKey };

  const attempt = async (msg: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> => {
    const r = msg.rendered;
    if (r.channel !== 'push') return failed(false, 'wrong_message_type', `the webpush provider sends push messages, not ${r.channel}`);
    const parsed = parseSubscription(msg.to, options.allowHttpPushEndpoints);
    if (parsed.kind === 'invalid') return failed(false, 'invalid_address', parsed.message);
    const payload = JSON.stringify({ id: msg.id, title: r.title, body: r.body, ...(r.url !== undefined ? { url: r.url } : {}) });
    let details: RequestDetails;
    try {
      details = webpush.generateRequestDetails(parsed.subscription, payload, {
        vapidDetails,
        TTL: ttl,
        topic: pushTopicFor(msg.id),
        urgency: 'normal',
        contentEncoding: 'aes128gcm',
      });
    } catch (e) {
      // The VAPID keys were checked at start-up, so what is left is the subscription's keys.
      return failed(false, 'invalid_address', `cannot encrypt for this subscription: ${errorText(e)}`);
    }
    const own: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) {
      // fetch computes Content-Length itself.
      if (name.toLowerCase() !== 'content-length') own[name] = String(value);
    }
    const outcome = await postOnce({
      url: details.endpoint,
      headers: buildHeaders({}, own),
      body: details.body ?? new Uint8Array(),
      timeoutMs,
      ...(signal ? { signal } : {}),
    });
    if (outcome.kind === 'response') {
      if (outcome.status >= 200 && outcome.status < 300) {
        const location = outcome.headers.get('location');
        return { kind: 'sent', ...(location ? { providerMessageId: location } : {}), at: now() };
      }
      if (outcome.status === 404 || outcome.status === 410) {
        return failed(false, 'subscription_gone', `HTTP ${outcome.status}: the push subscription expired or was revoked`);
      }
    }
    return classifyHttpFailure(outcome, now());
  };

  return {
    idempotent: false,
    send: (msg, signal) => inFlight.run(() => attempt(msg, signal)),
    close: () => inFlight.close(),
  };
}
