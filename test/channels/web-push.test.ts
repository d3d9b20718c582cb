import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto';
import webpush from 'web-push';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider, pushTopicFor } from '../../src/channels/index.js';
import type { RenderedPush } from '../../src/templates/template.js';
import { makeChannel, makeMessage, startHttpServer, type HttpFixture } from './support.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const vapid = webpush.generateVAPIDKeys();
const env = { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey };
const push: RenderedPush = { channel: 'push', title: 'We miss you', body: '-10% on your next order', url: 'https://shop.example/back' };
const channel = makeChannel('push', {
  kind: 'webpush',
  vapidPublicKey: { env: 'VAPID_PUBLIC_KEY' },
  vapidPrivateKey: { env: 'VAPID_PRIVATE_KEY' },
  vapidSubject: 'mailto:ops@shop.example',
});

/** A browser's side of a subscription: the P-256 key pair and the auth secret. */
function browser(endpoint: string): { ecdh: ECDH; auth: Buffer; address: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  const address = JSON.stringify({ endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } });
  return { ecdh, auth, address };
}

/** What the browser does with an aes128gcm push body (RFC 8291 §3.4, RFC 8188 §2), single record. */
function decrypt(body: Buffer, ecdh: ECDH, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const serverKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdh.computeSecret(serverKey), auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = plain.length - 1;
  while (plain[end] === 0) end--;
  expect(plain[end]).toBe(2); // last-record delimiter
  return plain.subarray(0, end).toString('utf8');
}

/** Check the VAPID JWT (RFC 8292): ES256 over header.payload with the application server key. */
function vapidClaims(authorization: string): { aud: string; sub: string; exp: number } {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(authorization);
  expect(m).not.toBeNull();
  const [, jwt, k] = m!;
  expect(k).toBe(vapid.publicKey);
  const [h, p, s] = jwt.split('.');
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  expect(verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))).toBe(true);
  return JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { aud: string; sub: string; exp: number };
}

let servers: HttpFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function pushService(status: number): Promise<HttpFixture> {
  const s = await startHttpServer((_req, res) => {
    res.writeHead(status, status === 201 ? { location: '/messages/m-1' } : {});
    res.end();
  });
  servers.push(s);
  return s;
}

describe('web push provider', () => {
  it('201 from the push service is sent; the payload decrypts to { id, title, body, url } under a valid VAPID JWT', async () => {
    const service = await pushService(201);
    const b = browser(`${service.url}/push/sub-1`);
    const provider = createProvider(channel, env, { now: () => NOW, allowHttpPushEndpoints: true, pushTtlSeconds: 3600 });
    expect(provider.idempotent).toBe(false);
    const result = await provider.send(makeMessage(channel, push, { id: 'out-9', to: b.address }));
    expect(result).toEqual({ kind: 'sent', providerMessageId: '/messages/m-1', at: NOW });
    await provider.close();

    const req = service.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/push/sub-1');
    expect(req.headers['content-encoding']).toBe('aes128gcm');
    expect(req.headers.ttl).toBe('3600');
    expect(req.headers.urgency).toBe('normal');
    expect(req.headers.topic).toBe(pushTopicFor('out-9'));
    const claims = vapidClaims(req.headers.authorization as string);
    expect(claims.aud).toBe(service.url);
    expect(claims.sub).toBe('mailto:ops@shop.example');
    expect(JSON.parse(decrypt(req.body, b.ecdh, b.auth))).toEqual({ id: 'out-9', title: push.title, body: push.body, url: push.url });
  });

  it.each([410, 404])('%i from the push service is a permanent subscription_gone', async (status) => {
    const service = await pushService(status);
    const provider = createProvider(channel, env, { allowHttpPushEndpoints: true });
    const result = await provider.send(makeMessage(channel, push, { to: browser(`${service.url}/push/gone`).address }));
    expect(result).toMatchObject({ kind: 'failed', retryable: false, code: 'subscription_gone' });
  });

  it('429 and 5xx are retryable, 413 permanent', async () => {
    for (const [status, retryable] of [
      [429, true],
      [502, true],
      [413, false],
    ] as const) {
      const service = await pushService(status);
      const provider = createProvider(channel, env, { allowHttpPushEndpoints: true });
      const result = await provider.send(makeMessage(channel, push, { to: browser(`${service.url}/p`).address }));
      expect(result).toMatchObject({ kind: 'failed', retryable, code: `http_${status}` });
    }
  });

  it('an address that is not a usable PushSubscription is a permanent invalid_address, without a request', async () => {
    const service = await pushService(201);
    const provider = createProvider(channel, env);
    const bad = [
      'not json',
      `${service.url}/push/sub-1`,
      JSON.stringify({ endpoint: 'https://push.example/x' }),
      browser(`${service.url}/push/plain-http`).address, // http without allowHttpPushEndpoints
      JSON.stringify({ endpoint: 'https://push.example/x', keys: { p256dh: 'AAAA', auth: 'AAAA' } }),
    ];
    for (const to of bad) {
      expect(await provider.send(makeMessage(channel, push, { to }))).toMatchObject({ kind: 'failed', retryable: false, code: 'invalid_address' });
    }
    expect(service.requests).toHaveLength(0);
  });

  it('topics are short URL-safe base64 and differ per outbox id', () => {
    expect(pushTopicFor('out-1')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(pushTopicFor('out-1')).not.toBe(pushTopicFor('out-2'));
  });
});
