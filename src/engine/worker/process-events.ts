// The durable event queue (events.processed_at IS NULL): one transaction per batch claims events with
// FOR UPDATE SKIP LOCKED, offers each to the customer's runs (goals, wait-for-event), then to event-entry
// journeys, then re-evaluates segment-entry journeys for that customer, writes runs, outbox and ledger rows,
// and marks the events processed. A crash before commit leaves the events queued; a repeated event id was
// never stored twice (ingest), and a processed event is never claimed again, so nothing enters twice.
//
// Steps happen at the worker's clock (`now`), not at the event's ts: the engine acts when it learns of an
// event. Refresh-tick and cron entry are sweeps (entry-sweeps.ts).
import type { Knex } from 'knex';
import type { Project } from '../../config/model.js';
import { listensForGoal } from '../../core/journey-step.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { isMember, loadCustomer, testExpr, type CustomerData } from './customer-data.js';
import { preloadVersions, type ProjectLoader } from './projects.js';
import { canEnter, customerRuns, enterJourney, lockCustomer, stepAndPersist, type StoredRun } from './runs.js';

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
  ts: Date;
  props: Record<string, unknown>;
}

export async function processEvents(options: ProcessEventsOptions): Promise<ProcessEventsResult> {
  const result: ProcessEventsResult = { events: 0, entered: 0, sends: 0 };
  const active = await options.projects.active();
  // Nothing active: events wait in the queue for the first configuration.
  if (!active) return result;
  const now = options.clock.now();
  await preloadVersions(options.projects, options.store.db, `SELECT DISTINCT config_version FROM runs WHERE status = 'active'`);
  await options.store.db.transaction(async (trx) => {
    const claimed = (
      await trx.raw(
        `SELECT customer_id, id, type, ts, props FROM events WHERE processed_at IS NULL
          ORDER BY received_at, customer_id, id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [options.batchSize ?? 100],
      )
    ).rows as EventRow[];
    if (claimed.length === 0) return;
    // An event may come before (or without) its customer's POST /v1/customers: the customer exists from its
    // first processed event, so refresh and cron sweeps (which walk the customers table) see it.
    await trx.raw(
      `INSERT INTO customers (id, created_at, updated_at) SELECT DISTINCT c, ?::timestamptz, ?::timestamptz FROM unnest(?::text[]) AS x(c) ON CONFLICT (id) DO NOTHING`,
      [new Date(now), new Date(now), claimed.map((e) => e.customer_id)],
    );
    const byCustomer = new Map<string, EventRow[]>();
    for (const e of claimed) byCustomer.set(e.customer_id, [...(byCustomer.get(e.customer_id) ?? []), e]);
    // Customers locked in one order, so two workers never wait on each other in a cycle.
    for (const customerId of [...byCustomer.keys()].sort()) {
      await lockCustomer(trx, customerId);
      const customer = await loadCustomer(trx, customerId);
      const runs = await customerRuns(trx, customerId);
      const events = byCustomer.get(customerId)!.sort((a, b) => new Date(a.ts).getTime() - new Date(b.ts).getTime() || a.id.localeCompare(b.id));
      for (const e of events) {
        const r = await offerEvent(trx, { ...active, customer, runs, now, type: e.type, props: e.props ?? {}, projects: options.projects });
        result.entered += r.entered;
        result.sends += r.sends;
      }
    }
    await trx.raw(
      `UPDATE events SET processed_at = ? FROM unnest(?::text[], ?::text[]) AS x(c, i) WHERE events.customer_id = x.c AND events.id = x.i`,
      [new Date(now), claimed.map((e) => e.customer_id), claimed.map((e) => e.id)],
    );
    result.events = claimed.length;
  });
  return result;
}

async function offerEvent(
  trx: Knex.Transaction,
  a: { version: string; project: Project; projects: ProjectLoader; customer: CustomerData; runs: StoredRun[]; now: number; type: string; props: Record<string, unknown> },
): Promise<{ entered: number; sends: number }> {
  const { customer, runs, now } = a;
  let entered = 0;
  let sends = 0;
  // 1. Runs in flight (each on its own version): goals and wait-for-event.
  for (const run of runs) {
    const project = run.configVersion === a.version ? a.project : await a.projects.version(run.configVersion);
    const journey = project.journeys.get(run.journey);
    if (!journey || !listensForGoal(run.state, journey, now)) continue;
    const out = await stepAndPersist(trx, { project, version: run.configVersion, journey, customer, previous: run.state, input: { kind: 'event', at: now, type: a.type, props: a.props }, now, isNew: false });
    run.state = out.state;
    sends += out.sends;
  }
  // 2. Entries, in journey-name order like the plan.
  const journeys = [...a.project.journeys.values()].sort((x, y) => x.meta.name.localeCompare(y.meta.name));
  for (const journey of journeys) {
    const entry = journey.entry;
    let event: { type: string; props: Record<string, unknown> } | undefined;
    if (entry.kind === 'event') {
      if (entry.event !== a.type || !canEnter(journey, runs, now)) continue;
      if (entry.where && !testExpr(a.project, customer, entry.where, now, a.props)) continue;
      event = { type: a.type, props: a.props };
    } else if (entry.kind === 'segment') {
      if (!canEnter(journey, runs, now) || !isMember(a.project, customer, entry.segment, now)) continue;
    } else {
      continue;
    }
    const out = await enterJourney(trx, { project: a.project, version: a.version, journey, customer, runs, now, event });
    if (!out) continue;
    entered++;
    sends += out.sends;
  }
  return { entered, sends };
}
