// Herald's webhook signature, the scheme Stripe documents (https://docs.stripe.com/webhooks#verify-manually):
//
//   Herald-Signature: t=1717171717,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// - `t` is the Unix time (seconds) the request was signed.
// - `v1` is the lowercase hex HMAC-SHA256 of the signed payload `<t>.<raw body>` (the timestamp, a dot, then the
//   body bytes exactly as sent), keyed with the UTF-8 bytes of the shared secret (`provider.secret`).
// - A header may carry several `v1=` entries (one per secret while a secret is rotated); one match is enough.
//   Other schemes (`v0=`, …) are ignored, so new ones can be added without breaking receivers.
//
// To verify, a receiver takes the raw body before any JSON parsing, recomputes the HMAC, compares in constant time,
// and rejects a `t` further than its tolerance (300 s is usual) from its own clock, which bounds replays. The
// engine's receipt endpoint (`POST /v1/receipts/:channel`) verifies with the same function.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Herald-Signature';

export type WebhookVerification =
  | { kind: 'valid'; timestamp: number }
  | { kind: 'invalid'; reason: 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch' };

function hmacHex(timestamp: number, body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The Herald-Signature header value for a body sent at `nowMs` (epoch milliseconds). */
export function signWebhookBody(body: string | Uint8Array, secret: string | readonly string[], nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  const secrets = typeof secret === 'string' ? [secret] : secret;
  return [`t=${t}`, ...secrets.map((s) => `v1=${hmacHex(t, body, s)}`)].join(',');
}

/**
 * Check a Herald-Signature header against the raw body. `secret` may list several (rotation: any one may match),
 * `toleranceSec` bounds |now − t|, `nowMs` is the receiver's clock in epoch milliseconds.
 */
export function verifyWebhookSignature(
  body: string | Uint8Array,
  header: string | null | undefined,
  secret: string | readonly string[],
  toleranceSec: number,
  nowMs: number,
): WebhookVerification {
  if (!header) return { kind: 'invalid', reason: 'malformed_header' };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { kind: 'invalid', reason: 'malformed_header' };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return { kind: 'invalid', reason: 'malformed_header' };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { kind: 'invalid', reason: 'malformed_header' };
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return { kind: 'invalid', reason: 'malformed_header' };
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSec) return { kind: 'invalid', reason: 'timestamp_out_of_tolerance' };
  const secrets = typeof secret === 'string' ? [secret] : secret;
  let match = false;
  for (const s of secrets) {
    const expected = Buffer.from(hmacHex(timestamp, body, s), 'hex');
    // Every candidate is compared (no early exit), each in constant time.
    for (const sig of signatures) if (timingSafeEqual(expected, sig)) match = true;
  }
  return match ? { kind: 'valid', timestamp } : { kind: 'invalid', reason: 'signature_mismatch' };
}
