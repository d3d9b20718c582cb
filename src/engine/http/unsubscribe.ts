// One-click unsubscribe (RFC 8058) and a minimal preference page (DESIGN §6).
//
//   List-Unsubscribe: <https://engine.example/u/TOKEN>
//   List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// `POST /u/:token` with the body `List-Unsubscribe=One-Click` appends a consent row (granted = false,
// source 'list-unsubscribe') for the customer and channel named in the token. `GET /u/:token` only shows a
// page whose form POSTs that body: a GET never changes state (link scanners and prefetchers follow GETs).
//
// Token: base64url("<customer_id>|<channel>|<message_id>") "." base64url(HMAC-SHA256(first part, secret)).
// Each of the three parts is percent-encoded (encodeURIComponent) before joining, so a '|' inside an id
// cannot shift the fields.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Clock } from '../clock.js';
import { ENGINE_CODE } from '../codes.js';
import type { Store } from '../store/open-store.js';
import type { ReceiptProblem } from './receipts.js';

export interface UnsubscribeTarget {
  customerId: string;
  channel: string;
  messageId: string;
}

function sign(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/** The token for the unsubscribe link of one message (the sender puts `${base}/u/${token}` in the header). */
export function unsubscribeToken(target: UnsubscribeTarget, secret: string): string {
  const payload = Buffer.from([target.customerId, target.channel, target.messageId].map(encodeURIComponent).join('|'), 'utf8').toString('base64url');
  return `${payload}.${sign(payload, secret)}`;
}

/** The target of a token whose signature matches, else undefined. */
export function verifyUnsubscribeToken(token: string, secret: string): UnsubscribeTarget | undefined {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return undefined;
  const expected = Buffer.from(sign(m[1], secret), 'base64url');
  const given = Buffer.from(m[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const parts = Buffer.from(m[1], 'base64url').toString('utf8').split('|');
  if (parts.length !== 3) return undefined;
  try {
    const [customerId, channel, messageId] = parts.map(decodeURIComponent);
    if (!customerId || !channel) return undefined;
    return { customerId, channel, messageId };
  } catch {
    return undefined;
  }
}

export interface UnsubscribeRoutesOptions {
  store: Store;
  clock: Clock;
  secret: string;
  refuse: (reply: FastifyReply, status: number, problems: readonly ReceiptProblem[]) => FastifyReply;
}

export async function registerUnsubscribeRoutes(app: FastifyInstance, options: UnsubscribeRoutesOptions): Promise<void> {
  await app.register(async (scope) => {
    // RFC 8058 senders post application/x-www-form-urlencoded or multipart/form-data: take any body as text.
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    const target = (token: string, reply: FastifyReply) => {
      const t = verifyUnsubscribeToken(token, options.secret);
      if (!t) options.refuse(reply, 404, [{ code: ENGINE_CODE.badUnsubscribeToken, message: 'this unsubscribe link is not valid', field: 'params.token' }]);
      return t;
    };

    scope.get<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
      const t = target(request.params.token, reply);
      if (!t) return reply;
      const action = `/u/${encodeURIComponent(request.params.token)}`;
      const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Unsubscribe</title></head>
<body><main>
<h1>Unsubscribe</h1>
<p>Stop receiving ${escapeHtml(t.channel)} messages from us?</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
</main></body></html>
`;
      return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });

    scope.post<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
      const t = target(request.params.token, reply);
      if (!t) return reply;
      const body = typeof request.body === 'string' ? request.body : '';
      if (!isOneClick(body)) {
        return options.refuse(reply, 400, [{ code: ENGINE_CODE.notOneClick, message: 'the body must be List-Unsubscribe=One-Click', field: 'body' }]);
      }
      const now = options.clock.now();
      const ua = request.headers['user-agent'];
      const evidence = { message_id: t.messageId, user_agent: typeof ua === 'string' ? ua : null, at: new Date(now).toISOString() };
      // Consent is append-only evidence: a repeated POST adds another withdrawal, which changes nothing.
      await options.store.db.raw(
        `INSERT INTO consents (customer_id, id, channel, granted, source, evidence, at, recorded_at) VALUES (?, ?, ?, false, 'list-unsubscribe', ?::jsonb, ?, ?)`,
        [t.customerId, `unsub-${randomUUID()}`, t.channel, JSON.stringify(evidence), new Date(now), new Date(now)],
      );
      if ((request.headers.accept ?? '').includes('text/html')) {
        return reply.header('content-type', 'text/html; charset=utf-8').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head><body><p>You are unsubscribed.</p></body></html>\n');
      }
      return reply.send({ status: 'unsubscribed', channel: t.channel });
    });
  });
}

/** `List-Unsubscribe=One-Click` as urlencoded or multipart form data. */
function isOneClick(body: string): boolean {
  if (new URLSearchParams(body.trim()).get('List-Unsubscribe') === 'One-Click') return true;
  return /name="List-Unsubscribe"\r?\n\r?\nOne-Click\r?\n/.test(body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
