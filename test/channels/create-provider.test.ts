import { describe, expect, it } from 'vitest';
import { CHANNEL_CODES, checkProviderConfig, createProvider, ProviderConfigError } from '../../src/channels/index.js';
import { makeChannel } from './support.js';

function thrown(f: () => unknown): ProviderConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProviderConfigError) return e;
    throw e;
  }
  throw new Error('expected a ProviderConfigError');
}

const sms = makeChannel('sms', { kind: 'http', url: { env: 'SMS_URL' }, token: { env: 'SMS_TOKEN' } });

describe('createProvider', () => {
  it('names the missing variable with HER6001, at the channel document, without any value', () => {
    const e = thrown(() => createProvider(sms, { SMS_URL: 'https://sms.example/send' }));
    expect(e.code).toBe('HER6001');
    expect(e.channel).toBe('sms');
    expect(e.diagnostics).toEqual([
      {
        code: 'HER6001',
        severity: 'error',
        message: "channel 'sms': environment variable SMS_TOKEN (provider.token) is not set",
        file: 'campaigns/channels.yaml',
        line: 3,
        column: 1,
        path: '/spec/provider/token',
        hint: 'set SMS_TOKEN where the engine runs',
      },
    ]);
    expect(e.message).toContain('HER6001');
    expect(e.message).not.toContain('sms.example');
  });

  it('reports every problem at once, and an empty variable counts as missing', () => {
    const diagnostics = checkProviderConfig(sms, { SMS_URL: '', SMS_TOKEN: '' });
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['HER6001', '/spec/provider/url'],
      ['HER6001', '/spec/provider/token'],
    ]);
    expect(checkProviderConfig(sms, { SMS_URL: 'https://sms.example/send', SMS_TOKEN: 't' })).toEqual([]);
  });

  it.each([
    ['a provider kind that cannot send the channel type', makeChannel('sms', { kind: 'smtp', url: 'smtp://mail.example' }), {}, 'HER6004', '/spec/provider/kind'],
    ['an email channel without from', makeChannel('email', { kind: 'smtp', url: 'smtp://mail.example' }), {}, 'HER6002', '/spec/from'],
    ['an SMTP URL of another scheme', makeChannel('email', { kind: 'smtp', url: { env: 'SMTP_URL' } }, { from: 'a@b.example' }), { SMTP_URL: 'https://mail.example' }, 'HER6003', '/spec/provider/url'],
    ['a URL that does not parse', makeChannel('sms', { kind: 'http', url: { env: 'SMS_URL' } }), { SMS_URL: 'not a url' }, 'HER6003', '/spec/provider/url'],
    ['an SMTP password without a user', makeChannel('email', { kind: 'smtp', url: 'smtp://mail.example', password: { env: 'P' } }, { from: 'a@b.example' }), { P: 'x' }, 'HER6002', '/spec/provider/url'],
    ['a webhook without a secret', makeChannel('webhook', { kind: 'webhook', url: 'https://hooks.example' }), {}, 'HER6002', '/spec/provider/secret'],
    ['a log provider without a path', makeChannel('email', { kind: 'log' }), {}, 'HER6002', '/spec/provider/path'],
    ['a header whose value cannot be sent', makeChannel('sms', { kind: 'http', url: 'https://sms.example', headers: { 'X-Key': { env: 'K' } } }), { K: 'a\nb' }, 'HER6003', '/spec/provider/headers/X-Key'],
    ['web push without a subject', makeChannel('push', { kind: 'webpush', vapidPublicKey: 'x', vapidPrivateKey: { env: 'V' } }), { V: 'y' }, 'HER6002', '/spec/provider/vapid_subject'],
    [
      'a VAPID key of the wrong size',
      makeChannel('push', { kind: 'webpush', vapidPublicKey: 'AAAA', vapidPrivateKey: { env: 'V' }, vapidSubject: 'mailto:ops@shop.example' }),
      { V: Buffer.alloc(32, 1).toString('base64url') },
      'HER6003',
      '/spec/provider/vapid_public_key',
    ],
  ])('rejects %s', (_what, channel, env, code, path) => {
    const e = thrown(() => createProvider(channel, env));
    expect(e.diagnostics.map((d) => [d.code, d.path])).toContainEqual([code, path]);
  });

  it('uses only codes from the CHANNEL_CODES table', () => {
    expect(CHANNEL_CODES.map((c) => c.code)).toEqual(['HER6001', 'HER6002', 'HER6003', 'HER6004']);
  });

  it('builds a provider for each kind when the environment is complete', () => {
    const email = makeChannel('email', { kind: 'smtp', url: { env: 'SMTP_URL' } }, { from: 'Shop <news@shop.example>' });
    expect(createProvider(email, { SMTP_URL: 'smtps://u:p@mail.example' }).idempotent).toBe(false);
    expect(createProvider(sms, { SMS_URL: 'https://sms.example', SMS_TOKEN: 't' }).idempotent).toBe(true);
    expect(createProvider(makeChannel('push', { kind: 'log', path: '/tmp/x.ndjson' }), {}).idempotent).toBe(true);
  });
});
