// The durable event queue (events.processed_at IS NULL): one transaction per batch claims events with
// FOR UPDATE SKIP LOCKED, offers each to the customer's runs (goals, wait-for-event), then to event-entry
// journeys, then re-evaluates segment-entry journeys for that customer, writes runs, outbox and ledger rows,
// and marks the events processed. A crash before commit leaves the events queued; a repeated event id was
// never stored twice (ingest), and a processed event is never claimed again, so nothing enters twice.
//
// A batch costs four statements whatever its size (claim and lock; runs; everything else read; everything
// written), because per-event round trips, not the stepping, were what bounded throughput. The steps in
// between see the batch's own sends through the ledger snapshot (customer-data.ts), as they saw the rows.
//
// Steps happen at the worker's clock (`now`), not at the event's ts: the engine acts when it learns of an
// event. Refresh-tick and cron entry are sweeps (entry-sweeps.ts).
import type { JourneyDef, Project } from '../../config/model.js';
import { eventReaches } from '../../core/journey-step.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import type { Knex } from 'knex';
import { goalJourneys, isMember, ledgerWindows, loadBatch, testExpr, type CustomerData, type OfferedEvent } from './customer-data.js';
import { HistoryCache, knownHistories, needsKey, type HistoryUpdate } from './history-cache.js';
import { historyNeeds } from './history-needs.js';
import type { ProjectLoader } from './projects.js';
import { canEnter, customerLockKey, enterInBatch, RunWrites, stepInBatch, type StepBatch, type StoredRun } from './runs.js';

export { canEnter };

export interface ProcessEventsOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  batchSize?: number;
}

export interface ProcessEventsResult {
  events: number;
  entered: number;
  sends: number;
}

interface EventRow {
  customer_id: string;
  id: string;
  type: string;
  ts: number;
  props: Record<string, unknown> | null;
}

/** Thrown inside the transaction when a run steps on a version not loaded yet: loaded outside, then the batch is retried. */
class VersionsNeeded extends Error {
  constructor(readonly versions: string[]) {
    super(`config versions not loaded: ${versions.join(', ')}`);
  }
}

/**
 * Versions each loader has handed out before a transaction. Inside one, a first load would ask the pool for a
 * second connection, which PGlite (one connection) can never give while the transaction holds its own.
 */
const loadedVersions = new WeakMap<ProjectLoader, Map<string, Project>>();

export type ActiveProject = { version: string; project: Project };

/** The histories each loader's batches keep between them (history-cache.ts); one per process and store. */
const historyCaches = new WeakMap<ProjectLoader, HistoryCache>();

export function historyCacheOf(projects: ProjectLoader): HistoryCache {
  let cache = historyCaches.get(projects);
  if (!cache) historyCaches.set(projects, (cache = new HistoryCache()));
  return cache;
}

/** What offerBatch did, and the histories to keep once its transaction has committed. */
export interface OfferedBatch extends ProcessEventsResult {
  history: { key: string; updates: HistoryUpdate[] };
}

/**
 * Runs `body` in a transaction with the active version and every version loaded so far; when a run turns out
 * to step on a version not loaded yet, the transaction is rolled back, the version loaded, and `body` retried.
 */
export async function withLoadedVersions<T>(options: { store: Store; projects: ProjectLoader }, active: ActiveProject, body: (trx: Knex.Transaction, loaded: ReadonlyMap<string, Project>) => Promise<T>): Promise<T> {
  let loaded = loadedVersions.get(options.projects);
  if (!loaded) loadedVersions.set(options.projects, (loaded = new Map()));
  loaded.set(active.version, active.project);
  for (let attempt = 0; ; attempt++) {
    try {
      return await options.store.db.transaction((trx) => body(trx, loaded));
    } catch (error) {
      if (!(error instanceof VersionsNeeded) || attempt >= 2) throw error;
      for (const v of error.versions) loaded.set(v, await options.projects.version(v));
    }
  }
}

export async function processEvents(options: ProcessEventsOptions): Promise<ProcessEventsResult> {
  const active = await options.projects.active();
  // Nothing active: events wait in the queue for the first configuration.
  if (!active) return { events: 0, entered: 0, sends: 0 };
  const now = options.clock.now();
  const cache = historyCacheOf(options.projects);
  const out = await withLoadedVersions(options, active, async (trx, loaded): Promise<OfferedBatch | undefined> => {
    // Claimed and marked processed in one statement: both commit with the batch's runs or not at all. The
    // customers are created (an event may come before, or without, its POST /v1/customers: refresh and cron
    // sweeps walk the customers table) and locked in the database's id order, the order sweeps lock in, so
    // two transactions holding several customers never wait on each other in a cycle. The lock is taken here,
    // before the statements that read the customers, so they see what the previous holder committed.
    const claimed = (
      await trx.raw(
        `WITH claimed AS (
           UPDATE events SET processed_at = ?
            WHERE (customer_id, id) IN (
              SELECT customer_id, id FROM events WHERE processed_at IS NULL
               ORDER BY received_at, customer_id, id LIMIT ? FOR UPDATE SKIP LOCKED)
           RETURNING customer_id, id, type, ts, props),
         created AS (
           INSERT INTO customers (id, created_at, updated_at) SELECT DISTINCT customer_id, ?::timestamptz, ?::timestamptz FROM claimed
           ON CONFLICT (id) DO NOTHING),
         locked AS (
           SELECT count(pg_advisory_xact_lock(${customerLockKey('s.id')})) AS n FROM (SELECT DISTINCT customer_id AS id FROM claimed ORDER BY id) AS s)
         SELECT claimed.customer_id, claimed.id, claimed.type, trunc(extract(epoch FROM claimed.ts) * 1000)::float8 AS ts, claimed.props, (SELECT n FROM locked) AS locked FROM claimed`,
        [new Date(now), options.batchSize ?? 500, new Date(now), new Date(now)],
      )
    ).rows as EventRow[];
    if (claimed.length === 0) return undefined;
    const offered = claimed.map((e) => ({ customerId: e.customer_id, id: e.id, type: e.type, ts: Number(e.ts), props: e.props ?? {} }));
    return offerBatch(trx, { active, loaded, now, cache }, offered);
  });
  if (!out) return { events: 0, entered: 0, sends: 0 };
  cache.keep(out.history.key, out.history.updates);
  return { events: out.events, entered: out.entered, sends: out.sends };
}

/**
 * Offers events whose customers the transaction holds (locked, created) to their runs and to the journeys,
 * and writes what the steps did: the part the queue and at-ingest entry (ingest-entry.ts) share. The
 * customers' other queued events are claimed and offered too, so a customer's events go through in time order
 * whichever path picks them up. `events.result` counts the offered events.
 *
 * Histories `cache` holds are used when still valid (history-cache.ts). `inserted`: the transaction stored
 * `offered` itself (at-ingest entry), which raised their customers' revisions by one, and these are the
 * revisions it read back, final until commit; when they show every customer's history held or its own, the
 * read leaves the history out altogether. The caller keeps the returned histories in `cache` once the
 * transaction has committed. `lap` is told when the read and the steps are done (ingest-entry.ts's phases).
 */
export async function offerBatch(
  trx: Knex.Transaction,
  a: { active: ActiveProject; loaded: ReadonlyMap<string, Project>; now: number; cache: HistoryCache; inserted?: ReadonlyMap<string, number>; lap?: (phase: 'read' | 'step') => void },
  offered: readonly OfferedEvent[],
): Promise<OfferedBatch> {
  const { active, loaded, now } = a;
  const result: ProcessEventsResult = { events: 0, entered: 0, sends: 0 };
  const byCustomer = new Map<string, OfferedEvent[]>();
  const add = (e: OfferedEvent) => {
    const list = byCustomer.get(e.customerId);
    if (list) list.push(e);
    else byCustomer.set(e.customerId, [e]);
  };
  for (const e of offered) add(e);
  const ids = [...byCustomer.keys()].sort();
  const needs = historyNeeds(loaded.values());
  const key = needsKey(needs);
  const known = knownHistories(a.cache, { key, needs, now }, ids, a.inserted && { revs: a.inserted, events: byCustomer });
  const read = await loadBatch(trx, ledgerWindows(loaded.values()), needs, ids, now, { claimQueued: true, goalJourneys: goalJourneys(loaded.values()), ...known });
  a.lap?.('read');
  for (const e of read.claimed) add(e);
  const missing = new Set<string>();
  for (const list of read.runs.values()) for (const run of list) if (!loaded.has(run.configVersion)) missing.add(run.configVersion);
  if (missing.size) throw new VersionsNeeded([...missing]);
  const batch: StepBatch = { data: read.data, writes: new RunWrites(now) };
  const journeys = [...active.project.journeys.values()].sort((x, y) => x.meta.name.localeCompare(y.meta.name));
  // Customers in id order, each one's events in time order: the order the plan offers them in.
  for (const customerId of ids) {
    const customer = read.customers.get(customerId)!;
    const mine = read.runs.get(customerId)!;
    const events = byCustomer.get(customerId)!.sort((x, y) => x.ts - y.ts || x.id.localeCompare(y.id));
    // Membership at `now` of one customer whose profile and events (this batch's included) were read before
    // the first offer: the same answer for each of the customer's events, so computed once.
    const offers: CustomerOffers = { version: active.version, project: active.project, projects: loaded, journeys, batch, customer, members: new Map(), runs: mine, now };
    for (const e of events) {
      const r = offerEvent(offers, e.type, e.props);
      result.entered += r.entered;
      result.sends += r.sends;
    }
    result.events += events.length;
  }
  a.lap?.('step');
  await batch.writes.flush(trx);
  const updates: HistoryUpdate[] = [];
  for (const id of ids) {
    const rev = read.revs.get(id);
    if (rev !== undefined) updates.push({ customerId: id, rev, at: now, events: read.customers.get(id)!.events });
  }
  return { ...result, history: { key, updates } };
}

/** One customer's offers in a batch: built once, then each of the customer's events is offered with it. */
interface CustomerOffers {
  version: string;
  project: Project;
  projects: ReadonlyMap<string, Project>;
  journeys: readonly JourneyDef[];
  batch: StepBatch;
  customer: CustomerData;
  /** Segment membership memo for this customer at `now` (isMember). */
  members: Map<string, boolean>;
  runs: StoredRun[];
  now: number;
}

function offerEvent(a: CustomerOffers, type: string, props: Record<string, unknown>): { entered: number; sends: number } {
  const { customer, runs, now } = a;
  let entered = 0;
  let sends = 0;
  // 1. Runs in flight (each on its own version): goals and wait-for-event, offered only the events that can
  // move them, so a view does not rewrite every open run of the customer.
  for (const run of runs) {
    const project = a.projects.get(run.configVersion)!;
    const journey = project.journeys.get(run.journey);
    if (run.ended || !journey || !eventReaches(run.state, journey, type, now)) continue;
    const out = stepInBatch(a.batch, { project, version: run.configVersion, journey, customer, previous: run.state, input: { kind: 'event', at: now, type, props }, now, isNew: false });
    run.state = out.state;
    sends += out.sends;
  }
  // 2. Entries, in journey-name order like the plan.
  for (const journey of a.journeys) {
    const entry = journey.entry;
    let event: { type: string; props: Record<string, unknown> } | undefined;
    if (entry.kind === 'event') {
      if (entry.event !== type || !canEnter(journey, runs, now)) continue;
      if (entry.where && !testExpr(a.project, customer, entry.where, now, props)) continue;
      event = { type, props };
    } else if (entry.kind === 'segment') {
      if (!canEnter(journey, runs, now) || !isMember(a.project, customer, entry.segment, now, a.members)) continue;
    } else {
      continue;
    }
    const out = enterInBatch(a.batch, { project: a.project, version: a.version, journey, customer, runs, now, event });
    if (!out) continue;
    entered++;
    sends += out.sends;
  }
  return { entered, sends };
}
