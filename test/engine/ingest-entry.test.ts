// Journey entry at ingest, on both backends, through the engine's real HTTP server: a POSTed batch is answered
// with its runs, outbox and ledger rows committed (no worker round in between), and it never passes through
// the event queue. The queue still carries what entry at ingest cannot take: batches ingested while nothing
// is active, batches whose entry transaction failed, and (claimed along) a customer's older queued events.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider, type ChannelProvider } from '../../src/channels/index.js';
import { loadProject } from '../../src/config/build-project.js';
import type { ChannelDef } from '../../src/config/model.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig, rollback } from '../../src/engine/config-versions.js';
import { startEngine, type RunningEngine } from '../../src/engine/engine.js';
import { insertEvents } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { processEvents, storeProjectLoader, type ProjectLoader } from '../../src/engine/worker/index.js';
import { ingestWithEntry } from '../../src/engine/worker/ingest-entry.js';
import { backendNames, rows, useBackend } from './support/backends.js';

const TOKEN = 'entry-test';
const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project = loaded.project;
const welcome = project.journeys.get('welcome')!;
const treated = Array.from({ length: 50 }, (_, i) => `e-${i}`).filter((id) => !isHeldOut(welcome, id));

function logProviders(): (c: ChannelDef) => ChannelProvider {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'herald-entry-')), 'out.ndjson');
  return (c) => createProvider({ ...c, provider: { ...c.provider, kind: 'log', path: file, idempotent: true } }, {});
}

const engines: RunningEngine[] = [];
afterEach(async () => {
  while (engines.length) await engines.pop()!.close();
});

async function engine(store: OpenedStore, clock: ReturnType<typeof manualClock>, extra: { projects?: ProjectLoader; entryAtIngest?: boolean | undefined } = {}): Promise<RunningEngine> {
  // The worker runs no timer (intervalMs 0) and takes no events off the queue in the rounds ingest wakes it
  // for (maxEventBatches 0): whatever is entered was entered by the request; processEvents below stands in
  // for the worker's event step.
  const e = await startEngine({
    store,
    token: TOKEN,
    port: 0,
    clock,
    logLevel: 'silent',
    configPollMs: 0,
    entryAtIngest: 'entryAtIngest' in extra ? extra.entryAtIngest : true,
    worker: { providers: logProviders(), intervalMs: 0, maxEventBatches: 0, projects: extra.projects },
  });
  engines.push(e);
  return e;
}

async function post(e: RunningEngine, route: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${e.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const customer = (id: string) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada', timezone: 'Europe/Berlin' } });
const signup = (id: string, at: number) => ({ id: `signup-${id}`, customer_id: id, type: 'signup', ts: new Date(at).toISOString(), props: {} });

for (const name of backendNames()) {
  describe(`entry at ingest on ${name}`, () => {
    const backend = useBackend(name);

    /**
     * A clean store with the demo campaigns active, an engine on it at 10:00 UTC (11:00 in Berlin: outside
     * quiet hours), and the first `customers` treated ids posted as customers.
     */
    async function started(customers: number): Promise<{ store: OpenedStore; clock: ReturnType<typeof manualClock>; e: RunningEngine }> {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const e = await engine(store, clock);
      expect((await post(e, '/v1/customers', { customers: treated.slice(0, customers).map(customer) })).status).toBe(200);
      return { store, clock, e };
    }

    it('answers a POST with the entries committed: runs, outbox and ledger rows before any worker round, events stored processed, a repeat entering nothing', async () => {
      const { store, clock, e } = await started(2);
      const [a, b] = treated;
      const res = await post(e, '/v1/events', { events: [signup(a, clock.now()), signup(b, clock.now())] });
      expect(res).toMatchObject({ status: 200, body: { inserted: 2, duplicates: 0 } });
      expect(await rows(store, `SELECT customer_id, journey, status FROM runs ORDER BY customer_id`)).toEqual([
        { customer_id: a, journey: 'welcome', status: 'active' },
        { customer_id: b, journey: 'welcome', status: 'active' },
      ]);
      expect(await rows(store, `SELECT customer_id, step, channel FROM outbox ORDER BY customer_id`)).toEqual([
        { customer_id: a, step: 'hello', channel: 'email' },
        { customer_id: b, step: 'hello', channel: 'email' },
      ]);
      expect(await rows(store, `SELECT count(*)::int AS n FROM ledger`)).toEqual([{ n: 2 }]);
      expect(await rows(store, `SELECT count(*)::int AS n FROM events WHERE processed_at IS NULL`)).toEqual([{ n: 0 }]);
      // The worker finds nothing left to enter.
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ events: 0 });
      // A client retrying the same batch: stored once, entered once.
      clock.advance(1000);
      expect(await post(e, '/v1/events', { events: [signup(a, clock.now() - 1000)] })).toMatchObject({ status: 200, body: { inserted: 0, duplicates: 1 } });
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 2 }]);
    });

    it("reports on /metrics where each batch's entry transaction spent its time, one observation per phase and committed batch", async () => {
      const { clock, e } = await started(2);
      const [a, b] = treated;
      const t0 = performance.now();
      expect((await post(e, '/v1/events', { events: [signup(a, clock.now())] })).status).toBe(200);
      expect((await post(e, '/v1/events', { events: [signup(b, clock.now())] })).status).toBe(200);
      // A batch of repeats stores nothing and offers nothing: its transaction is still measured.
      expect(await post(e, '/v1/events', { events: [signup(a, clock.now())] })).toMatchObject({ status: 200, body: { duplicates: 1 } });
      const wallSec = (performance.now() - t0) / 1000;
      const text = await (await fetch(`${e.url}/metrics`)).text();
      const value = (series: string) => Number(new RegExp(`^herald_ingest_entry_phase_seconds_${series} (\\S+)$`, 'm').exec(text)?.[1]);
      const phases = ['insert', 'read', 'step', 'write', 'commit'];
      for (const phase of phases) expect(value(`count{phase="${phase}"}`), phase).toBe(3);
      const sums = phases.map((phase) => value(`sum{phase="${phase}"}`));
      for (const [i, sec] of sums.entries()) expect(sec, phases[i]).toBeGreaterThanOrEqual(0);
      // Two batches did every part; the repeat had no read or steps.
      for (const phase of ['insert', 'read', 'step', 'commit']) expect(value(`sum{phase="${phase}"}`), phase).toBeGreaterThan(0);
      const total = sums.reduce((x, y) => x + y, 0);
      expect(total).toBeLessThan(wallSec);
    });

    it('leaves a run an event cannot move unwritten: a view keeps the welcome run as it was, a purchase (its goal) converts it', async () => {
      const { store, clock, e } = await started(1);
      const [a] = treated;
      await post(e, '/v1/events', { events: [signup(a, clock.now())] });
      const run = `SELECT status, state, updated_at FROM runs WHERE customer_id = ? AND journey = 'welcome'`;
      const [entered] = await rows(store, run, [a]);
      clock.advance(60_000);
      const view = { id: 'v1', customer_id: a, type: 'product_view', ts: new Date(clock.now()).toISOString(), props: { product_id: 'P0001', price: 5 } };
      expect(await post(e, '/v1/events', { events: [view] })).toMatchObject({ status: 200, body: { inserted: 1 } });
      expect(await rows(store, run, [a])).toEqual([entered]);
      clock.advance(60_000);
      const purchase = { id: 'p1', customer_id: a, type: 'purchase', ts: new Date(clock.now()).toISOString(), props: { order_id: 'o1', amount: 20, product_ids: ['P0001'] } };
      expect((await post(e, '/v1/events', { events: [purchase] })).status).toBe(200);
      const [converted] = await rows<{ status: string; updated_at: Date }>(store, run, [a]);
      expect(converted.status).toBe('converted');
      expect(new Date(converted.updated_at).getTime()).toBe(clock.now());
    });

    it("claims the customer's events still queued and offers them first, in time order", async () => {
      const { store, clock, e } = await started(2);
      const [a, other] = treated;
      // Queued the way a batch whose entry failed is stored: the signup waits for the worker.
      await insertEvents(store.db, [{ customerId: a, id: 'signup-a', type: 'signup', ts: clock.now(), props: {} }, { customerId: other, id: 'signup-o', type: 'signup', ts: clock.now(), props: {} }], clock.now());
      clock.advance(60_000);
      const purchase = { id: 'p1', customer_id: a, type: 'purchase', ts: new Date(clock.now()).toISOString(), props: { order_id: 'o1', amount: 20, product_ids: ['P0001'] } };
      expect((await post(e, '/v1/events', { events: [purchase] })).status).toBe(200);
      // The queued signup entered welcome, then the purchase (its goal) converted the run, in one request.
      expect(await rows(store, `SELECT customer_id, journey, status FROM runs ORDER BY customer_id, journey`)).toEqual([{ customer_id: a, journey: 'welcome', status: 'converted' }]);
      expect(await rows(store, `SELECT customer_id, id FROM events WHERE processed_at IS NULL`)).toEqual([{ customer_id: other, id: 'signup-o' }]);
      // The other customer's queued event is the worker's.
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ events: 1, entered: 1 });
    });

    it('enters each batch with the version active when it arrives, across an apply and a rollback', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const first = await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const e = await engine(store, clock);
      const [a, b, c] = treated;
      await post(e, '/v1/customers', { customers: [customer(a), customer(b), customer(c)] });
      expect((await post(e, '/v1/events', { events: [signup(a, clock.now())] })).status).toBe(200);
      // Another version (one more comment line) applied between two batches: the next batch enters with it.
      const files = collectConfigFiles(project).map((f) => (f.path === 'herald.yaml' ? { ...f, text: `${f.text}\n# v2\n` } : f));
      const second = await applyConfig(store, files, { who: 'test', clock });
      expect(second.version).not.toBe(first.version);
      expect((await post(e, '/v1/events', { events: [signup(b, clock.now())] })).status).toBe(200);
      await rollback(store, first.version, 'test', { clock });
      expect((await post(e, '/v1/events', { events: [signup(c, clock.now())] })).status).toBe(200);
      expect(await rows(store, `SELECT customer_id, config_version FROM runs ORDER BY customer_id`)).toEqual(
        [
          { customer_id: a, config_version: first.version },
          { customer_id: b, config_version: second.version },
          { customer_id: c, config_version: first.version },
        ].sort((x, y) => x.customer_id.localeCompare(y.customer_id)),
      );
      // The batches that found another version active ran again: each batch is still measured once.
      const metrics = await (await fetch(`${e.url}/metrics`)).text();
      expect(metrics).toMatch(/^herald_ingest_entry_phase_seconds_count\{phase="insert"\} 3$/m);
    });

    it('queues events while no configuration is active; the worker enters them once one is', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      const e = await engine(store, clock);
      const [a] = treated;
      await post(e, '/v1/customers', { customers: [customer(a)] });
      expect((await post(e, '/v1/events', { events: [signup(a, clock.now())] })).status).toBe(200);
      expect(await rows(store, `SELECT count(*)::int AS n FROM events WHERE processed_at IS NULL`)).toEqual([{ n: 1 }]);
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 0 }]);
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ events: 1, entered: 1 });
    });

    it('stores a batch queued when its entry transaction fails, answers 200, and the worker enters it later', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const real = storeProjectLoader(store);
      let failures = 1;
      const flaky: ProjectLoader = {
        active: async () => {
          if (failures-- > 0) throw new Error('simulated failure while entering');
          return real.active();
        },
        version: (v) => real.version(v),
      };
      const e = await engine(store, clock, { projects: flaky });
      const [a] = treated;
      await post(e, '/v1/customers', { customers: [customer(a)] });
      expect(await post(e, '/v1/events', { events: [signup(a, clock.now())] })).toMatchObject({ status: 200, body: { inserted: 1 } });
      expect(await rows(store, `SELECT count(*)::int AS n FROM events WHERE processed_at IS NULL`)).toEqual([{ n: 1 }]);
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 0 }]);
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ events: 1, entered: 1 });
      expect(await rows(store, `SELECT customer_id, journey FROM runs`)).toEqual([{ customer_id: a, journey: 'welcome' }]);
    });

    it('tells the stored events of a batch from the repeats: within the batch and against earlier batches', async () => {
      const { store, clock, e } = await started(2);
      const [a, b] = treated;
      expect(await post(e, '/v1/events', { events: [signup(a, clock.now())] })).toMatchObject({ status: 200, body: { inserted: 1, duplicates: 0 } });
      const view = (c: string, id: string) => ({ id, customer_id: c, type: 'product_view', ts: new Date(clock.now()).toISOString(), props: { product_id: 'P0001', price: 10 } });
      // a's signup again, b's signup twice and one view of a: two stored, two repeats, in the answer's order.
      const res = await post(e, '/v1/events', { events: [signup(a, clock.now()), signup(b, clock.now()), view(a, 'v1'), signup(b, clock.now())] });
      expect(res).toMatchObject({ status: 200, body: { inserted: 2, duplicates: 2 } });
      expect(await rows(store, `SELECT customer_id, id FROM events ORDER BY customer_id, id`)).toEqual(
        [{ customer_id: a, id: `signup-${a}` }, { customer_id: a, id: 'v1' }, { customer_id: b, id: `signup-${b}` }].sort((x, y) => x.customer_id.localeCompare(y.customer_id) || x.id.localeCompare(y.id)),
      );
      expect(await rows(store, `SELECT customer_id FROM runs WHERE journey = 'welcome' ORDER BY customer_id`)).toEqual([{ customer_id: a }, { customer_id: b }].sort((x, y) => x.customer_id.localeCompare(y.customer_id)));
      expect(await rows(store, `SELECT id, history_rev::int AS history_rev FROM customers ORDER BY id`)).toEqual(
        [{ id: a, history_rev: 2 }, { id: b, history_rev: 1 }].sort((x, y) => x.id.localeCompare(y.id)),
      );
    });

    // Two connections at once: PGlite has one, so the case cannot arise there.
    if (name === 'postgres') it('enters an event stored meanwhile by a transaction still open once, as a repeat, without queueing the batch', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const [a] = treated;
      const projects = storeProjectLoader(store);
      const holder = await store.db.transaction();
      try {
        // The client's first attempt, still in its transaction when the retry arrives.
        await insertEvents(holder, [{ customerId: a, id: `signup-${a}`, type: 'signup', ts: clock.now(), props: {} }], clock.now());
        const retry = ingestWithEntry({ store, projects, clock }, [{ customerId: a, id: `signup-${a}`, type: 'signup', ts: clock.now(), props: {} }], clock.now());
        // The retry's insert waits on the first attempt's row (its customer's lock is free: insertEvents takes none).
        await new Promise((resolve) => setTimeout(resolve, 300));
        await holder.commit();
        const out = await retry;
        expect(out.outcomes.map((o) => o.inserted)).toEqual([false]);
      } finally {
        if (!holder.isCompleted()) await holder.rollback();
      }
      expect(await rows(store, `SELECT count(*)::int AS n FROM events`)).toEqual([{ n: 1 }]);
      // Stored by the first attempt, queued (it came through insertEvents): the worker enters it once.
      expect(await processEvents({ store, projects, clock })).toMatchObject({ events: 1, entered: 1 });
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 1 }]);
    });

    it('by default enters at ingest', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const e = await engine(store, clock, { entryAtIngest: undefined });
      const [a] = treated;
      await post(e, '/v1/customers', { customers: [customer(a)] });
      await post(e, '/v1/events', { events: [signup(a, clock.now())] });
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 1 }]);
    });

    it('with entryAtIngest: false, only queues, and the worker enters', async () => {
      const store = await backend.clean();
      const clock = manualClock('2024-03-04T10:00:00Z');
      await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
      const e = await engine(store, clock, { entryAtIngest: false });
      const [a] = treated;
      await post(e, '/v1/customers', { customers: [customer(a)] });
      await post(e, '/v1/events', { events: [signup(a, clock.now())] });
      expect(await rows(store, `SELECT count(*)::int AS n FROM runs`)).toEqual([{ n: 0 }]);
      expect(await processEvents({ store, projects: storeProjectLoader(store), clock })).toMatchObject({ events: 1, entered: 1 });
    });
  });
}
