// Entry that no event of the customer triggers: segment journeys at every refresh tick (DESIGN §5: a
// condition such as `days_since(last(purchase)) > 90` turns true with no event) and cron-scheduled journeys.
// Both are durable sweeps (store migration 002): `scheduleSweeps` inserts the row of each due instant, once
// across replicas (primary key), and `processSweeps` walks the customers in id order a page per transaction,
// committing the cursor with the runs the page entered, so a crash resumes where it stopped and the
// re-entry rules (checked under the customer lock) keep anyone from entering twice.
//
// Instants: refresh ticks at multiples of `segment_refresh` since the epoch (only the latest is created: a
// tick evaluates membership now, so missed ones add nothing); a cron entry at each occurrence in the project
// time zone, never before the active configuration was activated, and after an outage only the latest missed
// occurrence (one newsletter, not one per week the engine was down).
import cronParser from 'cron-parser';
import type { Knex } from 'knex';
import type { JourneyDef, Project } from '../../config/model.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { isMember, loadCustomers } from './customer-data.js';
import { historyNeeds } from './history-needs.js';
import { preloadVersions, type ProjectLoader } from './projects.js';
import { canEnter, customerLockKey, enterJourney, toStoredRun, type StoredRun } from './runs.js';

export type SweepKind = 'refresh' | 'schedule';

export interface SweepOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  /** Customers per page (one transaction). */
  batchSize?: number;
}

export interface ProcessSweepsResult {
  pages: number;
  customers: number;
  entered: number;
  sends: number;
  /** Sweeps finished by this call. */
  finished: number;
}

/** The refresh journeys' key in entry_sweeps.journey: one refresh sweep serves every segment journey. */
const ALL_SEGMENT_JOURNEYS = '*';

/** The latest occurrence of `cron` at or before `now` (project time zone), or undefined. */
export function latestFire(cron: string, timezone: string, now: number): number | undefined {
  // cron-parser's prev() is strictly before currentDate: start 1 ms later so an occurrence at `now` counts.
  const it = cronParser.parseExpression(cron, { currentDate: new Date(now + 1), tz: timezone });
  try {
    return it.prev().getTime();
  } catch {
    return undefined;
  }
}

/** Inserts the sweep rows due at `now` for the active configuration; returns how many were new. */
export async function scheduleSweeps(options: SweepOptions): Promise<number> {
  const active = await options.projects.active();
  if (!active) return 0;
  const { project, version } = active;
  const now = options.clock.now();
  const wanted: { kind: SweepKind; journey: string; due: number }[] = [];
  const journeys = [...project.journeys.values()];
  if (journeys.some((j) => j.entry.kind === 'segment')) {
    const every = project.settings.segmentRefreshMs;
    wanted.push({ kind: 'refresh', journey: ALL_SEGMENT_JOURNEYS, due: Math.floor(now / every) * every });
  }
  const scheduled = journeys.filter((j) => j.entry.kind === 'schedule');
  if (scheduled.length) {
    const activatedAt = await activationTime(options.store.db);
    for (const j of scheduled) {
      if (j.entry.kind !== 'schedule') continue;
      const due = latestFire(j.entry.cron, project.settings.timezone, now);
      if (due !== undefined && activatedAt !== undefined && due >= activatedAt) wanted.push({ kind: 'schedule', journey: j.meta.name, due });
    }
  }
  if (wanted.length === 0) return 0;
  const result = await options.store.db.raw(
    `INSERT INTO entry_sweeps (kind, journey, due_at, config_version, created_at)
     SELECT k, j, d, ?, ? FROM unnest(?::text[], ?::text[], ?::timestamptz[]) AS x(k, j, d)
     ON CONFLICT (kind, journey, due_at) DO NOTHING RETURNING kind`,
    [version, new Date(now), wanted.map((w) => w.kind), wanted.map((w) => w.journey), wanted.map((w) => new Date(w.due).toISOString())],
  );
  return result.rows.length;
}

async function activationTime(db: Knex): Promise<number | undefined> {
  const row = (await db.raw(`SELECT at FROM activations WHERE active`)).rows[0] as { at: Date } | undefined;
  return row ? new Date(row.at).getTime() : undefined;
}

interface SweepRow {
  kind: SweepKind;
  journey: string;
  due_at: Date;
  config_version: string;
  cursor: string | null;
}

/** Processes up to `maxPages` pages of open sweeps that are due, oldest first. */
export async function processSweeps(options: SweepOptions & { maxPages?: number }): Promise<ProcessSweepsResult> {
  const result: ProcessSweepsResult = { pages: 0, customers: 0, entered: 0, sends: 0, finished: 0 };
  const maxPages = options.maxPages ?? 10;
  while (result.pages < maxPages) {
    const progressed = await sweepOnePage(options, result);
    if (!progressed) break;
  }
  return result;
}

async function sweepOnePage(options: SweepOptions, result: ProcessSweepsResult): Promise<boolean> {
  const now = options.clock.now();
  const pageSize = options.batchSize ?? 200;
  await preloadVersions(options.projects, options.store.db, `SELECT DISTINCT config_version FROM entry_sweeps WHERE done_at IS NULL AND due_at <= ?`, [new Date(now)]);
  return options.store.db.transaction(async (trx) => {
    // The row lock is the claim: another replica skips this sweep while the page is in flight.
    const sweep = (
      await trx.raw(
        `SELECT kind, journey, due_at, config_version, cursor FROM entry_sweeps
          WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, kind, journey LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [new Date(now)],
      )
    ).rows[0] as SweepRow | undefined;
    if (!sweep) return false;
    const project = await options.projects.version(sweep.config_version);
    const journeys = sweepJourneys(project, sweep);
    const ids = (
      (await trx.raw(`SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?`, [sweep.cursor ?? '', pageSize])).rows as { id: string }[]
    ).map((r) => r.id);
    let entered = 0;
    if (journeys.length && ids.length) {
      // Locks in id order (the order processEvents takes them), so a sweep and an event batch never deadlock.
      await trx.raw(`SELECT count(pg_advisory_xact_lock(${customerLockKey('s.id')})) FROM (SELECT id FROM unnest(?::text[]) AS u(id) ORDER BY id) AS s`, [ids]);
      const customers = await loadCustomers(trx, ids, { history: { needs: historyNeeds([project]), at: now } });
      const runs = await pageRuns(trx, ids);
      for (const id of ids) {
        const customer = customers.get(id)!;
        const mine = runs.get(id) ?? [];
        for (const journey of journeys) {
          if (!canEnter(journey, mine, now) || !entryHolds(project, journey, customer, now)) continue;
          const out = await enterJourney(trx, { project, version: sweep.config_version, journey, customer, runs: mine, now });
          if (!out) continue;
          entered++;
          result.sends += out.sends;
        }
      }
    }
    const done = ids.length < pageSize;
    await trx.raw(
      `UPDATE entry_sweeps SET cursor = ?, customers = customers + ?, entered = entered + ?, done_at = ?
        WHERE kind = ? AND journey = ? AND due_at = ?`,
      [ids.length ? ids[ids.length - 1] : sweep.cursor, ids.length, entered, done ? new Date(now) : null, sweep.kind, sweep.journey, sweep.due_at],
    );
    result.pages++;
    result.customers += ids.length;
    result.entered += entered;
    if (done) result.finished++;
    return true;
  });
}

/** The journeys a sweep enters, in name order like event entry and the plan. */
function sweepJourneys(project: Project, sweep: SweepRow): JourneyDef[] {
  const all = [...project.journeys.values()].sort((x, y) => x.meta.name.localeCompare(y.meta.name));
  if (sweep.kind === 'refresh') return all.filter((j) => j.entry.kind === 'segment');
  return all.filter((j) => j.meta.name === sweep.journey && j.entry.kind === 'schedule');
}

function entryHolds(project: Project, journey: JourneyDef, customer: Parameters<typeof isMember>[1], now: number): boolean {
  const entry = journey.entry;
  if (entry.kind === 'segment') return isMember(project, customer, entry.segment, now);
  if (entry.kind === 'schedule') return entry.segment === undefined || isMember(project, customer, entry.segment, now);
  return false;
}

async function pageRuns(trx: Knex.Transaction, ids: readonly string[]): Promise<Map<string, StoredRun[]>> {
  const rows = (
    await trx.raw(
      `SELECT customer_id, run_id, journey, config_version, state, entered_at FROM runs WHERE customer_id = ANY(?::text[]) ORDER BY customer_id, entered_at, run_id FOR UPDATE`,
      [[...ids]],
    )
  ).rows as Parameters<typeof toStoredRun>[0][];
  const out = new Map<string, StoredRun[]>();
  for (const r of rows) {
    const run = toStoredRun(r);
    const list = out.get(run.customerId);
    if (list) list.push(run);
    else out.set(run.customerId, [run]);
  }
  return out;
}
