// The HTTP ingest layer on both backends: auth, single and batch ingest, idempotent event ids, errors with
// a code and the field at fault, commit-before-acknowledge, health and metrics. Most requests go through
// app.inject; the tests about acknowledgement and shutdown use a real port on 127.0.0.1.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import { manualClock } from '../../src/engine/clock.js';
import { ENGINE_CODE } from '../../src/engine/codes.js';
import { startEngine } from '../../src/engine/engine.js';
import { buildServer, type CommittedEvent, type EngineServer, type ServerOptions } from '../../src/engine/http/build-server.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { applyConfig, collectConfigFiles } from '../../src/engine/index.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const TOKEN = 'test-token-123';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const model = loadProject([makeProject({})]).project!.model;

const event = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  customer_id: 'c1',
  type: 'purchase',
  ts: '2024-05-01T12:00:00Z',
  props: { order_id: `o-${id}`, amount: 10, product_ids: ['p1'] },
  ...over,
});

describe.each(backendNames())('HTTP ingest on %s', (name) => {
  const backend = useBackend(name);
  const clock = manualClock('2024-05-02T00:00:00Z');
  const servers: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(over: Partial<ServerOptions> = {}): Promise<{ app: EngineServer; store: OpenedStore }> {
    const store = over.store ?? (await backend.clean());
    const app = await buildServer({ store, token: TOKEN, clock, logLevel: 'silent', dataModel: () => model, ...over });
    servers.push(app);
    return { app, store: store as OpenedStore };
  }

  const post = (app: EngineServer, url: string, payload: unknown, headers: Record<string, string> = AUTH) =>
    app.inject({ method: 'POST', url, payload: payload as object, headers });

  it('requires the bearer token (401 HER7001), checked before the body is read', async () => {
    const { app, store } = await serve();
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const res = await post(app, '/v1/events', event('e1'), headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toEqual({ error: { code: ENGINE_CODE.unauthorized, message: expect.any(String), field: 'headers.authorization' } });
    }
    const huge = await app.inject({ method: 'POST', url: '/v1/events', payload: 'x'.repeat(6 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
    expect(huge.statusCode).toBe(401);
    expect(await count(store, 'events')).toBe(0);
  });

  it('ingests a single event and a batch; a repeated event id is accepted but stored once', async () => {
    const { app, store } = await serve();
    const one = await post(app, '/v1/events', event('e1'));
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ id: 'e1', customer_id: 'c1', status: 'inserted' });
    const batch = await post(app, '/v1/events', { events: [event('e1'), event('e2'), event('e3', { customer_id: 'c2' }), event('e2')] });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toEqual({
      inserted: 2,
      duplicates: 2,
      results: [
        { id: 'e1', customer_id: 'c1', status: 'duplicate' },
        { id: 'e2', customer_id: 'c1', status: 'inserted' },
        { id: 'e3', customer_id: 'c2', status: 'inserted' },
        { id: 'e2', customer_id: 'c1', status: 'duplicate' },
      ],
    });
    // The same id for another customer is another event: ids are unique per customer.
    expect((await post(app, '/v1/events', event('e1', { customer_id: 'c2' }))).json()).toMatchObject({ status: 'inserted' });
    expect(await count(store, 'events')).toBe(4);
    const stored = await rows(store, `SELECT customer_id, id, type, ts, props, received_at, processed_at FROM events WHERE id = 'e1' AND customer_id = 'c1'`);
    expect(stored).toEqual([
      { customer_id: 'c1', id: 'e1', type: 'purchase', ts: new Date('2024-05-01T12:00:00Z'), props: { order_id: 'o-e1', amount: 10, product_ids: ['p1'] }, received_at: new Date(clock.now()), processed_at: null },
    ]);
  });

  it('inserts each event once when the same batch is posted concurrently', async () => {
    const { app, store } = await serve();
    const payload = { events: Array.from({ length: 50 }, (_, i) => event(`e${i}`, { customer_id: `c${i % 7}` })) };
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(app, '/v1/events', payload)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    const bodies = answers.map((a) => a.json() as { inserted: number; duplicates: number });
    expect(bodies.reduce((n, b) => n + b.inserted, 0)).toBe(50);
    expect(bodies.reduce((n, b) => n + b.duplicates, 0)).toBe(200);
    expect(await count(store, 'events')).toBe(50);
  });

  it.each([
    ['missing ts', { events: [event('a'), event('b', { ts: undefined })] }, 400, ENGINE_CODE.missingField, 'events[1].ts'],
    ['unparseable ts', event('a', { ts: 'yesterday' }), 400, ENGINE_CODE.invalidTimestamp, 'ts'],
    ['id of the wrong type', { events: [event('a', { id: 42 })] }, 400, ENGINE_CODE.wrongType, 'events[0].id'],
    ['empty customer id', { events: [event('a', { customer_id: '' })] }, 400, ENGINE_CODE.invalidValue, 'events[0].customer_id'],
    ['NUL inside a prop', event('a', { props: { order_id: 'x\u0000y' } }), 400, ENGINE_CODE.invalidValue, 'props.order_id'],
    // JSON can carry half a surrogate pair ("\ud800"); PostgreSQL's text and jsonb cannot.
    ['half a surrogate pair in a prop', event('a', { props: { order_id: 'x\ud800y' } }), 400, ENGINE_CODE.invalidValue, 'props.order_id'],
    ['half a surrogate pair in an id', { events: [event('a'), event('b', { id: 'b\udc00' })] }, 400, ENGINE_CODE.invalidValue, 'events[1].id'],
    ['events not an array', { events: { id: 'a' } }, 400, ENGINE_CODE.wrongType, 'events'],
    ['unknown event type', { events: [event('a'), event('b'), event('c', { type: 'purchse' })] }, 422, ENGINE_CODE.unknownEventType, 'events[2].type'],
    ['wrong prop type', { events: [event('a', { props: { amount: '10' } })] }, 422, ENGINE_CODE.propType, 'events[0].props.amount'],
    ['wrong list element type', event('a', { props: { product_ids: ['p1', 2] } }), 422, ENGINE_CODE.propType, 'props.product_ids'],
    ['undeclared prop', event('a', { props: { coupon: 'X' } }), 422, ENGINE_CODE.unknownField, 'props.coupon'],
    ['batch too large', { events: Array.from({ length: 1001 }, (_, i) => event(`e${i}`)) }, 413, ENGINE_CODE.batchTooLarge, 'events'],
  ])('refuses %s with a code and the field at fault, storing nothing', async (_case, payload, status, code, field) => {
    const { app, store } = await serve();
    const res = await post(app, '/v1/events', payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toEqual({ code, message: expect.any(String), field });
    expect(await count(store, 'events')).toBe(0);
  });

  it('lists every problem of a batch, not only the first', async () => {
    const { app } = await serve();
    const res = await post(app, '/v1/events', { events: [event('a', { ts: undefined }), event('b'), event('c', { type: 'nope' })] });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['events[0].ts', 'events[2].type']);
  });

  it('checks structure only while no configuration is active, and normalises typed props when one is', async () => {
    const { app, store } = await serve({ dataModel: () => undefined });
    const res = await post(app, '/v1/events', event('a', { type: 'anything', props: { whatever: [1, { x: true }] } }));
    expect(res.statusCode).toBe(200);
    const typed = await serve({ store });
    await post(typed.app, '/v1/customers', { id: 'c1', attributes: { signed_up_at: 1714564800000, email_opt_in: true } });
    expect(await rows(store, `SELECT attributes FROM customers`)).toEqual([{ attributes: { signed_up_at: '2024-05-01T12:00:00Z', email_opt_in: true } }]);
  });

  it.each([
    ['bad JSON', '{"events": [', 'application/json', 400, ENGINE_CODE.invalidJson, null],
    ['an empty body', '', 'application/json', 400, ENGINE_CODE.invalidJson, null],
    ['text/plain', '{}', 'text/plain', 415, ENGINE_CODE.unsupportedMediaType, 'headers.content-type'],
    ['a body over 5 MB', JSON.stringify({ events: [event('a', { props: { order_id: 'x'.repeat(5 * 1024 * 1024) } })] }), 'application/json', 413, ENGINE_CODE.bodyTooLarge, null],
  ])('refuses %s', async (_case, payload, type, status, code, field) => {
    const { app } = await serve();
    const res = await app.inject({ method: 'POST', url: '/v1/events', payload, headers: { ...AUTH, 'content-type': type } });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String), field } });
  });

  it('upserts customers singly and in batches, merging attributes', async () => {
    const { app, store } = await serve();
    const one = await post(app, '/v1/customers', { id: 'c1', attributes: { email: 'a@example.com', first_name: 'Ann' } });
    expect(one.json()).toEqual({ id: 'c1', status: 'created' });
    clock.advance(1000);
    const batch = await post(app, '/v1/customers', { customers: [{ id: 'c1', attributes: { first_name: 'Anna' } }, { id: 'c2' }, { id: 'c2', attributes: { sms_opt_in: false } }] });
    expect(batch.json()).toEqual({ created: 1, updated: 1, results: [{ id: 'c1', status: 'updated' }, { id: 'c2', status: 'created' }] });
    // Rows are locked in id order (write-ingest.ts), results still come in the order of the request.
    const unsorted = await post(app, '/v1/customers', { customers: [{ id: 'c9' }, { id: 'c1' }, { id: 'c3' }] });
    expect(unsorted.json().results).toEqual([
      { id: 'c9', status: 'created' },
      { id: 'c1', status: 'updated' },
      { id: 'c3', status: 'created' },
    ]);
    expect(await rows(store, `SELECT id, attributes, updated_at > created_at AS touched FROM customers WHERE id IN ('c1', 'c2') ORDER BY id`)).toEqual([
      { id: 'c1', attributes: { email: 'a@example.com', first_name: 'Anna' }, touched: true },
      { id: 'c2', attributes: { sms_opt_in: false }, touched: false },
    ]);
    const bad = await post(app, '/v1/customers', { customers: [{ id: 'c3', attributes: { favourite: 'blue' } }] });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatchObject({ code: ENGINE_CODE.unknownField, field: 'customers[0].attributes.favourite' });
  });

  it('calls onEvents after the commit with the inserted events only', async () => {
    const seen: CommittedEvent[][] = [];
    const { app, store } = await serve({
      onEvents: async (events) => {
        // The hook runs after commit: the rows are already visible to any connection.
        expect(await count(store, 'events', `id = ANY(?)`, [events.map((e) => e.id)])).toBe(events.length);
        seen.push([...events]);
      },
    });
    await post(app, '/v1/events', { events: [event('a'), event('b')] });
    await post(app, '/v1/events', { events: [event('b'), event('c')] });
    await post(app, '/v1/events', event('a'));
    await app.settled();
    expect(seen.map((batch) => batch.map((e) => e.id))).toEqual([['a', 'b'], ['c']]);
    expect(seen[0][0]).toMatchObject({ customerId: 'c1', type: 'purchase', ts: Date.parse('2024-05-01T12:00:00Z'), receivedAt: clock.now() });
  });

  it('answers /healthz while the database answers, 503 HER7201 once it does not', async () => {
    const store = await backend.fresh();
    const { app } = await serve({ store });
    const ok = await app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', database: name });
    await store.close();
    const down = await app.inject({ method: 'GET', url: '/healthz' });
    expect(down.statusCode).toBe(503);
    expect(down.json().error.code).toBe(ENGINE_CODE.databaseUnavailable);
    const ingest = await post(app, '/v1/events', event('late'));
    expect(ingest.statusCode).toBe(503);
  });

  it('exposes counters on /metrics', async () => {
    const { app } = await serve();
    await post(app, '/v1/events', { events: [event('a'), event('b'), event('a')] });
    await post(app, '/v1/events', event('c', { type: 'nope' }));
    await post(app, '/v1/events', event('d'), {});
    await app.inject({ method: 'GET', url: '/v1/nothing-here', headers: AUTH });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toMatch(/^herald_events_ingested_total 2$/m);
    expect(text).toMatch(/^herald_events_duplicate_total 1$/m);
    expect(text).toMatch(/^herald_ingest_rejected_total\{code="HER7010"\} 1$/m);
    expect(text).toMatch(/^herald_ingest_rejected_total\{code="HER7001"\} 1$/m);
    expect(text).toMatch(/^herald_ingest_rejected_total\{code="HER7013"\} 1$/m);
    expect(text).toMatch(/^herald_http_requests_total\{method="POST",route="\/v1\/events",status="200"\} 1$/m);
    expect(text).toMatch(/^herald_http_requests_total\{method="POST",route="\/v1\/events",status="422"\} 1$/m);
    for (const gauge of ['herald_runs_due', 'herald_outbox_backlog', 'herald_runs_active', 'herald_claim_lag_seconds']) expect(text).toContain(`# TYPE ${gauge} gauge`);
  });

  it('acknowledges only committed events, over a real port', async () => {
    const store = await backend.clean();
    const engine = await startEngine({ store, token: TOKEN, port: 0, clock, logLevel: 'silent', configPollMs: 0 });
    servers.push(engine);
    const blocked = await holdEventsTable(store);
    let answered = false;
    const request = fetch(`${engine.url}/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ events: [event('a'), event('b')] }) }).then((r) => {
      answered = true;
      return r;
    });
    // While the INSERT cannot commit, the client has no answer and the rows are not visible.
    await blocked.waitForInsert();
    expect(answered).toBe(false);
    expect(await blocked.visibleEvents()).toBe(0);
    await blocked.release();
    const res = await request;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ inserted: 2 });
    expect(await count(store, 'events')).toBe(2);
  });

  it('on close, finishes the request in flight and refuses new connections', async () => {
    const store = await backend.clean();
    const engine = await startEngine({ store, token: TOKEN, port: 0, clock, logLevel: 'silent', configPollMs: 0 });
    const blocked = await holdEventsTable(store);
    const inFlight = fetch(`${engine.url}/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(event('a')) });
    await blocked.waitForInsert();
    const closed = engine.close();
    expect(await becomesRefused(engine.port)).toBe(true);
    await blocked.release();
    expect((await inFlight).status).toBe(200);
    await closed;
    expect(await count(store, 'events')).toBe(1);
  });

  it('validates against the active configuration the engine loads', async () => {
    const store = await backend.clean();
    const dir = makeProject({});
    const loaded = loadProject([dir]).project!;
    await applyConfig(store, collectConfigFiles(loaded), { who: 't', project: loaded, clock });
    const engine = await startEngine({ store, token: TOKEN, port: 0, clock, logLevel: 'silent', configPollMs: 0 });
    servers.push(engine);
    expect(engine.active()?.project.model.events.has('purchase')).toBe(true);
    const res = await fetch(`${engine.url}/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(event('a', { type: 'refund' })) });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: ENGINE_CODE.unknownEventType, field: 'type' } });
  });
});

/** Whether new TCP connections to the port are refused within a second (closing takes a few ticks). */
async function becomesRefused(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * Makes INSERTs into events wait, as a slow commit would: on PostgreSQL another session holds a lock that
 * conflicts with INSERT; on PGlite a transaction holds the single connection. `waitForInsert` resolves once
 * the request's INSERT is queued behind it (observed, not slept for).
 */
async function holdEventsTable(store: OpenedStore) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let ready!: (trx: import('knex').Knex.Transaction) => void;
  const trxReady = new Promise<import('knex').Knex.Transaction>((r) => (ready = r));
  const done = store.db.transaction(async (trx) => {
    await trx.raw('LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE');
    ready(trx);
    await released;
  });
  const trx = await trxReady;
  return {
    async waitForInsert() {
      for (let i = 0; i < 500; i++) {
        if (store.backend === 'postgres') {
          // Asked on another connection: inside the locking transaction pg_stat_activity is a snapshot.
          const waiting = await store.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO events%'`);
          if (waiting.rows[0].n > 0) return;
        } else {
          // PGlite: the request waits for the pool's single connection.
          const pool = (store.db.client as { pool: { numPendingAcquires(): number } }).pool;
          if (pool.numPendingAcquires() > 0) return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the INSERT never arrived');
    },
    async visibleEvents() {
      return Number((await trx.raw('SELECT count(*)::int AS n FROM events')).rows[0].n);
    },
    async release() {
      release();
      await done;
    },
  };
}
