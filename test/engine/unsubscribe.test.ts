// One-click unsubscribe (RFC 8058) on both backends: the POST records a consent withdrawal, a GET only shows
// the preference page, tokens are signed, and the worker's consent check then suppresses the channel.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelProvider } from '../../src/channels/index.js';
import { loadProject } from '../../src/config/build-project.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import type { Effect } from '../../src/core/types.js';
import { manualClock, type ManualClock } from '../../src/engine/clock.js';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { buildServer, type EngineServer } from '../../src/engine/http/build-server.js';
import { unsubscribeToken, verifyUnsubscribeToken } from '../../src/engine/http/unsubscribe.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { loadCustomer } from '../../src/engine/worker/customer-data.js';
import { startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { customerRuns, stepAndPersist } from '../../src/engine/worker/runs.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const DAY = 86_400_000;
const SECRET = 'unsub-secret';
const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
const project = loaded.project;
const welcome = project.journeys.get('welcome')!;
const treated = Array.from({ length: 50 }, (_, i) => `cust-${i}`).filter((id) => !isHeldOut(welcome, id));
const okProvider = { idempotent: true, send: async () => ({ kind: 'sent', providerMessageId: 'p-1', at: 0 }), close: async () => {} } as unknown as ChannelProvider;
const ONE_CLICK = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'MailClient/1.0' };

describe('unsubscribe tokens', () => {
  it('round-trip, carry ids with separators, and refuse any change', () => {
    const target = { customerId: 'c|1 ü', channel: 'email', messageId: 'welcome:c|1:1/hello/1' };
    const token = unsubscribeToken(target, SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyUnsubscribeToken(token, SECRET)).toEqual(target);
    expect(verifyUnsubscribeToken(token, 'other')).toBeUndefined();
    const other = unsubscribeToken({ ...target, channel: 'sms' }, SECRET);
    expect(verifyUnsubscribeToken(`${other.split('.')[0]}.${token.split('.')[1]}`, SECRET)).toBeUndefined();
    expect(verifyUnsubscribeToken('garbage', SECRET)).toBeUndefined();
  });
});

describe.each(backendNames())('one-click unsubscribe on %s', (name) => {
  const backend = useBackend(name);
  const servers: EngineServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(store: OpenedStore, clock: ManualClock, ids: readonly string[]) {
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    await upsertCustomers(
      store.db,
      ids.map((id) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } })),
      clock.now(),
    );
    const app = await buildServer({ store, token: 'tok', clock, logLevel: 'silent', unsubscribeSecret: SECRET });
    servers.push(app);
    return app;
  }

  it('GET shows a form and changes nothing; POST List-Unsubscribe=One-Click records the withdrawal', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const app = await setup(store, clock, ['c1']);
    const token = unsubscribeToken({ customerId: 'c1', channel: 'email', messageId: 'm-1' }, SECRET);

    for (let i = 0; i < 2; i++) {
      const page = await app.inject({ method: 'GET', url: `/u/${token}` });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain(`<form method="post" action="/u/${token}">`);
      expect(page.body).toContain('name="List-Unsubscribe" value="One-Click"');
    }
    expect(await count(store, 'consents')).toBe(0);

    const wrongBody = await app.inject({ method: 'POST', url: `/u/${token}`, payload: 'hello=1', headers: ONE_CLICK });
    expect(wrongBody.statusCode).toBe(400);
    expect(wrongBody.json().error.code).toBe(ENGINE_CODE.notOneClick);
    const forged = await app.inject({ method: 'POST', url: `/u/${token.slice(0, -2)}AA`, payload: 'List-Unsubscribe=One-Click', headers: ONE_CLICK });
    expect(forged.statusCode).toBe(404);
    expect(forged.json().error.code).toBe(ENGINE_CODE.badUnsubscribeToken);
    expect((await app.inject({ method: 'GET', url: '/u/nope' })).statusCode).toBe(404);
    expect(await count(store, 'consents')).toBe(0);

    const res = await app.inject({ method: 'POST', url: `/u/${token}`, payload: 'List-Unsubscribe=One-Click', headers: ONE_CLICK });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'unsubscribed', channel: 'email' });
    // The form on the page posts multipart in some clients: accepted too.
    clock.advance(1000);
    const multipart = '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n';
    expect((await app.inject({ method: 'POST', url: `/u/${token}`, payload: multipart, headers: { 'content-type': 'multipart/form-data; boundary=b' } })).statusCode).toBe(200);
    const consents = await rows<{ customer_id: string; channel: string; granted: boolean; source: string; evidence: Record<string, unknown>; at: Date }>(
      store,
      `SELECT customer_id, channel, granted, source, evidence, at FROM consents ORDER BY recorded_at, id`,
    );
    expect(consents).toHaveLength(2);
    expect(consents[0]).toEqual({
      customer_id: 'c1',
      channel: 'email',
      granted: false,
      source: 'list-unsubscribe',
      evidence: { message_id: 'm-1', user_agent: 'MailClient/1.0', at: '2024-03-04T10:00:00.000Z' },
      at: new Date('2024-03-04T10:00:00Z'),
    });
  });

  it('after an unsubscribe the next email of the run is suppressed with no_consent', async () => {
    const store = await backend.clean();
    const clock = manualClock('2024-03-04T10:00:00Z');
    const customer = treated[0];
    const app = await setup(store, clock, [customer]);
    const projects = storeProjectLoader(store);
    const worker = startWorker({ store, projects, clock, providers: () => okProvider });
    await insertEvents(store.db, [{ customerId: customer, id: 'evt-1', type: 'signup', ts: clock.now(), props: {} }], clock.now());
    await worker.tick();
    const [hello] = await rows<{ id: string }>(store, `SELECT id FROM outbox`);

    clock.advance(DAY);
    const token = unsubscribeToken({ customerId: customer, channel: 'email', messageId: hello.id }, SECRET);
    expect((await app.inject({ method: 'POST', url: `/u/${token}`, payload: 'List-Unsubscribe=One-Click', headers: ONE_CLICK })).statusCode).toBe(200);
    clock.advance(DAY + 1);

    // What the reminder step decides, seen directly (rolled back), then through the worker.
    const effects = await store.db
      .transaction(async (trx) => {
        const [run] = await customerRuns(trx, customer);
        const version = run.configVersion;
        const p = await projects.version(version);
        const out = await stepAndPersist(trx, { project: p, version, journey: p.journeys.get('welcome')!, customer: await loadCustomer(trx, customer), previous: run.state, input: { kind: 'timer', at: clock.now() }, now: clock.now(), isNew: false });
        throw Object.assign(new Error('rollback'), { effects: out.effects });
      })
      .catch((e: { effects?: Effect[] }) => e.effects);
    expect(effects).toContainEqual(expect.objectContaining({ kind: 'suppress', channel: 'email', reason: 'no_consent' }));

    await worker.tick();
    expect(await rows(store, `SELECT template FROM outbox ORDER BY created_at, id`)).toEqual([{ template: 'welcome' }]);
    await worker.stop();
  });
});
