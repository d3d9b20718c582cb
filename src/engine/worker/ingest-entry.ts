// Journey entry at ingest: POST /v1/events stores a batch and offers it to the journeys in one transaction,
// so the request is answered with its runs, outbox and ledger rows already committed and the events never
// pass through the queue (they are stored processed). Half the work of the queue path disappears with it:
// no second write of every event row to mark it processed, no queue-index entries, no claim.
//
// The queue stays the way everything else gets in: events ingested while nothing is active, and any batch
// whose entry transaction fails (it is then stored queued, as before, and the worker takes it). A customer's
// events still queued are claimed and offered with the new ones (offerBatch), so order per customer holds.
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import { eventKey, eventOutcomes, eventRows, eventsJson, historyRevisions, insertEvents, type EventOutcome } from '../ingest/write-ingest.js';
import type { ValidEvent } from '../ingest/validate-input.js';
import type { Store } from '../store/open-store.js';
import { historyCacheOf, offerBatch, withLoadedVersions, type ActiveProject, type ProcessEventsResult } from './process-events.js';
import type { ProjectLoader } from './projects.js';
import { runPrepared } from '../store/prepared.js';
import { customerLockKey } from './runs.js';

export interface IngestEntryOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  /** Told, once per committed batch, how long each part of its transaction took (the engine's /metrics). */
  phases?: (seconds: EntryPhases) => void;
}

/**
 * Where a batch's entry transaction spends its time, in seconds: the insert statement (locks, events,
 * revisions), the read of its customers, the journey steps, the writes of runs, outbox and ledger rows, and
 * the rest of the transaction (BEGIN, COMMIT, an attempt run again). Request parsing and validation come
 * before, outside.
 */
export interface EntryPhases {
  insert: number;
  read: number;
  step: number;
  write: number;
  commit: number;
}

export interface IngestEntryResult {
  outcomes: EventOutcome[];
  /** What entry did; undefined when the events were queued for the worker instead. */
  entry?: ProcessEventsResult;
}

/**
 * Stores `events` (received at `receivedAt`, which is also the instant the journeys step at) and enters them
 * into journeys in the same transaction. Without an active configuration they are stored queued.
 */
export async function ingestWithEntry(options: IngestEntryOptions, events: readonly ValidEvent[], receivedAt: number): Promise<IngestEntryResult> {
  if (events.length === 0) return { outcomes: [] };
  for (let attempt = 0; ; attempt++) {
    // The version the last batch found active, checked by the insert statement itself instead of a query
    // of its own before the transaction (about 1 ms of a 30 ms batch): when an apply or a rollback came in
    // between, the check fails, the transaction rolls back and the batch starts over with the new version.
    const active = lastActive.get(options.projects) ?? (await options.projects.active());
    if (!active) return { outcomes: await insertEvents(options.store.db, events, receivedAt) };
    try {
      const result = await enterAtIngest(options, active, events, receivedAt);
      lastActive.set(options.projects, active);
      return result;
    } catch (error) {
      lastActive.delete(options.projects);
      if (!(error instanceof ActiveChanged || isConcurrentDuplicate(error)) || attempt >= 2) throw error;
    }
  }
}

/** A batch's event stored meanwhile by a transaction that was open when the insert began (insertLocked). */
function isConcurrentDuplicate(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === 'events_pkey';
}

/** The active version each loader's last batch entered with. */
const lastActive = new WeakMap<ProjectLoader, ActiveProject>();

/** Thrown inside the transaction when the active version is not the one the batch was about to enter with. */
class ActiveChanged extends Error {
  constructor(readonly expected: string, readonly found: string | null) {
    super(`the active configuration changed from ${expected} to ${found ?? 'none'}`);
  }
}

async function enterAtIngest(options: IngestEntryOptions, active: ActiveProject, events: readonly ValidEvent[], receivedAt: number): Promise<IngestEntryResult> {
  const cache = historyCacheOf(options.projects);
  const timer = options.phases && new PhaseTimer();
  const { outcomes, offered } = await withLoadedVersions(options, active, async (trx, loaded) => {
    timer?.start();
    const { outcomes, activeVersion, revs } = await insertLocked(trx, events, receivedAt);
    timer?.lap('insert');
    if (activeVersion !== active.version) throw new ActiveChanged(active.version, activeVersion);
    const fresh = outcomes.filter((o) => o.inserted).map(({ event: e }) => ({ customerId: e.customerId, id: e.id, type: e.type, ts: e.ts, props: e.props }));
    const offered = fresh.length ? await offerBatch(trx, { active, loaded, now: receivedAt, cache, inserted: revs, lap: timer && ((phase) => timer.lap(phase)) }, fresh) : undefined;
    timer?.lap('write');
    return { outcomes, offered };
  });
  if (timer) {
    timer.lap('commit');
    options.phases!(timer.seconds);
  }
  if (!offered) return { outcomes, entry: { events: 0, entered: 0, sends: 0 } };
  cache.keep(offered.history.key, offered.history.updates);
  return { outcomes, entry: { events: offered.events, entered: offered.entered, sends: offered.sends } };
}

/**
 * One statement: the batch's customers locked in id order (the order every other path locks in, so no cycle),
 * then the events not stored yet inserted already processed, then their customers created or their history
 * revision raised (historyRevisions, whose new revisions it returns); and the version active as the statement
 * runs. The lock comes first: a concurrent batch with the same customer waits here.
 *
 * A repeated id is left out by the statement's NOT EXISTS (and, within the batch, before it is sent) rather
 * than by ON CONFLICT DO NOTHING, whose speculative insertion cost 1.3 ms of a 4 ms batch insert. The same id
 * inserted by a transaction still open when this statement started is the one case NOT EXISTS cannot see: the
 * insert then fails with unique_violation once that transaction commits, and ingestWithEntry runs the batch
 * again, which now sees the row.
 *
 * The stored rows come back only when some event was left out: usually each one was stored, and the count in
 * the last row says so without 500 rows to read.
 */
async function insertLocked(trx: Knex.Transaction, events: readonly ValidEvent[], receivedAt: number): Promise<{ outcomes: EventOutcome[]; activeVersion: string | null; revs: Map<string, number> }> {
  const at = new Date(receivedAt).toISOString();
  const unique = firstOfEachId(events);
  const rows = (
    await runPrepared(
      trx,
      'insert_locked',
      `WITH batch AS MATERIALIZED (SELECT * FROM ${eventRows('?')}),
       locked AS (
         SELECT count(pg_advisory_xact_lock(${customerLockKey('s.id')})) AS n FROM (SELECT DISTINCT c AS id FROM batch ORDER BY 1) AS s),
       stored AS (
         INSERT INTO events (customer_id, id, type, ts, props, received_at, processed_at)
         SELECT c, i, t, s, p, ?::timestamptz, ?::timestamptz FROM batch AS b
          WHERE (SELECT n FROM locked) >= 0 AND (SELECT 1 FROM events AS x WHERE x.customer_id = b.c AND x.id = b.i) IS NULL
         RETURNING customer_id, id),
       ${historyRevisions('stored')}
       SELECT customer_id, id, NULL AS active, NULL::float8 AS n FROM stored WHERE (SELECT count(*) FROM stored) < ?::int
       UNION ALL SELECT id, NULL, NULL, history_rev::float8 FROM revised
       UNION ALL SELECT NULL, NULL, (SELECT version FROM activations WHERE active), (SELECT count(*) FROM stored)::float8`,
      [eventsJson(unique), at, at, at, at, unique.length],
    )
  ).rows as { customer_id: string | null; id: string | null; active: string | null; n: number | null }[];
  // Rows of stored events have an id; a customer's new revision comes without one; and one row without a
  // customer carries the active version and how many events were stored.
  const stored: { customer_id: string; id: string }[] = [];
  const revs = new Map<string, number>();
  let last: (typeof rows)[number] | undefined;
  for (const r of rows) {
    if (r.customer_id === null) last = r;
    else if (r.id !== null) stored.push({ customer_id: r.customer_id, id: r.id });
    else revs.set(r.customer_id, Number(r.n));
  }
  const storedAll = Number(last?.n) === unique.length;
  const outcomes = eventOutcomes(events, storedAll ? unique.map((e) => ({ customer_id: e.customerId, id: e.id })) : stored);
  return { outcomes, activeVersion: last?.active ?? null, revs };
}

/**
 * Splits a batch's transaction into its phases, the final attempt's laps each in its own; everything else
 * (BEGIN, COMMIT, and an attempt withLoadedVersions rolled back and ran again) is charged to commit, so the
 * phases add up to the whole transaction.
 */
class PhaseTimer {
  readonly seconds: EntryPhases = { insert: 0, read: 0, step: 0, write: 0, commit: 0 };
  private last = process.hrtime.bigint();

  /** The body of an attempt begins: what an earlier attempt spent becomes overhead. */
  start(): void {
    let carried = 0;
    for (const k of Object.keys(this.seconds) as (keyof EntryPhases)[]) {
      carried += this.seconds[k];
      this.seconds[k] = 0;
    }
    this.seconds.commit = carried;
    this.lap('commit');
  }

  lap(phase: keyof EntryPhases): void {
    const now = process.hrtime.bigint();
    this.seconds[phase] += Number(now - this.last) / 1e9;
    this.last = now;
  }
}

/** The batch without later repeats of a (customer, id) pair: NOT EXISTS does not see the statement's own rows. */
function firstOfEachId(events: readonly ValidEvent[]): ValidEvent[] {
  const seen = new Set<string>();
  const out: ValidEvent[] = [];
  for (const e of events) {
    const key = eventKey(e.customerId, e.id);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out.length === events.length ? (events as ValidEvent[]) : out;
}
