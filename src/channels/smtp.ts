// Email through SMTP with nodemailer. Not idempotent: an SMTP server has no idempotency key, so a resent message is
// a second message. The Message-ID is derived from the outbox id (`<id@herald>`), so a resend, a bounce or a
// feedback report can be traced back to its outbox row.
//
// Failure classification (RFC 5321 §4.2.1): a 4yz reply is transient (retryable), a 5yz reply permanent, except 503
// (bad sequence: the session, not the message, was refused). Errors without a reply are read by where the session
// was: before the message's final dot (connection refused, DNS, greeting or command timeout, TLS) nothing was
// delivered and the attempt is retryable; after the dot, a timeout or a dropped connection leaves the server's
// decision unknown (RFC 1047's duplicate-message problem), so the result is `ambiguous`.
//
// Where the session was is not part of nodemailer's errors; its connection logs `tnx: 'message'` when the data stream
// (ending in the final dot) has been written, so each send gets its own transport with a logger that notes it. A
// non-pooled nodemailer transport opens one connection per message anyway, so this costs nothing.
import nodemailer from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import { errorText, failed, InFlight } from './in-flight.js';
import type { ChannelProvider, OutgoingMessage, ProviderOptions, SendResult } from './provider.js';
import type { ProviderConfig } from './resolve-config.js';

type SmtpConfig = Extract<ProviderConfig, { kind: 'smtp' }>;

/**
 * The Message-ID of an outbox row's email. Characters outside RFC 5322's dot-atom text, and `=` itself (the escape,
 * so the mapping stays one-to-one), are written as `=XX` per UTF-8 byte; so are dots a dot-atom cannot hold.
 */
export function messageIdFor(outboxId: string): string {
  const local = outboxId.replace(/[^A-Za-z0-9!#$%&'*+/?^_`{|}~.-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return `<${local.replace(/^\.|\.$|\.(?=\.)/g, '=2E')}@herald>`;
}

/**
 * RFC 2369 / RFC 8058 headers of a marketing email: `List-Unsubscribe: <https://…>, <mailto:…>` and, when the URL
 * is HTTPS (RFC 8058 §3.1 requires it), `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. Undefined when the
 * message has neither a URL nor a mailto.
 */
export function listUnsubscribeHeaders(msg: Pick<OutgoingMessage, 'unsubscribeUrl' | 'unsubscribePostUrl' | 'unsubscribeMailto'>): Record<string, string> | undefined {
  const url = msg.unsubscribePostUrl ?? msg.unsubscribeUrl;
  const mailto = msg.unsubscribeMailto === undefined ? undefined : msg.unsubscribeMailto.startsWith('mailto:') ? msg.unsubscribeMailto : `mailto:${msg.unsubscribeMailto}`;
  const entries = [url, mailto].filter((x): x is string => x !== undefined).map((x) => `<${x.replace(/[\r\n<>]/g, '')}>`);
  if (entries.length === 0) return undefined;
  const headers: Record<string, string> = { 'List-Unsubscribe': entries.join(', ') };
  if (url !== undefined && url.startsWith('https://')) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  return headers;
}

export function createSmtpProvider(config: SmtpConfig, options: ProviderOptions = {}): ChannelProvider {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 60_000;
  // `?pool=true` in the URL is dropped: each send needs its own connection (see the top of this file).
  const { pool: _pool, ...connection } = parseConnectionUrl(config.url) as ReturnType<typeof parseConnectionUrl> & { pool?: unknown };
  const auth = config.password !== undefined ? { user: connection.auth?.user ?? '', pass: config.password } : connection.auth;
  const inFlight = new InFlight();

  const attempt = async (msg: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> => {
    const r = msg.rendered;
    if (r.channel !== 'email') return failed(false, 'wrong_message_type', `the smtp provider sends email, not ${r.channel}`);
    if (r.html === undefined && r.text === undefined) return failed(false, 'empty_message', 'the email has neither an html nor a text body');
    if (msg.to.trim() === '') return failed(false, 'invalid_address', 'the customer has no email address');
    const list = msg.class === 'marketing' ? listUnsubscribeHeaders(msg) : undefined;
    if (msg.class === 'marketing' && list === undefined) {
      return failed(false, 'missing_unsubscribe', 'a marketing email must carry List-Unsubscribe (RFC 8058); the message has no unsubscribe URL');
    }

    let messageWritten = false;
    const quiet = () => undefined;
    const logger = {
      trace: quiet,
      debug: quiet,
      warn: quiet,
      error: quiet,
      fatal: quiet,
      info: (entry: unknown) => {
        if ((entry as { tnx?: unknown } | null)?.tnx === 'message') messageWritten = true;
      },
    };
    const transport = nodemailer.createTransport({
      ...connection,
      auth,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      logger,
    });
    try {
      const info = await transport.sendMail({
        from: config.from,
        to: msg.to,
        subject: r.subject,
        ...(r.text !== undefined ? { text: r.text } : {}),
        ...(r.html !== undefined ? { html: r.html } : {}),
        messageId: messageIdFor(msg.id),
        date: new Date(now()),
        headers: { ...list },
        ...(signal ? { signal } : {}),
      });
      return { kind: 'sent', providerMessageId: info.serverMessageId ?? info.messageId, at: now() };
    } catch (e) {
      return classifySmtpError(e, messageWritten);
    } finally {
      transport.close();
    }
  };

  return {
    idempotent: false,
    send: (msg, signal) => inFlight.run(() => attempt(msg, signal)),
    close: () => inFlight.close(),
  };
}

interface SmtpError {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  permanent?: boolean;
  response?: string;
  timeoutType?: string;
}

/** How a nodemailer error reads as a SendResult; `messageWritten`: the final dot had been sent. */
export function classifySmtpError(e: unknown, messageWritten: boolean): SendResult {
  const err = (typeof e === 'object' && e !== null ? e : {}) as SmtpError;
  const text = errorText(e);
  if (typeof err.responseCode === 'number' && err.responseCode >= 400) {
    // The server answered: it decided, even after the message was written.
    const permanent = err.permanent ?? (err.responseCode >= 500 && err.responseCode !== 503);
    return failed(!permanent, `smtp_${err.responseCode}`, text);
  }
  const lost = (code: string): SendResult =>
    messageWritten
      ? { kind: 'ambiguous', code, message: `${text} after the message was written; the server may have accepted it` }
      : failed(true, code, text);
  switch (err.code) {
    case 'EABORT':
      return lost('aborted');
    case 'ETIMEDOUT':
      return lost('timeout');
    case 'ECONNECTION':
    case 'ESOCKET':
      return lost(err.originalCode === 'ECONNREFUSED' ? 'connection_refused' : 'connection_lost');
    case 'EDNS':
      return failed(true, 'dns', text);
    case 'ETLS':
    case 'EREQUIRETLS':
      return failed(true, 'tls', text);
    case 'EPROXY':
      return failed(true, 'proxy', text);
    case 'EAUTH':
    case 'ENOAUTH':
      return failed(false, 'auth', text);
    case 'EENVELOPE':
      return failed(false, 'invalid_address', text);
    case 'EMESSAGE':
    case 'ESTREAM':
    case 'ECONFIG':
      return failed(false, err.code.toLowerCase(), text);
    default:
      return lost('smtp_error');
  }
}
