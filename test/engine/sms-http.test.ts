// SMS over HTTP, end to end on both backends: the engine as `herald engine start` builds it (providers and
// receipt secrets from the environment), a journey sending through the `http` provider to an SMS gateway
// faked by a real HTTP server, the worker on a manual clock. The gateway's answers decide: 2xx sent, 5xx
// retried with exponential backoff (or the gateway's Retry-After), 4xx failed for good and fed to the run;
// then a signed delivery receipt posted to the engine moves the run on.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../src/channels/webhook-signature.js';
import { channelProviders, secretsFromEnv } from '../../src/cli/commands/engine.js';
import { loadProject } from '../../src/config/build-project.js';
import { manualClock, type ManualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig, status } from '../../src/engine/config-versions.js';
import { startEngine, type RunningEngine } from '../../src/engine/engine.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { BASE_PROJECT, makeProject } from '../support/project-fixture.js';
import { backendNames, rows, useBackend } from './support/backends.js';

const SEC = 1000;
const TOKEN = 'api-token';
const SMS_TOKEN = 'gateway-token';
const RECEIPT_SECRET = 'whsec-sms';

const CHANNELS = `apiVersion: herald/v1
kind: Channel
metadata: { name: sms }
spec:
  type: sms
  address: phone
  consent: sms_opt_in
  from: HeraldShop
  cost: { per: segment, amount: 0.06 }
  provider:
    kind: http
    url: { env: SMS_URL }
    token: { env: SMS_TOKEN }
    headers: { X-Account: { env: SMS_ACCOUNT } }
`;

const TEMPLATES = `apiVersion: herald/v1
kind: Template
metadata: { name: code }
spec:
  sms: "Hi {{first_name}}, your code is {{upper event.code}}"
`;

// Waits for the gateway's delivery receipt; without one within a day, gives up.
const JOURNEY = `apiVersion: herald/v1
kind: Journey
metadata: { name: sms-code }
spec:
  entry: { event: signup }
  reentry: once
  class: transactional
  steps:
    - id: text
      send: { channel: sms, template: code }
    - id: wait-delivery
      wait: { for: { message: text, status: delivered }, timeout: 1d }
      on_timeout: undelivered
      on_event: delivered
    - id: undelivered
      exit: true
    - id: delivered
      exit: true
`;

interface GatewayRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: { id: string; to: string; from?: string; text: string };
}

/** A fake SMS gateway: records each request and answers with the next scripted reply for that phone number. */
async function startGateway(): Promise<{ url: string; requests: GatewayRequest[]; script: Map<string, { status: number; body?: unknown; headers?: Record<string, string> }[]>; close(): Promise<void> }> {
  const requests: GatewayRequest[] = [];
  const script = new Map<string, { status: number; body?: unknown; headers?: Record<string, string> }[]>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GatewayRequest['body'];
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const reply = script.get(body.to)?.shift() ?? { status: 200, body: { id: `gw-${++n}` } };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/messages`,
    requests,
    script,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(backendNames())('SMS over HTTP on %s', (name) => {
  const backend = useBackend(name);
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(store: OpenedStore, clock: ManualClock) {
    const gateway = await startGateway();
    cleanup.push(gateway.close);
    const loaded = loadProject([makeProject({ 'herald.yaml': BASE_PROJECT.replace('signup: {}', 'signup: { code: string }'), 'channels.yaml': CHANNELS, 'templates.yaml': TEMPLATES, 'journey.yaml': JOURNEY })]);
    if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
    await applyConfig(store, collectConfigFiles(loaded.project), { who: 'test', project: loaded.project, clock });
    // What a user puts in the daemon's environment.
    const env = { SMS_URL: gateway.url, SMS_TOKEN, SMS_ACCOUNT: 'acct-7', HERALD_RECEIPT_SECRET_SMS: RECEIPT_SECRET };
    const engine = await startEngine({ store, token: TOKEN, port: 0, clock, logLevel: 'silent', configPollMs: 0, worker: { providers: channelProviders(env) }, ...secretsFromEnv(env) });
    cleanup.push(() => engine.close());
    return { gateway, engine };
  }

  const api = (engine: RunningEngine, route: string, body: unknown) =>
    fetch(`${engine.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  async function signup(engine: RunningEngine, clock: ManualClock, customers: { id: string; phone: string; name: string }[]) {
    const c = await api(engine, '/v1/customers', { customers: customers.map((x) => ({ id: x.id, attributes: { phone: x.phone, first_name: x.name, sms_opt_in: true } })) });
    expect(c.status).toBe(200);
    const e = await api(engine, '/v1/events', {
      events: customers.map((x) => ({ id: `signup-${x.id}`, customer_id: x.id, type: 'signup', ts: new Date(clock.now()).toISOString(), props: { code: `code-${x.id}` } })),
    });
    expect(e.status).toBe(200);
    await engine.server.settled();
    // Ingest woke the worker: its round entered the customers and sent; this tick waits for that round.
    await engine.worker!.tick();
  }

  const outbox = (store: OpenedStore, customer: string) =>
    rows<{ id: string; status: string; attempts: number; next_attempt_at: Date | null; provider_message_id: string | null; last_error: { code: string } | null }>(
      store,
      `SELECT id, status, attempts, next_attempt_at, provider_message_id, last_error FROM outbox WHERE customer_id = ?`,
      [customer],
    ).then((r) => r[0]);

  const runState = (store: OpenedStore, customer: string) =>
    rows<{ status: string; state: { step: string; visits: Record<string, number>; messages: Record<string, { status: string }> } }>(store, `SELECT status, state FROM runs WHERE customer_id = ?`, [customer]).then((r) => r[0]);

  it('sends the rendered text with the outbox id as idempotency key; a signed delivery receipt moves the run to its delivered branch', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-06-03T09:00:00Z');
    const { gateway, engine } = await setup(store, clock);
    await signup(engine, clock, [{ id: 'ada', phone: '+4915112345678', name: 'Ada' }]);

    const msg = await outbox(store, 'ada');
    expect(msg).toMatchObject({ status: 'sent', attempts: 1, provider_message_id: 'gw-1', last_error: null });
    expect(gateway.requests).toHaveLength(1);
    const [req] = gateway.requests;
    expect(req).toMatchObject({ method: 'POST', url: '/v1/messages' });
    expect(req.body).toEqual({ id: msg.id, to: '+4915112345678', from: 'HeraldShop', text: 'Hi Ada, your code is CODE-ADA' });
    expect(req.headers).toMatchObject({ 'idempotency-key': msg.id, authorization: `Bearer ${SMS_TOKEN}`, 'x-account': 'acct-7', 'content-type': 'application/json' });
    expect(await rows(store, `SELECT n, outcome, provider_message_id FROM attempts WHERE message_id = ?`, [msg.id])).toEqual([{ n: 1, outcome: 'sent', provider_message_id: 'gw-1' }]);
    expect(await runState(store, 'ada')).toMatchObject({ status: 'active', state: { step: 'wait-delivery', messages: { [msg.id]: { status: 'sent' } } } });

    // The gateway reports delivery to the engine's receipt endpoint, signed with the channel's secret.
    clock.advance(40 * SEC);
    const receipt = JSON.stringify({ id: 'dlr-1', message_id: msg.id, status: 'delivered', at: new Date(clock.now() - 5 * SEC).toISOString(), provider_message_id: 'gw-1' });
    const unsigned = await fetch(`${engine.url}/v1/receipts/sms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: receipt });
    expect(unsigned.status).toBe(401);
    const signed = await fetch(`${engine.url}/v1/receipts/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'herald-signature': signWebhookBody(receipt, RECEIPT_SECRET, clock.now()) },
      body: receipt,
    });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toEqual({ id: 'dlr-1', message_id: msg.id, status: 'inserted' });

    expect((await engine.worker!.tick()).receipts).toMatchObject({ receipts: 1, applied: 1 });
    const done = await runState(store, 'ada');
    expect(done).toMatchObject({ status: 'exited', state: { messages: { [msg.id]: { status: 'delivered' } } } });
    // The delivered branch, not the timeout's.
    expect(done.state.visits).toEqual({ text: 1, 'wait-delivery': 1, delivered: 1 });
    expect(gateway.requests).toHaveLength(1);
  });

  it('retries a 5xx with exponential backoff (longer when the gateway says Retry-After) and fails a 4xx for good', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-06-03T09:00:00Z');
    const { gateway, engine } = await setup(store, clock);
    gateway.script.set('+4915100000001', [
      { status: 503, body: { error: 'busy' } },
      { status: 502, body: { error: 'upstream' }, headers: { 'retry-after': '300' } },
    ]);
    gateway.script.set('+4915100000002', [{ status: 400, body: { error: 'invalid number' } }]);
    await signup(engine, clock, [
      { id: 'bob', phone: '+4915100000001', name: 'Bob' },
      { id: 'cy', phone: '+4915100000002', name: 'Cy' },
    ]);
    const start = clock.now();

    const bob1 = await outbox(store, 'bob');
    expect(bob1).toMatchObject({ status: 'queued', attempts: 1, next_attempt_at: new Date(start + 30 * SEC), last_error: { code: 'http_503' } });
    const cy = await outbox(store, 'cy');
    expect(cy).toMatchObject({ status: 'failed', attempts: 1, last_error: { code: 'http_400' } });
    expect(await rows(store, `SELECT outcome FROM attempts WHERE message_id = ?`, [cy.id])).toEqual([{ outcome: 'failed_permanent' }]);
    // The failure reached Cy's run: its message is failed (the wait for delivery will time out).
    expect((await runState(store, 'cy')).state.messages[cy.id].status).toBe('failed');

    // Not yet due: nothing is sent.
    clock.advance(29 * SEC);
    expect((await engine.worker!.tick()).outbox.claimed).toBe(0);
    // Due: the second attempt gets a 502 with Retry-After: 300 s, longer than the 60 s backoff.
    clock.advance(1 * SEC);
    expect((await engine.worker!.tick()).outbox).toMatchObject({ claimed: 1, retried: 1 });
    const bob2 = await outbox(store, 'bob');
    expect(bob2).toMatchObject({ status: 'queued', attempts: 2, next_attempt_at: new Date(clock.now() + 300 * SEC), last_error: { code: 'http_502' } });
    clock.advance(300 * SEC);
    expect((await engine.worker!.tick()).outbox).toMatchObject({ claimed: 1, sent: 1 });
    expect(await outbox(store, 'bob')).toMatchObject({ status: 'sent', attempts: 3, provider_message_id: 'gw-1' });

    // Every attempt carried the same message id, in the body and as Idempotency-Key: the gateway deduplicates.
    const bobRequests = gateway.requests.filter((r) => r.body.to === '+4915100000001');
    expect(bobRequests.map((r) => [r.body.id, r.headers['idempotency-key']])).toEqual(Array(3).fill([bob1.id, bob1.id]));
    expect(gateway.requests.filter((r) => r.body.to === '+4915100000002')).toHaveLength(1);
    expect(await rows(store, `SELECT n, outcome, error ->> 'code' AS code FROM attempts WHERE message_id = ? ORDER BY n`, [bob1.id])).toEqual([
      { n: 1, outcome: 'failed_retryable', code: 'http_503' },
      { n: 2, outcome: 'failed_retryable', code: 'http_502' },
      { n: 3, outcome: 'sent', code: null },
    ]);

    // herald status sees it: 1 sent, 1 failed, 2 retried in the last hour (2 of 4 did not send: failing).
    expect((await status(store, { clock })).channels).toEqual([
      expect.objectContaining({
        channel: 'sms',
        verdict: 'failing',
        lastHour: { sent: 1, failed: 1, retried: 2, ambiguous: 0 },
        queued: 0,
        lastError: { at: new Date(start + 30 * SEC), code: 'http_502', message: expect.stringContaining('HTTP 502') },
      }),
    ]);
  });
});
