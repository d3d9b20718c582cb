// Refresh-tick segment entry and cron entry in the engine, on both backends: the instants, the paging and
// its resumption, exactly-once entry, and the cron rules (not before activation; one catch-up after an outage).
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project } from '../../src/config/model.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { OpenedStore } from '../../src/engine/store/index.js';
import { latestFire, processSweeps, scheduleSweeps } from '../../src/engine/worker/entry-sweeps.js';
import { processEvents, startWorker, storeProjectLoader } from '../../src/engine/worker/index.js';
import { makeProject } from '../support/project-fixture.js';
import { backendNames, count, rows, useBackend } from './support/backends.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const JOURNEYS = `apiVersion: herald/v1
kind: Segment
metadata: { name: lapsed }
spec:
  where: >
    count(purchase) >= 1 and days_since(last(purchase)) > 30
---
apiVersion: herald/v1
kind: Journey
metadata: { name: winback }
spec:
  entry: { segment: lapsed }
  reentry: once
  steps:
    - id: hello
      send: { channel: email, template: hello }
---
apiVersion: herald/v1
kind: Journey
metadata: { name: weekly }
spec:
  entry: { schedule: "0 10 * * MON" }
  reentry: always
  steps:
    - id: hello
      send: { channel: email, template: hello }
`;

function project(): Project {
  const loaded = loadProject([makeProject({ 'journeys.yaml': JOURNEYS })]);
  if (!loaded.project) throw new Error(JSON.stringify(loaded.diagnostics, null, 2));
  return loaded.project;
}

const email = (id: string) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, first_name: 'Ada' } });

async function purchase(store: OpenedStore, customerId: string, ts: number, receivedAt: number) {
  await insertEvents(store.db, [{ customerId, id: `p-${customerId}-${ts}`, type: 'purchase', ts, props: { order_id: 'o', amount: 10, product_ids: [] } }], receivedAt);
}

for (const name of backendNames()) {
  describe(`entry sweeps on ${name}`, () => {
    const backend = useBackend(name);

    it('enters a segment journey at the first refresh tick at which a time-based condition holds, once', async () => {
      const store = await backend.clean();
      const p = project();
      // Sunday 2024-03-03 12:00 UTC (the weekly cron fires Monday 09:00 UTC and enters both; not counted here).
      const clock = manualClock('2024-03-03T12:00:00Z');
      await applyConfig(store, collectConfigFiles(p), { who: 'test', project: p, clock });
      await upsertCustomers(store.db, [email('a'), email('never')], clock.now());
      // a's purchase turns 30 days old 5.5 hours from now; the event is history (already processed).
      const boughtAt = clock.now() - 30 * DAY + 5.5 * HOUR;
      await purchase(store, 'a', boughtAt, clock.now());
      const projects = storeProjectLoader(store);
      await processEvents({ store, projects, clock });
      expect(await count(store, 'runs')).toBe(0);

      const worker = startWorker({ store, projects, clock, providers: () => { throw new Error('no sends in this test'); } });
      for (let h = 0; h < 48; h++) {
        await worker.tick();
        clock.advance(HOUR / 2);
      }
      await worker.stop();
      const enteredAt = (await rows<{ entered_at: Date }>(store, `SELECT entered_at FROM runs WHERE journey = 'winback'`)).map((r) => new Date(r.entered_at).getTime());
      // Ticks every hour on the hour: the first at or after the instant days_since passes 30.
      expect(enteredAt).toHaveLength(1);
      expect(enteredAt[0] % HOUR).toBe(0);
      expect(enteredAt[0]).toBeGreaterThan(boughtAt + 30 * DAY);
      expect(enteredAt[0]).toBeLessThanOrEqual(boughtAt + 31 * DAY + HOUR);
      expect(await rows(store, `SELECT customer_id FROM runs WHERE journey = 'winback'`)).toEqual([{ customer_id: 'a' }]);
      // One refresh sweep per hour, each walked to the end.
      const sweeps = await rows<{ n: number; open: number }>(store, `SELECT count(*)::int AS n, count(*) FILTER (WHERE done_at IS NULL)::int AS open FROM entry_sweeps WHERE kind = 'refresh'`);
      expect(sweeps).toEqual([{ n: 24, open: 0 }]);
    });

    it('walks customers a page per transaction, resumes from the cursor, and enters each customer once', async () => {
      const store = await backend.clean();
      const p = project();
      const clock = manualClock('2024-03-03T12:00:00Z');
      await applyConfig(store, collectConfigFiles(p), { who: 'test', project: p, clock });
      const ids = Array.from({ length: 450 }, (_, i) => `c${String(i).padStart(4, '0')}`);
      await upsertCustomers(store.db, ids.map(email), clock.now());
      for (const id of ids) await purchase(store, id, clock.now() - 40 * DAY, clock.now());
      const projects = storeProjectLoader(store);
      await processEvents({ store, projects, clock, batchSize: 1000 });
      // The events themselves entered everyone already: forget those runs, so the sweep has work.
      await store.db.raw(`TRUNCATE runs, outbox, ledger`);

      expect(await scheduleSweeps({ store, projects, clock })).toBe(1);
      expect(await scheduleSweeps({ store, projects, clock })).toBe(0); // the same instant: created once
      const first = await processSweeps({ store, projects, clock, batchSize: 100, maxPages: 2 });
      expect(first).toMatchObject({ pages: 2, customers: 200, entered: 200, finished: 0 });
      expect(await rows(store, `SELECT cursor, customers, done_at FROM entry_sweeps`)).toEqual([{ cursor: 'c0199', customers: 200, done_at: null }]);
      // What a crash would leave: the committed pages. The next worker resumes at the cursor.
      const rest = await processSweeps({ store, projects, clock, batchSize: 100 });
      expect(rest).toMatchObject({ customers: 250, entered: 250, finished: 1 });
      expect(await count(store, 'runs')).toBe(450);
      expect(await rows(store, `SELECT count(DISTINCT customer_id)::int AS n FROM outbox`)).toEqual([{ n: 450 }]);
      // A later tick finds everyone already entered (reentry: once).
      clock.advance(HOUR);
      await scheduleSweeps({ store, projects, clock });
      expect(await processSweeps({ store, projects, clock, batchSize: 100 })).toMatchObject({ customers: 450, entered: 0, finished: 1 });
    });

    it('two sweepers at once enter each customer once', async () => {
      const store = await backend.clean();
      const p = project();
      const clock = manualClock('2024-03-03T12:00:00Z');
      await applyConfig(store, collectConfigFiles(p), { who: 'test', project: p, clock });
      const ids = Array.from({ length: 120 }, (_, i) => `k${i}`);
      await upsertCustomers(store.db, ids.map(email), clock.now());
      for (const id of ids) await purchase(store, id, clock.now() - 40 * DAY, clock.now());
      await store.db.raw(`UPDATE events SET processed_at = received_at`);
      const other = backend.sibling ? await backend.sibling(store) : store;
      await scheduleSweeps({ store, projects: storeProjectLoader(store), clock });
      const [a, b] = await Promise.all([
        processSweeps({ store, projects: storeProjectLoader(store), clock, batchSize: 10, maxPages: 100 }),
        processSweeps({ store: other, projects: storeProjectLoader(other), clock, batchSize: 10, maxPages: 100 }),
      ]);
      expect(a.entered + b.entered).toBe(120);
      expect(await rows(store, `SELECT count(*)::int AS runs, count(DISTINCT customer_id)::int AS customers FROM runs`)).toEqual([{ runs: 120, customers: 120 }]);
    });

    it('cron entry: at each occurrence in the project time zone, not before activation, one catch-up after an outage', async () => {
      const store = await backend.clean();
      const p = project();
      // Monday 2024-03-04 10:30 Berlin (09:30 UTC): this Monday's 10:00 passed before the configuration existed.
      const clock = manualClock('2024-03-04T09:30:00Z');
      await applyConfig(store, collectConfigFiles(p), { who: 'test', project: p, clock });
      await upsertCustomers(store.db, [email('x'), email('y')], clock.now());
      const projects = storeProjectLoader(store);
      const weekly = async () => rows<{ customer_id: string; entered_at: Date }>(store, `SELECT customer_id, entered_at FROM runs WHERE journey = 'weekly' ORDER BY entered_at, customer_id`);
      const tick = async () => {
        await scheduleSweeps({ store, projects, clock });
        return processSweeps({ store, projects, clock });
      };
      await tick();
      expect(await weekly()).toEqual([]);
      // Next Monday 09:59 Berlin: not yet; 10:00 Berlin (09:00 UTC): both customers.
      clock.set(Date.parse('2024-03-11T08:59:00Z'));
      await tick();
      expect(await weekly()).toEqual([]);
      clock.set(Date.parse('2024-03-11T09:00:00Z'));
      expect(await tick()).toMatchObject({ entered: 2 });
      clock.set(Date.parse('2024-03-11T09:05:00Z'));
      expect(await tick()).toMatchObject({ entered: 0 });
      // Down for three Mondays: one occurrence is caught up, the latest.
      clock.set(Date.parse('2024-04-03T12:00:00Z'));
      expect(await tick()).toMatchObject({ entered: 2 });
      const fires = await rows<{ due_at: Date }>(store, `SELECT due_at FROM entry_sweeps WHERE kind = 'schedule' ORDER BY due_at`);
      expect(fires.map((f) => new Date(f.due_at).toISOString())).toEqual(['2024-03-11T09:00:00.000Z', '2024-04-01T08:00:00.000Z']); // CEST from 31 March
      expect((await weekly()).map((r) => r.customer_id)).toEqual(['x', 'y', 'x', 'y']);
    });

    it('a customer known only from its events is swept too', async () => {
      const store = await backend.clean();
      const p = project();
      const clock = manualClock('2024-03-03T12:00:00Z');
      await applyConfig(store, collectConfigFiles(p), { who: 'test', project: p, clock });
      await purchase(store, 'ghost', clock.now() - 29 * DAY, clock.now());
      const projects = storeProjectLoader(store);
      await processEvents({ store, projects, clock });
      expect(await rows(store, `SELECT id, attributes FROM customers`)).toEqual([{ id: 'ghost', attributes: {} }]);
      clock.advance(2 * DAY);
      await scheduleSweeps({ store, projects, clock });
      // Tuesday: the refresh sweep enters the lapsed customer, Monday's cron occurrence everyone.
      expect(await processSweeps({ store, projects, clock })).toMatchObject({ customers: 2, entered: 2, finished: 2 });
      expect(await rows(store, `SELECT customer_id, journey FROM runs ORDER BY journey`)).toEqual([
        { customer_id: 'ghost', journey: 'weekly' },
        { customer_id: 'ghost', journey: 'winback' },
      ]);
    });
  });
}

describe('latestFire', () => {
  it('counts an occurrence at the instant itself and uses the zone', () => {
    const at = Date.parse('2024-03-11T09:00:00Z');
    expect(latestFire('0 10 * * MON', 'Europe/Berlin', at)).toBe(at);
    expect(latestFire('0 10 * * MON', 'Europe/Berlin', at - 1)).toBe(Date.parse('2024-03-04T09:00:00Z'));
    expect(latestFire('0 10 * * MON', 'America/New_York', at)).toBe(Date.parse('2024-03-04T15:00:00Z'));
  });
});
