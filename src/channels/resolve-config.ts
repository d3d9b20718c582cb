// From a Channel's ProviderSpec and the environment to the settings one provider kind needs, with every problem
// collected as a diagnostic (STYLE habit 1). Secrets arrive only as `{ env: NAME }` references (the config layer
// rejects inline ones, HER4022); their values are read here, at start-up, and never appear in a message.
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { ChannelDef, ChannelType, ProviderSpec, StringOrEnv } from '../config/model.js';
import { CHANNEL_CODE, type ChannelCode } from './codes.js';
import type { ProviderOptions } from './provider.js';

interface Common {
  /** Channel name, for messages. */
  channel: string;
  channelType: ChannelType;
}

export type ProviderConfig =
  | (Common & { kind: 'smtp'; url: string; password?: string; from: string })
  | (Common & { kind: 'http'; url: string; token?: string; from?: string; headers: Record<string, string> })
  | (Common & { kind: 'webhook'; url: string; secret: string; token?: string; headers: Record<string, string>; idempotent: boolean })
  | (Common & { kind: 'webpush'; subject: string; publicKey: string; privateKey: string })
  | (Common & { kind: 'log'; path: string });

/** Which channel types each provider kind can send; `log` writes anything. */
const SENDS: Record<ProviderSpec['kind'], readonly ChannelType[]> = {
  smtp: ['email'],
  http: ['sms'],
  webpush: ['push'],
  webhook: ['webhook'],
  log: ['email', 'sms', 'push', 'webhook'],
};

export function resolveProviderConfig(
  channel: ChannelDef,
  env: NodeJS.ProcessEnv,
  options: ProviderOptions = {},
): { config?: ProviderConfig; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const spec = channel.provider;
  const name = channel.meta.name;
  const report = (code: ChannelCode, field: string, message: string, hint?: string) => {
    const { file, line, column } = channel.meta.location;
    diagnostics.push({
      code,
      severity: 'error',
      message: `channel '${name}': ${message}`,
      file,
      line,
      column,
      path: `/spec/${field.replace(/\./g, '/')}`,
      ...(hint ? { hint } : {}),
    });
  };
  /** The value of a setting, read from the environment when it is a reference; undefined (reported) when absent. */
  const read = (field: string, value: StringOrEnv | undefined, required: boolean): string | undefined => {
    if (value === undefined) {
      if (required) report(CHANNEL_CODE.settingMissing, field, `${spec.kind} provider needs ${field}`, `add ${field} to the Channel document`);
      return undefined;
    }
    if (typeof value === 'string') return value;
    const found = env[value.env];
    if (found === undefined || found === '') {
      report(CHANNEL_CODE.envMissing, field, `environment variable ${value.env} (${field}) is not set`, `set ${value.env} where the engine runs`);
      return undefined;
    }
    return found;
  };
  const readUrl = (field: string, value: StringOrEnv | undefined, schemes: readonly string[]): string | undefined => {
    const url = read(field, value, true);
    if (url === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      // The value may come from a secret: say where it came from, never what it is.
      report(CHANNEL_CODE.settingInvalid, field, `${field} is not a valid URL`);
      return undefined;
    }
    if (!schemes.includes(parsed.protocol)) {
      report(CHANNEL_CODE.settingInvalid, field, `${field} must be a ${schemes.map((s) => s.replace(':', '://')).join(' or ')} URL, not ${parsed.protocol}//`);
      return undefined;
    }
    return url;
  };
  const readHeaders = (): Record<string, string> => {
    const headers: Record<string, string> = {};
    for (const [header, value] of Object.entries(spec.headers)) {
      const v = read(`provider.headers.${header}`, value, true);
      if (v === undefined) continue;
      try {
        new Headers({ [header]: v });
        headers[header] = v;
      } catch {
        report(CHANNEL_CODE.settingInvalid, `provider.headers.${header}`, `header '${header}' has an invalid name or value`);
      }
    }
    return headers;
  };

  if (!SENDS[spec.kind].includes(channel.type)) {
    const fits = (Object.keys(SENDS) as ProviderSpec['kind'][]).filter((k) => k !== 'log' && SENDS[k].includes(channel.type));
    report(CHANNEL_CODE.kindMismatch, 'provider.kind', `a ${spec.kind} provider cannot send ${channel.type} messages`, `use kind: ${fits.join(' or ')} (or log)`);
    return { diagnostics };
  }

  const common: Common = { channel: name, channelType: channel.type };
  let config: ProviderConfig | undefined;
  switch (spec.kind) {
    case 'smtp': {
      const url = readUrl('provider.url', spec.url, ['smtp:', 'smtps:']);
      const password = spec.password ? read('provider.password', spec.password, true) : undefined;
      if (url !== undefined && spec.password && new URL(url).username === '') {
        report(CHANNEL_CODE.settingMissing, 'provider.url', 'provider.password is set but provider.url names no user', 'write the user into the URL: smtp://user@host:587');
      }
      const from = channel.from;
      if (from === undefined) report(CHANNEL_CODE.settingMissing, 'from', 'an email channel needs from: (the sender address)', 'add from: "Shop <news@shop.example>"');
      else if (!/@[^@\s>]+>?\s*$/.test(from)) report(CHANNEL_CODE.settingInvalid, 'from', `from '${from}' is not an email address`);
      if (url !== undefined && from !== undefined) config = { ...common, kind: 'smtp', url, from, ...(password !== undefined ? { password } : {}) };
      break;
    }
    case 'http': {
      const url = readUrl('provider.url', spec.url, ['https:', 'http:']);
      const token = spec.token ? read('provider.token', spec.token, true) : undefined;
      const headers = readHeaders();
      if (url !== undefined) {
        config = { ...common, kind: 'http', url, headers, ...(token !== undefined ? { token } : {}), ...(channel.from !== undefined ? { from: channel.from } : {}) };
      }
      break;
    }
    case 'webhook': {
      const url = readUrl('provider.url', spec.url, ['https:', 'http:']);
      const secret = read('provider.secret', spec.secret, true);
      const token = spec.token ? read('provider.token', spec.token, true) : undefined;
      const headers = readHeaders();
      if (url !== undefined && secret !== undefined) {
        config = { ...common, kind: 'webhook', url, secret, headers, idempotent: spec.idempotent, ...(token !== undefined ? { token } : {}) };
      }
      break;
    }
    case 'webpush': {
      const publicKey = read('provider.vapid_public_key', spec.vapidPublicKey, true);
      const privateKey = read('provider.vapid_private_key', spec.vapidPrivateKey, true);
      const subject = spec.vapidSubject;
      if (subject === undefined) {
        report(CHANNEL_CODE.settingMissing, 'provider.vapid_subject', 'webpush provider needs provider.vapid_subject', 'a mailto: or https: URL push services can reach you at, e.g. mailto:ops@shop.example');
      } else if (!/^(mailto:|https:\/\/)/.test(subject)) {
        report(CHANNEL_CODE.settingInvalid, 'provider.vapid_subject', `vapid_subject must be a mailto: or https: URL`);
      }
      const b64url = /^[A-Za-z0-9_-]+$/;
      if (publicKey !== undefined && !(b64url.test(publicKey) && Buffer.from(publicKey, 'base64url').length === 65)) {
        report(CHANNEL_CODE.settingInvalid, 'provider.vapid_public_key', 'the VAPID public key must be an uncompressed P-256 point, URL-safe base64 without padding (65 bytes)', 'generate a pair with `npx web-push generate-vapid-keys`');
      }
      if (privateKey !== undefined && !(b64url.test(privateKey) && Buffer.from(privateKey, 'base64url').length === 32)) {
        report(CHANNEL_CODE.settingInvalid, 'provider.vapid_private_key', 'the VAPID private key must be 32 bytes, URL-safe base64 without padding');
      }
      if (diagnostics.length === 0 && publicKey && privateKey && subject) config = { ...common, kind: 'webpush', subject, publicKey, privateKey };
      break;
    }
    case 'log': {
      if (spec.path === undefined) report(CHANNEL_CODE.settingMissing, 'provider.path', 'log provider needs provider.path', 'add path: .herald/outbox.ndjson');
      else config = { ...common, kind: 'log', path: path.resolve(options.baseDir ?? process.cwd(), spec.path) };
      break;
    }
  }
  return diagnostics.length > 0 ? { diagnostics } : { config, diagnostics };
}
