import { afterEach, describe, expect, it } from 'vitest';
import { createProvider, parseRetryAfter } from '../../src/channels/index.js';
import type { RenderedSms } from '../../src/templates/template.js';
import { closedPort, json, makeChannel, makeMessage, startHttpServer, type HttpFixture } from './support.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const sms: RenderedSms = { channel: 'sms', text: 'Ada, -10% today only: https://s.example/x', encoding: 'gsm7', units: 41, segments: 1 };
const env = { SMS_URL: '', SMS_TOKEN: 'tok-123', SMS_ACCOUNT: 'acct-9' };

function smsChannel() {
  return makeChannel(
    'sms',
    { kind: 'http', url: { env: 'SMS_URL' }, token: { env: 'SMS_TOKEN' }, headers: { 'X-Account': { env: 'SMS_ACCOUNT' }, 'X-Client': 'herald' } },
    { from: 'DemoShop' },
  );
}

let servers: HttpFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function gateway(respond: Parameters<typeof startHttpServer>[0]): Promise<HttpFixture> {
  const s = await startHttpServer(respond);
  servers.push(s);
  return s;
}

describe('http SMS provider', () => {
  it('POSTs { id, to, from, text } with the bearer token, Idempotency-Key and configured headers', async () => {
    const server = await gateway((_req, res) => json(res, 202, { id: 'prov-77', status: 'queued' }));
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: `${server.url}/v1/messages` }, { now: () => NOW });
    expect(provider.idempotent).toBe(true);
    const result = await provider.send(makeMessage(channel, sms, { id: 'out-1', to: '+4915112345678' }));
    expect(result).toEqual({ kind: 'sent', providerMessageId: 'prov-77', at: NOW });
    await provider.close();

    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/messages');
    expect(req.headers.authorization).toBe('Bearer tok-123');
    expect(req.headers['idempotency-key']).toBe('out-1');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-account']).toBe('acct-9');
    expect(req.headers['x-client']).toBe('herald');
    expect(JSON.parse(req.body.toString('utf8'))).toEqual({ id: 'out-1', to: '+4915112345678', from: 'DemoShop', text: sms.text });
  });

  it('a configured header never overrides Idempotency-Key or Authorization', async () => {
    const server = await gateway((_req, res) => json(res, 200, {}));
    const channel = makeChannel('sms', {
      kind: 'http',
      url: { env: 'SMS_URL' },
      token: { env: 'SMS_TOKEN' },
      headers: { 'idempotency-key': 'fixed', authorization: { env: 'SMS_ACCOUNT' } },
    });
    const provider = createProvider(channel, { ...env, SMS_URL: server.url });
    expect(await provider.send(makeMessage(channel, sms, { id: 'out-2' }))).toMatchObject({ kind: 'sent' });
    expect(server.requests[0].headers['idempotency-key']).toBe('out-2');
    expect(server.requests[0].headers.authorization).toBe('Bearer tok-123');
  });

  it.each([
    { status: 500, retryable: true },
    { status: 503, retryable: true },
    { status: 429, retryable: true },
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 422, retryable: false },
  ])('HTTP $status is a failure with retryable=$retryable', async ({ status, retryable }) => {
    const server = await gateway((_req, res) => json(res, status, { error: 'nope' }));
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: server.url });
    expect(await provider.send(makeMessage(channel, sms))).toMatchObject({ kind: 'failed', retryable, code: `http_${status}` });
  });

  it('passes on Retry-After, in seconds or as a date', async () => {
    const server = await gateway((req, res) =>
      json(res, req.headers['idempotency-key'] === 'a' ? 429 : 503, {}, { 'retry-after': req.headers['idempotency-key'] === 'a' ? '7' : new Date(NOW + 90_000).toUTCString() }),
    );
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: server.url }, { now: () => NOW });
    expect(await provider.send(makeMessage(channel, sms, { id: 'a' }))).toMatchObject({ kind: 'failed', retryable: true, retryAfterMs: 7000 });
    expect(await provider.send(makeMessage(channel, sms, { id: 'b' }))).toMatchObject({ kind: 'failed', retryable: true, retryAfterMs: 90_000 });
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });

  it('a gateway that never answers, after the request was written, leaves the outcome ambiguous', async () => {
    const server = await gateway(() => undefined);
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: server.url }, { timeoutMs: 150 });
    const result = await provider.send(makeMessage(channel, sms));
    expect(result).toMatchObject({ kind: 'ambiguous', code: 'timeout' });
    expect(server.requests).toHaveLength(1);
  });

  it('a refused connection is retryable: nothing was sent', async () => {
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: `http://127.0.0.1:${await closedPort()}/` });
    expect(await provider.send(makeMessage(channel, sms))).toMatchObject({ kind: 'failed', retryable: true, code: 'connection_refused' });
  });

  it('an abort by the caller after the request was written is ambiguous', async () => {
    const controller = new AbortController();
    const server = await gateway(() => controller.abort());
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: server.url });
    expect(await provider.send(makeMessage(channel, sms), controller.signal)).toMatchObject({ kind: 'ambiguous', code: 'aborted' });
  });

  it('a redirect is not followed: a POST must not turn into a GET elsewhere', async () => {
    const server = await gateway((_req, res) => json(res, 302, {}, { location: '/elsewhere' }));
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: server.url });
    expect(await provider.send(makeMessage(channel, sms))).toMatchObject({ kind: 'failed', retryable: false, code: 'http_302' });
    expect(server.requests).toHaveLength(1);
  });

  it('refuses an empty text or a message of another channel without a request', async () => {
    const channel = smsChannel();
    const provider = createProvider(channel, { ...env, SMS_URL: `http://127.0.0.1:${await closedPort()}/` });
    expect(await provider.send(makeMessage(channel, { ...sms, text: ' ' }))).toMatchObject({ kind: 'failed', retryable: false, code: 'empty_message' });
    expect(await provider.send(makeMessage(channel, { channel: 'push', title: 't', body: 'b' }))).toMatchObject({
      kind: 'failed',
      retryable: false,
      code: 'wrong_message_type',
    });
  });
});
