// Histories kept in memory between batches (worker/history-cache.ts): what is kept, extended with new events
// and moved to a later instant is exactly the part of the history a read at that instant gives; an entry is
// used only while the customer's history revision says nothing was written since, whoever wrote it (another
// replica entering at ingest, the queue's plain insert); a brand-new customer's first batch needs no read; a
// batch that rolls back keeps nothing; and entering a stream with kept histories gives the same runs, messages
// and ledger as reading every history each batch.
// The database parts on both backends.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Project } from '../../src/config/model.js';
import { isHeldOut } from '../../src/core/journey-step.js';
import { manualClock } from '../../src/engine/clock.js';
import { collectConfigFiles } from '../../src/engine/config-files.js';
import { applyConfig } from '../../src/engine/config-versions.js';
import { insertEvents, upsertCustomers } from '../../src/engine/ingest/write-ingest.js';
import type { ValidEvent } from '../../src/engine/ingest/validate-input.js';
import { migrate, MIGRATIONS, type OpenedStore } from '../../src/engine/store/index.js';
import type { StoredEvent } from '../../src/engine/worker/customer-data.js';
import { byTime, extendHistory, HistoryCache, needsByType, needsKey } from '../../src/engine/worker/history-cache.js';
import { historyNeeds, type HistoryNeed } from '../../src/engine/worker/history-needs.js';
import { ingestWithEntry } from '../../src/engine/worker/ingest-entry.js';
import { historyCacheOf, processEvents, storeProjectLoader, type ProjectLoader } from '../../src/engine/worker/index.js';
import { prng } from '../support/prng.js';
import { backendNames, rows, useBackend } from './support/backends.js';
import { DAY, histories, NOW } from './support/histories.js';

const loaded = loadProject([path.resolve('campaigns')]);
if (!loaded.project) throw new Error('campaigns/ does not load');
const project: Project = loaded.project;

/** What a read at `at` gives (history-needs.ts historySource): per type, all after the window's start, and the newest `recent` before it with ties. */
function partOf(events: readonly StoredEvent[], needs: readonly HistoryNeed[], at: number): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const need of needs) {
    const mine = events.filter((e) => e.type === need.type);
    const since = need.windowMs === Infinity ? -Infinity : at - need.windowMs;
    out.push(...mine.filter((e) => e.ts > since));
    const before = mine.filter((e) => e.ts <= since).sort((a, b) => b.ts - a.ts);
    if (need.recent > 0 && before.length) {
      const last = before[Math.min(need.recent, before.length) - 1].ts;
      out.push(...before.filter((e, i) => i < need.recent || e.ts === last));
    }
  }
  return out.sort(byTime);
}

describe('extendHistory', () => {
  // Few instants, so events tie in time often, also on the last of the `recent` before a window.
  const need = fc.record({ windowMs: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(Infinity)), recent: fc.integer({ min: 0, max: 3 }) });
  const event = fc.record({ type: fc.constantFrom('a', 'b', 'c'), ts: fc.integer({ min: 0, max: 60 }), later: fc.boolean() });

  it('gives what a read at the later instant gives: the added events of the needed types in, what no reader needs any more out', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), need, need, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 40 }), (drawn, a, b, t0, step) => {
        const needs: HistoryNeed[] = [
          { type: 'a', ...a },
          { type: 'b', ...b },
        ];
        // `later`: inserted after the history was kept, at any ts (late events, future events).
        const all = drawn.map((e, i) => ({ id: `e${String(i).padStart(2, '0')}`, type: e.type, ts: e.ts, props: { later: e.later } }));
        const before = all.filter((e) => !e.props.later);
        const added = all.filter((e) => e.props.later);
        const t1 = t0 + step;
        expect(extendHistory(partOf(before, needs, t0), added, needsByType(needs), t1)).toEqual(partOf(all, needs, t1));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps events of a type with no window, and drops the types nobody reads', () => {
    const needs: HistoryNeed[] = [{ type: 'purchase', windowMs: Infinity, recent: 0 }];
    const kept = [{ id: 'p1', type: 'purchase', ts: 1, props: {} }];
    const added = [
      { id: 'v1', type: 'product_view', ts: 5, props: {} },
      { id: 'p0', type: 'purchase', ts: 0, props: {} },
    ];
    expect(extendHistory(kept, added, needsByType(needs), 1e12).map((e) => e.id)).toEqual(['p0', 'p1']);
  });
});

describe('HistoryCache', () => {
  const events = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `e${i}`, type: 'a', ts: i, props: {} }));

  it('hands out an entry only for the needs it was kept for and at its instant or later', () => {
    const cache = new HistoryCache();
    cache.keep('k1', [{ customerId: 'c1', rev: 3, at: 100, events: events(2) }]);
    expect(cache.usable('c1', 'k1', 100)).toMatchObject({ rev: 3, at: 100 });
    expect(cache.usable('c1', 'k1', 150)).toMatchObject({ rev: 3 });
    expect(cache.usable('c1', 'k1', 99)).toBeUndefined();
    expect(cache.usable('c1', 'k2', 150)).toBeUndefined();
    expect(cache.usable('c2', 'k1', 150)).toBeUndefined();
  });

  it('never replaces a revision with an older one, and forgets everything when the needs change', () => {
    const cache = new HistoryCache();
    cache.keep('k1', [{ customerId: 'c1', rev: 5, at: 100, events: events(3) }]);
    cache.keep('k1', [{ customerId: 'c1', rev: 4, at: 200, events: events(1) }]);
    expect(cache.usable('c1', 'k1', 300)).toMatchObject({ rev: 5, at: 100 });
    cache.keep('k2', [{ customerId: 'c2', rev: 1, at: 100, events: events(1) }]);
    expect(cache.size()).toEqual({ customers: 1, events: 1 });
    expect(cache.usable('c1', 'k2', 300)).toBeUndefined();
  });

  it('holds at most its number of events, dropping the least recently used customers first', () => {
    const cache = new HistoryCache(10);
    cache.keep('k', [
      { customerId: 'c1', rev: 1, at: 0, events: events(4) },
      { customerId: 'c2', rev: 1, at: 0, events: events(4) },
    ]);
    expect(cache.usable('c1', 'k', 0)).toBeDefined();
    cache.keep('k', [{ customerId: 'c3', rev: 1, at: 0, events: events(4) }]);
    expect(cache.size()).toEqual({ customers: 2, events: 8 });
    expect(cache.usable('c2', 'k', 0)).toBeUndefined();
    expect(cache.usable('c1', 'k', 0)).toBeDefined();
    expect(cache.usable('c3', 'k', 0)).toBeDefined();
  });
});

const profile = (id: string) => ({ id, attributes: { email: `${id}@example.com`, email_opt_in: true, sms_opt_in: true, phone: '+4915112345678', first_name: 'Ada', timezone: 'Europe/Berlin' } });
const view = (customerId: string, id: string, ts: number): ValidEvent => ({ customerId, id, type: 'product_view', ts, props: { product_id: 'P0001', price: 10 } });

describe.each(backendNames())('kept histories, on %s', (name) => {
  const backend = useBackend(name);

  async function configured(store: OpenedStore, at: number) {
    const clock = manualClock(at);
    await applyConfig(store, collectConfigFiles(project), { who: 'test', project, clock });
    return clock;
  }

  const keptIds = (projects: ProjectLoader, customerId: string, at: number) =>
    historyCacheOf(projects)
      .usable(customerId, needsKey(historyNeeds([project])), at)
      ?.events.map((e) => e.id);

  it('enters a stream with the same runs, messages and ledger as when every batch reads every history', async () => {
    const kept = await backend.fresh();
    const read = await backend.fresh();
    const start = NOW - 20 * DAY;
    // And ten customers who bought often until three months before: lapsed-loyal (winback) reads all purchases.
    const lapsed = Array.from({ length: 60 }, (_, i) => ({ customerId: `h${String(i % 10).padStart(3, '0')}`, id: `lp${i}`, type: 'purchase', ts: NOW - (100 + i * 4) * DAY, props: { order_id: `lp${i}`, amount: 80, product_ids: ['P0002'] } }));
    const events = [...histories(60), ...lapsed];
    const ids = [...new Set(events.map((e) => e.customerId))];
    const rand = prng(99);
    // Received in an order of their own, 40 to a batch, each batch six hours after the one before.
    const order = events.map((e) => ({ e, k: rand() })).sort((x, y) => x.k - y.k).map((x) => x.e);
    const projects = new Map<OpenedStore, ProjectLoader>();
    for (const store of [kept, read]) {
      await configured(store, start);
      await upsertCustomers(store.db, ids.map(profile), start);
      projects.set(store, storeProjectLoader(store));
    }
    for (let i = 0, k = 0; i < order.length; i += 40, k++) {
      const at = start + k * 6 * 3_600_000;
      const batch = order.slice(i, i + 40);
      // `kept` enters at ingest with one loader (so one cache) throughout. `read` takes the same batches
      // through the queue with a new loader each, so every batch reads every history from the database.
      await ingestWithEntry({ store: kept, projects: projects.get(kept)!, clock: manualClock(at) }, batch, at);
      await insertEvents(read.db, batch, at);
      expect((await processEvents({ store: read, projects: storeProjectLoader(read), clock: manualClock(at) })).events).toBe(batch.length);
    }
    const cached = historyCacheOf(projects.get(kept)!).size();
    expect(cached.customers).toBe(ids.length);
    const state = async (store: OpenedStore) => ({
      runs: await rows(store, `SELECT customer_id, run_id, journey, status, state FROM runs ORDER BY 1, 2`),
      outbox: await rows(store, `SELECT customer_id, id, run_id, step, channel, template, status, next_attempt_at FROM outbox ORDER BY 1, 2`),
      ledger: await rows(store, `SELECT customer_id, message_id, channel, at, cost FROM ledger ORDER BY 1, 2`),
    });
    const a = await state(kept);
    const b = await state(read);
    // Journeys that read the history did enter: views of 7 days (browse-abandonment), all purchases (winback).
    expect(new Set(a.runs.map((r) => r.journey))).toEqual(new Set(['browse-abandonment', 'lapsed-loyal-winback', 'welcome']));
    expect(a).toEqual(b);
  });

  it('reads a history again when another replica entered events for the customer in between', async () => {
    const store = await backend.clean();
    const clock = await configured(store, NOW);
    await upsertCustomers(store.db, [profile('c1')], NOW);
    const a = storeProjectLoader(store);
    const b = storeProjectLoader(store);
    await ingestWithEntry({ store, projects: a, clock }, [view('c1', 'v1', NOW - 3)], NOW);
    expect(keptIds(a, 'c1', NOW)).toEqual(['v1']);
    // Replica b (a cache of its own) enters an event; it reads c1's history (new to b, not to the database),
    // and a's next batch must see b's event.
    await ingestWithEntry({ store, projects: b, clock }, [view('c1', 'v2', NOW - 2)], NOW);
    expect(keptIds(b, 'c1', NOW)).toEqual(['v1', 'v2']);
    await ingestWithEntry({ store, projects: a, clock }, [view('c1', 'v3', NOW - 1)], NOW);
    expect(keptIds(a, 'c1', NOW)).toEqual(['v1', 'v2', 'v3']);
    expect(await rows(store, `SELECT history_rev::int AS rev FROM customers WHERE id = 'c1'`)).toEqual([{ rev: 3 }]);
  });

  it("reads a history again after the queue's plain insert, and the worker keeps what it read", async () => {
    const store = await backend.clean();
    const clock = await configured(store, NOW);
    await upsertCustomers(store.db, [profile('c1')], NOW);
    const a = storeProjectLoader(store);
    await ingestWithEntry({ store, projects: a, clock }, [view('c1', 'v1', NOW - 3)], NOW);
    // POST /v1/events with entry off: queued, the revision raised in the same statement.
    await insertEvents(store.db, [view('c1', 'v2', NOW - 2)], NOW);
    await ingestWithEntry({ store, projects: a, clock }, [view('c1', 'v3', NOW - 1)], NOW);
    expect(keptIds(a, 'c1', NOW)).toEqual(['v1', 'v2', 'v3']);
    // The worker's batches use and keep histories too: v4 is queued, then taken off the queue by the worker.
    await insertEvents(store.db, [view('c1', 'v4', NOW)], NOW);
    expect((await processEvents({ store, projects: a, clock })).events).toBe(1);
    expect(keptIds(a, 'c1', NOW)).toEqual(['v1', 'v2', 'v3', 'v4']);
    // Only a write that raises the revision is seen: this one, behind the engine's back, is not (which is why
    // every statement that inserts events raises it).
    await store.db.raw(`INSERT INTO events (customer_id, id, type, ts, props, received_at, processed_at) VALUES ('c1', 'v5', 'product_view', ?, '{}', ?, ?)`, [new Date(NOW), new Date(NOW), new Date(NOW)]);
    await ingestWithEntry({ store, projects: a, clock }, [view('c1', 'v6', NOW)], NOW);
    expect(keptIds(a, 'c1', NOW)).toEqual(['v1', 'v2', 'v3', 'v4', 'v6']);
    // Nor by a brand-new customer's first batch (a profile, revision 0): it has no history but its own events,
    // so it reads none.
    await upsertCustomers(store.db, [profile('c2')], NOW);
    await store.db.raw(`INSERT INTO events (customer_id, id, type, ts, props, received_at, processed_at) VALUES ('c2', 'w1', 'product_view', ?, '{}', ?, ?)`, [new Date(NOW), new Date(NOW), new Date(NOW)]);
    await ingestWithEntry({ store, projects: a, clock }, [view('c2', 'w2', NOW)], NOW);
    expect(keptIds(a, 'c2', NOW)).toEqual(['w2']);
  });

  it('migration 7 starts the customers that may have events at revision 1, and gives queued events their customer', async () => {
    const store = await backend.fresh({ migrate: false });
    await migrate(store.db, MIGRATIONS.filter((m) => m.id < 7));
    await store.db.raw(`INSERT INTO customers (id, attributes, created_at, updated_at) VALUES ('old', '{}', now(), now())`);
    // Before 7, an event insert did not create its customer; the worker's claim did.
    await store.db.raw(`INSERT INTO events (customer_id, id, type, ts, props, received_at) VALUES ('queued', 'q1', 'signup', now(), '{}', now())`);
    await migrate(store.db);
    await store.db.raw(`INSERT INTO customers (id, attributes, created_at, updated_at) VALUES ('new', '{}', now(), now())`);
    expect(await rows(store, `SELECT id, history_rev::int AS rev FROM customers ORDER BY id`)).toEqual([
      { id: 'new', rev: 0 },
      { id: 'old', rev: 1 },
      { id: 'queued', rev: 1 },
    ]);
  });

  it('keeps nothing from a batch that rolled back', async () => {
    const store = await backend.clean();
    const clock = await configured(store, NOW);
    // A customer the welcome journey does not hold out: the signup below writes a run.
    const welcome = project.journeys.get('welcome')!;
    const c1 = Array.from({ length: 50 }, (_, i) => `k${i}`).find((id) => !isHeldOut(welcome, id))!;
    await upsertCustomers(store.db, [profile(c1)], NOW);
    const a = storeProjectLoader(store);
    await ingestWithEntry({ store, projects: a, clock }, [view(c1, 'v1', NOW - 3)], NOW);
    // The batch's run writes fail after its read: the transaction rolls back.
    await store.db.raw(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await store.db.raw(`CREATE TRIGGER refuse BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION refuse()`);
    try {
      const batch = [view(c1, 'v2', NOW - 2), { customerId: c1, id: 's1', type: 'signup', ts: NOW, props: {} }];
      await expect(ingestWithEntry({ store, projects: a, clock }, batch, NOW)).rejects.toThrow(/refused/);
    } finally {
      await store.db.raw(`DROP TRIGGER refuse ON runs`);
      await store.db.raw(`DROP FUNCTION refuse()`);
    }
    expect(keptIds(a, c1, NOW)).toEqual(['v1']);
    expect(await rows(store, `SELECT history_rev::int AS rev FROM customers WHERE id = ?`, [c1])).toEqual([{ rev: 1 }]);
  });
});
