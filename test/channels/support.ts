// Real parts for the channel tests: an SMTP server (smtp-server), an HTTP server (node:http), both on 127.0.0.1
// with an ephemeral port, and the fixtures that build a Channel and a message.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ChannelDef, ChannelType, ProviderSpec } from '../../src/config/model.js';
import type { OutgoingMessage, RenderedForChannel } from '../../src/channels/provider.js';

export function makeChannel(type: ChannelType, provider: Partial<ProviderSpec> & { kind: ProviderSpec['kind'] }, extra: Partial<ChannelDef> = {}): ChannelDef {
  return {
    meta: {
      kind: 'Channel',
      name: type,
      labels: {},
      previousNames: [],
      location: { file: 'campaigns/channels.yaml', line: 3, column: 1 },
      fingerprint: '',
    },
    type,
    address: type === 'email' ? 'email' : type === 'sms' ? 'phone' : 'push_subscription',
    cost: { per: 'message', amount: 0 },
    provider: { idempotent: false, headers: {}, ...provider },
    simulate: { delivered: 1, opened: 0, clicked: 0, latencyMs: 0 },
    paid: false,
    ...extra,
  };
}

export function makeMessage(channel: ChannelDef, rendered: RenderedForChannel, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { id: 'out-0001', customerId: 'c-42', to: 'ada@example.com', channel, rendered, class: 'service', ...extra };
}

// ---- SMTP --------------------------------------------------------------------------------------------------

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  raw: string;
}

export interface SmtpFixture {
  port: number;
  received: ReceivedMail[];
  close(): Promise<void>;
}

type Reject = { at: 'rcpt' | 'data'; code: number; message: string } | { at: 'data'; hang: true };

/** An SMTP server on 127.0.0.1:0 that stores every message; `reject` makes it refuse (or never answer DATA). */
export async function startSmtpServer(opts: { reject?: Reject; users?: Record<string, string> } = {}): Promise<SmtpFixture> {
  const received: ReceivedMail[] = [];
  const refusal = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
  const options: SMTPServerOptions = {
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 50,
    onAuth(auth, _session, callback) {
      if (opts.users && opts.users[auth.username ?? ''] === auth.password) callback(null, { user: auth.username });
      else callback(refusal(535, 'Authentication failed'));
    },
    onRcptTo(_address, _session, callback) {
      const r = opts.reject;
      if (r && 'code' in r && r.at === 'rcpt') callback(refusal(r.code, r.message));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const r = opts.reject;
        if (r && 'hang' in r) return; // the message arrived; the answer never comes
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((a) => a.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        if (r && 'code' in r && r.at === 'data') callback(refusal(r.code, r.message));
        else callback(null, 'Ok: queued as 4XQ2Z');
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Raw message → headers (unfolded, lower-case names) and body. */
export function parseMail(raw: string): { headers: Map<string, string[]>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string[]>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { headers, body: raw.slice(split + 4) };
}

// ---- HTTP --------------------------------------------------------------------------------------------------

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpFixture {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0; `respond` answers each request after its body arrived (or never, if it returns). */
export async function startHttpServer(respond: (req: ReceivedRequest, res: http.ServerResponse) => void): Promise<HttpFixture> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      respond(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says a word (an SMTP server that never greets). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
