// The one interface the engine sends through (DESIGN §6), and the factory that builds a provider from a Channel and
// the environment. Providers never throw for what happens to a message: every outcome is a SendResult the engine
// switches over (STYLE habit 3). Only set-up problems throw, once, at start-up (ProviderConfigError, HER6xxx).
import { assertNever, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ChannelDef, MessageClass } from '../config/model.js';
import type { RenderedEmail, RenderedPush, RenderedSms, RenderedWebhook } from '../templates/template.js';
import { createHttpSmsProvider } from './http-sms.js';
import { createLogProvider } from './log.js';
import { resolveProviderConfig } from './resolve-config.js';
import { createSmtpProvider } from './smtp.js';
import { createWebPushProvider } from './web-push.js';
import { createWebhookProvider } from './webhook.js';

/**
 * What became of one attempt.
 * - `sent`: the provider accepted the message (not the same as delivered: receipts say that).
 * - `failed`: the provider refused it or could not be reached, and did not take it. `retryable` says whether the
 *   same message may succeed later; `retryAfterMs` is the provider's own hint (HTTP Retry-After), when it gave one.
 * - `ambiguous`: the attempt broke after the whole request may have reached the provider (a timeout after the SMTP
 *   message or the HTTP body was written). Resending may duplicate the message unless the provider is idempotent.
 */
export type SendResult =
  | { kind: 'sent'; providerMessageId?: string; at: number }
  | { kind: 'failed'; retryable: boolean; code: string; message: string; retryAfterMs?: number }
  | { kind: 'ambiguous'; message: string; code?: string };

export type RenderedForChannel = RenderedEmail | RenderedPush | RenderedSms | RenderedWebhook;

export interface OutgoingMessage {
  /** The outbox row id: the idempotency key every provider passes on. */
  id: string;
  customerId: string;
  /** The value of the channel's address attribute: email, phone, JSON PushSubscription, … */
  to: string;
  channel: ChannelDef;
  rendered: RenderedForChannel;
  /** Link for the body and, without unsubscribePostUrl, for List-Unsubscribe. */
  unsubscribeUrl?: string;
  /** RFC 8058 one-click endpoint (HTTPS, takes POST `List-Unsubscribe=One-Click`). */
  unsubscribePostUrl?: string;
  /** Optional `mailto:` URI (or bare address) added to List-Unsubscribe for clients that only mail. */
  unsubscribeMailto?: string;
  class: MessageClass;
}

export interface ChannelProvider {
  /** Whether the provider itself deduplicates by the message id, so an ambiguous attempt may be resent safely. */
  readonly idempotent: boolean;
  /** One attempt. Never rejects; `signal` aborts it (an abort after the request was written is `ambiguous`). */
  send(msg: OutgoingMessage, signal?: AbortSignal): Promise<SendResult>;
  /** Refuses new sends (failed, retryable, `provider_closed`) and waits for the ones in flight. */
  close(): Promise<void>;
}

export interface ProviderOptions {
  /** Clock in epoch ms for `sent.at`, webhook signature timestamps and Retry-After dates. Default Date.now. */
  now?: () => number;
  /**
   * Per attempt, in ms. HTTP providers: the whole exchange (default 10 s). SMTP: each of connecting, waiting for
   * the greeting and any silence of the server within the session (default 60 s).
   */
  timeoutMs?: number;
  /** Directory a relative `provider.path` of the log provider is resolved against. Default process.cwd(). */
  baseDir?: string;
  /** Accept `http:` push endpoints (tests, a local push relay). Default false: browsers only hand out https. */
  allowHttpPushEndpoints?: boolean;
  /** Web push TTL: how long the push service keeps an undelivered message, in seconds. Default 86 400. */
  pushTtlSeconds?: number;
}

/** Set-up problems of one channel's provider; `diagnostics` holds every one, not only the first. */
export class ProviderConfigError extends Error {
  readonly code: string;

  constructor(
    readonly channel: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super(diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
    this.name = 'ProviderConfigError';
    this.code = diagnostics[0]?.code ?? 'HER6002';
  }
}

/** Every set-up problem of the channel's provider in this environment, without building it (for `engine start`). */
export function checkProviderConfig(channel: ChannelDef, env: NodeJS.ProcessEnv, options: ProviderOptions = {}): Diagnostic[] {
  return resolveProviderConfig(channel, env, options).diagnostics;
}

/**
 * Build the provider for a channel, reading `{ env: NAME }` secrets from `env`. Throws ProviderConfigError
 * (HER6001 for an unset variable, HER6002–HER6004 for the settings) before anything is sent.
 */
export function createProvider(channel: ChannelDef, env: NodeJS.ProcessEnv, options: ProviderOptions = {}): ChannelProvider {
  const { config, diagnostics } = resolveProviderConfig(channel, env, options);
  if (!config || diagnostics.length > 0) throw new ProviderConfigError(channel.meta.name, diagnostics);
  switch (config.kind) {
    case 'smtp':
      return createSmtpProvider(config, options);
    case 'http':
      return createHttpSmsProvider(config, options);
    case 'webhook':
      return createWebhookProvider(config, options);
    case 'webpush':
      return createWebPushProvider(config, options);
    case 'log':
      return createLogProvider(config, options);
    default:
      return assertNever(config, 'provider kind');
  }
}
