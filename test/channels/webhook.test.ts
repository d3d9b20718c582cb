import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider, signWebhookBody, verifyWebhookSignature } from '../../src/channels/index.js';
import type { RenderedWebhook } from '../../src/templates/template.js';
import { json, makeChannel, makeMessage, startHttpServer, type HttpFixture } from './support.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const SECRET = 'whsec_5f1e7c';
const webhook: RenderedWebhook = { channel: 'webhook', body: { task: 'call', customer: 'c-42', note: 'Ada – “VIP”', items: [1, 2.5, null, true] } };

let servers: HttpFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function hookChannel(idempotent = false) {
  return makeChannel('webhook', { kind: 'webhook', url: { env: 'HOOK_URL' }, secret: { env: 'HOOK_SECRET' }, idempotent });
}

describe('webhook provider', () => {
  it('POSTs the rendered JSON with a Herald-Signature the receiver can verify, and an Idempotency-Key', async () => {
    const server = await startHttpServer((_req, res) => json(res, 200, { id: 'task-9' }));
    servers.push(server);
    const channel = hookChannel(true);
    const provider = createProvider(channel, { HOOK_URL: `${server.url}/hooks/herald`, HOOK_SECRET: SECRET }, { now: () => NOW });
    expect(provider.idempotent).toBe(true);
    expect(await provider.send(makeMessage(channel, webhook, { id: 'out-5' }))).toEqual({ kind: 'sent', providerMessageId: 'task-9', at: NOW });

    const req = server.requests[0];
    expect(req.url).toBe('/hooks/herald');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('out-5');
    const header = req.headers['herald-signature'] as string;
    expect(header).toMatch(new RegExp(`^t=${NOW / 1000},v1=[0-9a-f]{64}$`));
    expect(JSON.parse(req.body.toString('utf8'))).toEqual(webhook.body);
    // The receiver checks the raw bytes, as received, with its own clock a little later.
    expect(verifyWebhookSignature(req.body, header, SECRET, 300, NOW + 2_000)).toEqual({ kind: 'valid', timestamp: NOW / 1000 });
    expect(verifyWebhookSignature(req.body, header, 'another-secret', 300, NOW)).toEqual({ kind: 'invalid', reason: 'signature_mismatch' });
  });

  it('is idempotent only when the channel says the receiver deduplicates', () => {
    const env = { HOOK_URL: 'https://hooks.example/x', HOOK_SECRET: SECRET };
    expect(createProvider(hookChannel(false), env).idempotent).toBe(false);
    expect(createProvider(hookChannel(true), env).idempotent).toBe(true);
  });

  it('classifies 503 as retryable and 404 as permanent', async () => {
    const server = await startHttpServer((req, res) => json(res, req.headers['idempotency-key'] === 'x' ? 503 : 404, {}));
    servers.push(server);
    const channel = hookChannel();
    const provider = createProvider(channel, { HOOK_URL: server.url, HOOK_SECRET: SECRET });
    expect(await provider.send(makeMessage(channel, webhook, { id: 'x' }))).toMatchObject({ kind: 'failed', retryable: true, code: 'http_503' });
    expect(await provider.send(makeMessage(channel, webhook, { id: 'y' }))).toMatchObject({ kind: 'failed', retryable: false, code: 'http_404' });
  });
});

describe('webhook signature', () => {
  const secretArb = fc.string({ minLength: 1, maxLength: 40 });
  const timeArb = fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => s * 1000);

  it('round-trips for any body, secret and time', () => {
    fc.assert(
      fc.property(fc.string(), secretArb, timeArb, fc.integer({ min: 0, max: 299_999 }), (body, secret, now, lag) => {
        const header = signWebhookBody(body, secret, now);
        expect(verifyWebhookSignature(body, header, secret, 300, now + lag)).toEqual({ kind: 'valid', timestamp: now / 1000 });
        expect(verifyWebhookSignature(Buffer.from(body, 'utf8'), header, secret, 300, now)).toMatchObject({ kind: 'valid' });
      }),
    );
  });

  it('fails for any modified body', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), secretArb, timeArb, (body, other, secret, now) => {
        fc.pre(other !== body);
        const header = signWebhookBody(body, secret, now);
        expect(verifyWebhookSignature(other, header, secret, 300, now)).toEqual({ kind: 'invalid', reason: 'signature_mismatch' });
      }),
    );
  });

  it('fails for any single flipped byte of the raw body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, at, mask) => {
        const body = Buffer.from(bytes);
        const header = signWebhookBody(body, SECRET, NOW);
        const tampered = Buffer.from(body);
        tampered[at % tampered.length] ^= mask;
        expect(verifyWebhookSignature(tampered, header, SECRET, 300, NOW)).toEqual({ kind: 'invalid', reason: 'signature_mismatch' });
      }),
    );
  });

  it('fails when the timestamp is moved or out of tolerance', () => {
    const body = JSON.stringify(webhook.body);
    const header = signWebhookBody(body, SECRET, NOW);
    const moved = header.replace(/^t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1}`);
    expect(verifyWebhookSignature(body, moved, SECRET, 300, NOW)).toEqual({ kind: 'invalid', reason: 'signature_mismatch' });
    expect(verifyWebhookSignature(body, header, SECRET, 300, NOW + 301_000)).toEqual({ kind: 'invalid', reason: 'timestamp_out_of_tolerance' });
    expect(verifyWebhookSignature(body, header, SECRET, 300, NOW - 301_000)).toEqual({ kind: 'invalid', reason: 'timestamp_out_of_tolerance' });
  });

  it('accepts any one of several secrets (rotation) and ignores unknown schemes', () => {
    const body = '{"a":1}';
    const both = signWebhookBody(body, ['old', 'new'], NOW);
    expect(both.split(',')).toHaveLength(3);
    expect(verifyWebhookSignature(body, both, 'new', 300, NOW)).toMatchObject({ kind: 'valid' });
    expect(verifyWebhookSignature(body, signWebhookBody(body, 'old', NOW), ['new', 'old'], 300, NOW)).toMatchObject({ kind: 'valid' });
    expect(verifyWebhookSignature(body, `${signWebhookBody(body, 'new', NOW)},v0=abc`, 'new', 300, NOW)).toMatchObject({ kind: 'valid' });
  });

  it.each([undefined, '', 'garbage', 't=abc,v1=00', `t=${NOW / 1000}`, `v1=${'0'.repeat(64)}`, `t=1,t=2,v1=${'0'.repeat(64)}`])(
    'rejects the malformed header %j',
    (header) => {
      expect(verifyWebhookSignature('{}', header, SECRET, 300, NOW)).toEqual({ kind: 'invalid', reason: 'malformed_header' });
    },
  );
});
