// Signed delivery receipts on both backends: the signature check, dedupe by (channel, provider event id),
// input errors with code and field, and the worker feeding receipts to runs (the welcome journey's
// `opened` branch; out-of-order and repeated receipts never move a message backwards).
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelProvider } from '../../src/channels/index.js';
import { signWebhookBody } from '../../src/channels/webhook-signature.js';
import { loadProject } from '../../src/config/build-project.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock, type ManualClock } from '../../src/engine/clock.js';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { buildServer, type EngineServer } from '../../src/engine/http/build-server.js';
import { insertReceipts } from '../../src/engine/http/receipts.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { processReceipts } from '../../src/engine/worker/process-receipts.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';
import { makeProject } from '../support/project-fixture.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SECRET = 'whsec-email';
const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
const project = loaded.project;
const welcome = project.journeys.get('welcome')!;
const treated = Array.from({ length: 50 }, (_, i) => `cust-${i}`).filter((id) => !isHeldOut(welcome, id));

const okProvider = { idempotent: true, send: async () => ({ kind: 'sent', providerMessageId: 'p-1', at: 0 }), close: async () => {} } as unknown as ChannelProvider;

async function setup(store: OpenedStore, clock: ManualClock, ids: readonly string[]) {
  await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
  await upsertCustomers(
    store.db,
    ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } })),
    clock.now(),
  );
}

describe.each(backendNames())('receipts on %s', (name) => {
  const backend = useBackend(name);
  const servers: EngineServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(store: OpenedStore, clock: ManualClock) {
    const app = await buildServer({ store, token: 'tok', clock, logLevel: 'silent', receiptSecrets: { email: SECRET } });
    servers.push(app);
    return app;
  }

  /** The customer signed up and the worker sent the welcome email (the message receipts are about). */
  async function welcomeSent(store: OpenedStore, clock: ManualClock, customer: string) {
    await setup(store, clock, [customer]);
    const app = await serve(store, clock);
    const projects = storeProjectLoader(store);
    const worker = startWorker({ store, projects, clock, providers: () => okProvider });
    await insertEvents(store.db, [{ customerId: customer, id: 'evt-1', type: 'signup', ts: clock.now(), props: {} }], clock.now());
    await worker.tick();
    const [hello] = await rows<{ id: string }>(store, `SELECT id FROM outbox`);
    return { app, projects, worker, hello };
  }

  const postReceipt = (app: EngineServer, clock: ManualClock, body: unknown, opts: { secret?: string; signature?: string | null; channel?: string; signedAt?: number } = {}) => {
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const sig = opts.signature === undefined ? signWebhookBody(raw, opts.secret ?? SECRET, opts.signedAt ?? clock.now()) : opts.signature;
    if (sig !== null) headers['herald-signature'] = sig;
    return app.inject({ method: 'POST', url: `/v1/receipts/${opts.channel ?? 'email'}`, payload: raw, headers });
  };

  it('accepts a signed receipt without a bearer token, refuses bad signatures with 401, stores a repeat once', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const app = await serve(store, clock);
    const receipt = { id: 'ev-1', message_id: 'm-1', status: 'delivered', at: '2024-03-04T09:59:00Z' };

    const ok = await postReceipt(app, clock, receipt);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ id: 'ev-1', message_id: 'm-1', status: 'inserted' });
    const again = await postReceipt(app, clock, receipt);
    expect(again.json()).toMatchObject({ status: 'duplicate' });
    const batch = await postReceipt(app, clock, { receipts: [receipt, { ...receipt, id: 'ev-2', status: 'opened' }] });
    expect(batch.json()).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(await rows(store, `SELECT provider_event_id, status, processed_at FROM receipts ORDER BY provider_event_id`)).toEqual([
      { provider_event_id: 'ev-1', status: 'delivered', processed_at: null },
      { provider_event_id: 'ev-2', status: 'opened', processed_at: null },
    ]);

    for (const opts of [{ signature: null }, { secret: 'wrong' }, { signature: 't=1,v1=zz' }, { signedAt: clock.now() - 10 * 60_000 }]) {
      const res = await postReceipt(app, clock, { ...receipt, id: 'ev-bad' }, opts);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatchObject({ code: ENGINE_CODE.badSignature, field: 'headers.herald-signature' });
    }
    // A body changed after signing does not match.
    const raw = JSON.stringify({ ...receipt, id: 'ev-bad' });
    const tampered = await app.inject({
      method: 'POST',
      url: '/v1/receipts/email',
      payload: raw.replace('delivered', 'clicked'),
      headers: { 'content-type': 'application/json', 'herald-signature': signWebhookBody(raw, SECRET, clock.now()) },
    });
    expect(tampered.statusCode).toBe(401);
    expect((await postReceipt(app, clock, receipt, { channel: 'sms' })).json().error.code).toBe(ENGINE_CODE.noReceiptSecret);

    const bad = await postReceipt(app, clock, { id: 'ev-3', message_id: 'm-1', status: 'read', at: 'yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toEqual({ code: ENGINE_CODE.invalidValue, message: expect.any(String), field: 'status' });
    expect(bad.json().errors[1]).toMatchObject({ code: ENGINE_CODE.invalidTimestamp, field: 'at' });
    const missing = await postReceipt(app, clock, { receipts: [{ id: 'ev-4', status: 'opened', at: clock.now() }] });
    expect(missing.json().error).toMatchObject({ code: ENGINE_CODE.missingField, field: 'receipts[0].message_id' });
    expect(await count(store, 'receipts')).toBe(2);

    // The other routes still need the bearer token.
    expect((await app.inject({ method: 'POST', url: '/v1/events', payload: {} })).statusCode).toBe(401);
  });

  it('an opened receipt takes the welcome run to its opened branch: no reminder, the nudge 3 days later; a late delivered keeps opened', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const customer = treated[0];
    await setup(store, clock, [customer]);
    const app = await serve(store, clock);
    const projects = storeProjectLoader(store);
    const worker = startWorker({ store, projects, clock, providers: () => okProvider });
    await insertEvents(store.db, [{ customerId: customer, id: 'evt-1', type: 'signup', ts: clock.now(), props: {} }], clock.now());
    expect((await worker.tick()).outbox).toMatchObject({ sent: 1 });
    const [hello] = await rows<{ id: string; customer_id: string }>(store, `SELECT id, customer_id FROM outbox`);

    clock.advance(HOUR);
    const openedAt = clock.now();
    expect((await postReceipt(app, clock, { id: 'o-1', message_id: hello.id, status: 'opened', at: openedAt })).statusCode).toBe(200);
    expect(await rows(store, `SELECT customer_id FROM receipts`)).toEqual([{ customer_id: customer }]);
    // An unknown message: processed and counted, nothing else.
    await postReceipt(app, clock, { id: 'x-1', message_id: 'nope', status: 'clicked', at: openedAt });
    const t1 = await worker.tick();
    expect(t1.receipts).toMatchObject({ receipts: 2, applied: 1, unknown: 1 });
    const state = async () =>
      (await rows<{ state: { step: string; messages: Record<string, { status: string }> } }>(store, `SELECT state FROM runs WHERE customer_id = ?`, [customer]))[0].state;
    expect((await state()).step).toBe('opened');
    expect((await state()).messages[hello.id].status).toBe('opened');

    // Delivered arrives after opened (and the opened receipt again): the message stays opened.
    await postReceipt(app, clock, { receipts: [{ id: 'd-1', message_id: hello.id, status: 'delivered', at: openedAt - 30 * 60_000 }, { id: 'o-2', message_id: hello.id, status: 'opened', at: openedAt }] });
    expect((await worker.tick()).receipts).toMatchObject({ receipts: 2, applied: 2 });
    expect((await state()).messages[hello.id].status).toBe('opened');
    expect((await state()).step).toBe('opened');
    expect(await count(store, 'receipts', 'processed_at IS NULL')).toBe(0);

    // Two days after signup: no reminder.
    clock.set(Date.parse('2024-03-06T10:00:00Z') + 1);
    await worker.tick();
    expect(await count(store, 'outbox', `template = 'welcome-reminder'`)).toBe(0);
    // Three days after the open, no purchase: the nudge.
    clock.set(openedAt + 3 * DAY);
    await worker.tick();
    expect(await rows(store, `SELECT template, status FROM outbox ORDER BY created_at, id`)).toEqual([
      { template: 'welcome', status: 'sent' },
      { template: 'welcome-nudge', status: 'sent' },
    ]);
    expect(await count(store, 'outbox', `template = 'welcome-reminder'`)).toBe(0);
    await worker.stop();
  });

  it('a bounce fails the message; processReceipts claims each receipt once', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const customer = treated[1];
    const { app, projects, worker, hello } = await welcomeSent(store, clock, customer);
    await postReceipt(app, clock, { id: 'b-1', message_id: hello.id, status: 'bounced', at: clock.now() });
    await postReceipt(app, clock, { id: 'o-1', message_id: hello.id, status: 'opened', at: clock.now() + 1 });
    expect(await processReceipts({ store, projects, clock })).toMatchObject({ receipts: 2, applied: 2 });
    expect(await processReceipts({ store, projects, clock })).toMatchObject({ receipts: 0 });
    const [run] = await rows<{ state: { messages: Record<string, { status: string }> } }>(store, `SELECT state FROM runs`);
    expect(run.state.messages[hello.id].status).toBe('failed');
    await worker.stop();
  });

  it('a spam complaint withdraws consent for the channel, with the receipt as evidence, once', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const customer = treated[2];
    const { app, projects, worker, hello } = await welcomeSent(store, clock, customer);
    await postReceipt(app, clock, { id: 'c-1', message_id: hello.id, status: 'complained', at: clock.now() + 5 });
    await postReceipt(app, clock, { id: 'c-1', message_id: hello.id, status: 'complained', at: clock.now() + 5 }); // repeated by the provider
    await worker.tick();
    expect(await rows(store, `SELECT customer_id, channel, granted, source, evidence FROM consents`)).toEqual([
      { customer_id: customer, channel: 'email', granted: false, source: 'complaint', evidence: { message_id: hello.id, provider_event_id: 'c-1' } },
    ]);
    // The withdrawal holds for the next send: the reminder two days later is suppressed for consent.
    clock.advance(2 * DAY + 1);
    await worker.tick();
    expect(await count(store, 'outbox', `template = 'welcome-reminder'`)).toBe(0);
    await worker.stop();
  });

  it('a hard bounce suppresses the address it bounced from, for every later send, until the customer gives another', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const customer = treated[3];
    const { app, projects, worker, hello } = await welcomeSent(store, clock, customer);
    expect(await rows(store, `SELECT address FROM attempts`)).toEqual([{ address: `${customer}@example.com` }]);
    // The profile holds another address when the bounce arrives: the one suppressed is the one the attempt used.
    await upsertCustomers(store.db, [{ id: customer, attributes: { email: `${customer}@other.example.com` } }], clock.now());
    await postReceipt(app, clock, { id: 'b-1', message_id: hello.id, status: 'bounced', at: clock.now() + 5 });
    await postReceipt(app, clock, { id: 'b-1', message_id: hello.id, status: 'bounced', at: clock.now() + 5 }); // repeated by the provider
    await worker.tick();
    expect(await rows(store, `SELECT customer_id, channel, address, reason, evidence FROM suppressions`)).toEqual([
      { customer_id: customer, channel: 'email', address: `${customer}@example.com`, reason: 'hard_bounce', evidence: { message_id: hello.id, provider_event_id: 'b-1' } },
    ]);
    await upsertCustomers(store.db, [{ id: customer, attributes: { email: `${customer}@example.com` } }], clock.now());
    // The next step's send is suppressed for want of an address (the reminder two days later).
    clock.advance(2 * DAY + 1);
    await worker.tick();
    expect(await count(store, 'outbox', `template = 'welcome-reminder'`)).toBe(0);
    const trace = await app.inject({ method: 'GET', url: `/v1/customers/${customer}/trace`, headers: { authorization: 'Bearer tok' } });
    expect(trace.json().suppressions).toEqual([{ channel: 'email', address: `${customer}@example.com`, reason: 'hard_bounce', evidence: { message_id: hello.id, provider_event_id: 'b-1' }, at: expect.any(String) }]);
    // A message already queued for the address is stopped at send time; with a new address it goes out.
    const version = (await rows<{ version: string }>(store, `SELECT version FROM activations WHERE active`))[0].version;
    const queue = async (id: string) =>
      store.db.raw(
        `INSERT INTO outbox (customer_id, id, journey, step, channel, template, class, config_version, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, 'welcome', 'hello', 'email', 'welcome', 'marketing', ?, 'queued', ?, ?, ?)`,
        [customer, id, version, new Date(clock.now()), new Date(clock.now()), new Date(clock.now())],
      );
    await queue('late-1');
    await worker.tick();
    expect(await rows(store, `SELECT status, last_error->>'code' AS code FROM outbox WHERE id = 'late-1'`)).toEqual([{ status: 'failed', code: 'no_address' }]);
    await upsertCustomers(store.db, [{ id: customer, attributes: { email: `${customer}@new.example.com` } }], clock.now());
    await queue('late-2');
    await worker.tick();
    expect(await rows(store, `SELECT status FROM outbox WHERE id = 'late-2'`)).toEqual([{ status: 'sent' }]);
    await worker.stop();
  });
});

// A step a receipt triggers evaluates at the receipt's own time, which can lie well before the worker's
// clock: the history it reads has to reach back from there, not from now (process-receipts.ts reads it as
// of the batch's earliest receipt).
const FOLLOW = `apiVersion: herald/v1
kind: Journey
metadata: { name: follow }
spec:
  entry: { event: signup }
  class: marketing
  steps:
    - id: hello
      send: { channel: email, template: hello }
    - id: wait-open
      wait: { for: { message: hello, status: opened }, timeout: 2d }
      on_timeout: done
      on_event: browsed
    - id: browsed
      if: "count(product_view, within: 1h) >= 1"
      send: { channel: email, template: hello }
    - id: done
      exit: true
`;

describe.each(backendNames())('a receipt step reading the history, on %s', (name) => {
  const backend = useBackend(name);

  it('counts the events within its window before the receipt, though they are older than the window before now', async () => {
    const loadedFollow = loadProject([makeProject({ 'follow.yaml': FOLLOW })]);
    if (!loadedFollow.project) throw new Error(JSON.stringify(loadedFollow.diagnostics));
    const follow = loadedFollow.project;
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const t0 = clock.now();
    await applyConfig(store, collectConfigFiles(follow), { who: 'test', project: follow, clock });
    await upsertCustomers(store.db, [{ id: 'c1', attributes: { email: 'c1@example.com', email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } }], t0);
    const projects = storeProjectLoader(store);
    const worker = startWorker({ store, projects, clock, providers: () => okProvider });
    try {
      await insertEvents(store.db, [{ customerId: 'c1', id: 'signup', type: 'signup', ts: t0, props: {} }], t0);
      await worker.tick();
      const [hello] = await rows<{ id: string }>(store, `SELECT id FROM outbox`);
      await insertEvents(store.db, [{ customerId: 'c1', id: 'view', type: 'product_view', ts: t0 + 10 * 60_000, props: { product_id: 'P1', price: 5 } }], t0 + 10 * 60_000);
      await insertReceipts(store, 'email', [{ id: 'open-1', messageId: hello.id, status: 'opened', at: t0 + 30 * 60_000, payload: {} }], t0 + 30 * 60_000);
      // The worker gets to it 50 minutes after the open: the view is 70 minutes old by then, 20 at the open.
      clock.set(t0 + 80 * 60_000);
      expect(await processReceipts({ store, projects, clock })).toMatchObject({ receipts: 1, applied: 1 });
      expect(await rows(store, `SELECT step FROM outbox ORDER BY created_at, step`)).toEqual([{ step: 'hello' }, { step: 'browsed' }]);
    } finally {
      await worker.stop();
    }
  });
});
