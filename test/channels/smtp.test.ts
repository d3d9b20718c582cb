import { afterEach, describe, expect, it } from 'vitest';
import { classifySmtpError, createProvider, messageIdFor } from '../../src/channels/index.js';
import type { RenderedEmail } from '../../src/templates/template.js';
import { closedPort, makeChannel, makeMessage, parseMail, startSilentServer, startSmtpServer, type SmtpFixture } from './support.js';

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);
const email: RenderedEmail = {
  channel: 'email',
  subject: 'Ada, we kept something for you',
  html: '<p>Hello Ada</p><p><a href="https://shop.example/u/tok">Unsubscribe</a></p>',
  text: 'Hello Ada. Unsubscribe: https://shop.example/u/tok',
};

function emailChannel(port: number, extra: { password?: boolean } = {}) {
  return makeChannel(
    'email',
    { kind: 'smtp', url: { env: 'SMTP_URL' }, ...(extra.password ? { password: { env: 'SMTP_PASSWORD' } } : {}) },
    { from: 'Demo Shop <news@shop.example>' },
  );
}

let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function smtp(opts: Parameters<typeof startSmtpServer>[0] = {}): Promise<SmtpFixture> {
  const s = await startSmtpServer(opts);
  servers.push(s);
  return s;
}

describe('smtp provider', () => {
  it('delivers a marketing email with Message-ID, RFC 8058 headers, From, html and text, logging in with the URL credentials', async () => {
    const server = await smtp({ users: { mailer: 's3cr:t' } });
    const channel = emailChannel(server.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://mailer:s3cr%3At@127.0.0.1:${server.port}` }, { now: () => NOW });
    expect(provider.idempotent).toBe(false);
    const result = await provider.send(
      makeMessage(channel, email, {
        id: 'out-7f3a',
        class: 'marketing',
        unsubscribeUrl: 'https://shop.example/u/tok',
        unsubscribePostUrl: 'https://engine.shop.example/v1/unsubscribe/tok',
        unsubscribeMailto: 'unsubscribe+tok@shop.example',
      }),
    );
    expect(result).toEqual({ kind: 'sent', providerMessageId: '<out-7f3a@herald>', at: NOW });
    await provider.close();

    expect(server.received).toHaveLength(1);
    const mail = server.received[0];
    expect(mail.user).toBe('mailer');
    expect(mail.from).toBe('news@shop.example');
    expect(mail.to).toEqual(['ada@example.com']);
    const { headers, body } = parseMail(mail.raw);
    expect(headers.get('message-id')).toEqual(['<out-7f3a@herald>']);
    expect(headers.get('from')).toEqual(['Demo Shop <news@shop.example>']);
    expect(headers.get('to')).toEqual(['ada@example.com']);
    expect(headers.get('subject')).toEqual(['Ada, we kept something for you']);
    expect(headers.get('date')).toEqual(['Wed, 01 May 2024 10:00:00 +0000']);
    expect(headers.get('list-unsubscribe')).toEqual(['<https://engine.shop.example/v1/unsubscribe/tok>, <mailto:unsubscribe+tok@shop.example>']);
    expect(headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(headers.get('content-type')?.[0]).toMatch(/^multipart\/alternative; boundary=/);
    expect(body).toMatch(/Content-Type: text\/plain[^]*Hello Ada\. Unsubscribe: https:\/\/shop\.example\/u\/tok/);
    expect(body).toMatch(/Content-Type: text\/html[^]*<p>Hello Ada<\/p>/);
  });

  it('leaves List-Unsubscribe off a service email and takes the password from its own variable', async () => {
    const server = await smtp({ users: { mailer: 'from-env' } });
    const channel = emailChannel(server.port, { password: true });
    const provider = createProvider(channel, { SMTP_URL: `smtp://mailer@127.0.0.1:${server.port}`, SMTP_PASSWORD: 'from-env' });
    const result = await provider.send(makeMessage(channel, { channel: 'email', subject: 'Your receipt', text: 'Thanks' }));
    expect(result.kind).toBe('sent');
    const { headers } = parseMail(server.received[0].raw);
    expect(headers.has('list-unsubscribe')).toBe(false);
    expect(headers.get('content-type')?.[0]).toMatch(/^text\/plain/);
    await provider.close();
  });

  it('refuses a marketing email without an unsubscribe URL before connecting', async () => {
    const channel = emailChannel(1);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    const result = await provider.send(makeMessage(channel, email, { class: 'marketing' }));
    expect(result).toMatchObject({ kind: 'failed', retryable: false, code: 'missing_unsubscribe' });
  });

  it.each([
    { at: 'rcpt' as const, code: 451, retryable: true },
    { at: 'rcpt' as const, code: 550, retryable: false },
    { at: 'data' as const, code: 452, retryable: true },
    { at: 'data' as const, code: 554, retryable: false },
  ])('classifies a $code reply at $at as retryable=$retryable', async ({ at, code, retryable }) => {
    const server = await smtp({ reject: { at, code, message: 'no thanks' } });
    const channel = emailChannel(server.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${server.port}` });
    const result = await provider.send(makeMessage(channel, email));
    expect(result).toMatchObject({ kind: 'failed', retryable, code: `smtp_${code}` });
    await provider.close();
  });

  it('reads 503 (bad sequence) as retryable', async () => {
    const server = await smtp({ reject: { at: 'rcpt', code: 503, message: 'bad sequence' } });
    const channel = emailChannel(server.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${server.port}` });
    expect(await provider.send(makeMessage(channel, email))).toMatchObject({ kind: 'failed', retryable: true, code: 'smtp_503' });
  });

  it('a refused connection is retryable', async () => {
    const channel = emailChannel(0);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    expect(await provider.send(makeMessage(channel, email))).toMatchObject({ kind: 'failed', retryable: true, code: 'connection_refused' });
  });

  it('a server that never greets times out before anything was sent: retryable', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const channel = emailChannel(silent.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${silent.port}` }, { timeoutMs: 150 });
    expect(await provider.send(makeMessage(channel, email))).toMatchObject({ kind: 'failed', retryable: true, code: 'timeout' });
  });

  it('a server that goes silent after the message was written leaves the outcome ambiguous', async () => {
    const server = await smtp({ reject: { at: 'data', hang: true } });
    const channel = emailChannel(server.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${server.port}` }, { timeoutMs: 200 });
    expect(await provider.send(makeMessage(channel, email))).toMatchObject({ kind: 'ambiguous', code: 'timeout' });
  });

  it('an abort before connecting is a retryable failure; a closed provider sends nothing', async () => {
    const server = await smtp();
    const channel = emailChannel(server.port);
    const provider = createProvider(channel, { SMTP_URL: `smtp://127.0.0.1:${server.port}` });
    expect(await provider.send(makeMessage(channel, email), AbortSignal.abort())).toMatchObject({ kind: 'failed', retryable: true, code: 'aborted' });
    await provider.close();
    expect(await provider.send(makeMessage(channel, email))).toMatchObject({ kind: 'failed', retryable: true, code: 'provider_closed' });
    expect(server.received).toHaveLength(0);
  });

  it('keeps Message-IDs valid for any outbox id', () => {
    expect(messageIdFor('01HZX3K9Q8')).toBe('<01HZX3K9Q8@herald>');
    expect(messageIdFor('a b<c>@d')).toBe('<a=20b=3Cc=3E=40d@herald>');
    expect(messageIdFor('.x..y.')).toBe('<=2Ex=2E.y=2E@herald>');
    expect(messageIdFor('k=v')).toBe('<k=3Dv@herald>');
    expect(messageIdFor('é')).toBe('<=C3=A9@herald>');
  });

  it.each([
    [{ code: 'EENVELOPE', responseCode: 421 }, false, { kind: 'failed', retryable: true, code: 'smtp_421' }],
    [{ code: 'EMESSAGE', responseCode: 421 }, true, { kind: 'failed', retryable: true, code: 'smtp_421' }],
    [{ code: 'EAUTH', responseCode: 535 }, false, { kind: 'failed', retryable: false, code: 'smtp_535' }],
    [{ code: 'ENOAUTH' }, false, { kind: 'failed', retryable: false, code: 'auth' }],
    [{ code: 'EENVELOPE' }, false, { kind: 'failed', retryable: false, code: 'invalid_address' }],
    [{ code: 'EDNS' }, false, { kind: 'failed', retryable: true, code: 'dns' }],
    [{ code: 'ETLS' }, false, { kind: 'failed', retryable: true, code: 'tls' }],
    [{ code: 'ECONNECTION' }, false, { kind: 'failed', retryable: true, code: 'connection_lost' }],
    [{ code: 'ECONNECTION' }, true, { kind: 'ambiguous', code: 'connection_lost' }],
    [{ code: 'EABORT' }, true, { kind: 'ambiguous', code: 'aborted' }],
    [{}, false, { kind: 'failed', retryable: true, code: 'smtp_error' }],
    [{}, true, { kind: 'ambiguous', code: 'smtp_error' }],
  ])('reads %j (message written: %s) as %j', (err, written, expected) => {
    expect(classifySmtpError(Object.assign(new Error('x'), err), written)).toMatchObject(expected);
  });
});
