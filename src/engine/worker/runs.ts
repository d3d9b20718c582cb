// Stepping one stored run with the shared journey core and writing what it did: the run row (state,
// status, wake_at) and, for every `send` effect, an outbox row and a ledger row, in the caller's
// transaction, so a send exists exactly when the step that caused it committed.
import type { Knex } from 'knex';
import type { JourneyDef, Project } from '../../config/model.js';
import { advanceRun, newRunState } from '../../core/journey-step.js';
import { mayEnter } from '../../core/reentry.js';
import type { Effect, RunInput, RunState } from '../../core/types.js';
import type { StepContext } from '../../core/journey-step.js';
import { costOf, stepContext, stepContextFrom, type CustomerData, type LedgerSnapshot, type StepData } from './customer-data.js';
import { runPrepared } from '../store/prepared.js';

/** Seed of the customer advisory-lock key (see customerLockKey). */
export const CUSTOMER_LOCK_CLASS = 7210;

/**
 * SQL for the advisory-lock key serialising one customer's runs: a 64-bit hash of the schema and the id (the
 * one-bigint key space, apart from the two-int keys of migrations and config). The schema is part of the key
 * because advisory locks are database-wide: two Herald installations (or test suites) in one database must not
 * wait on each other's customers.
 */
export function customerLockKey(idSql: string): string {
  return `hashtextextended(coalesce(current_schema(), '') || '/' || ${idSql}, ${CUSTOMER_LOCK_CLASS})`;
}

export async function lockCustomer(trx: Knex.Transaction, customerId: string): Promise<void> {
  await trx.raw(`SELECT pg_advisory_xact_lock(${customerLockKey('?')})`, [customerId]);
}

/** Never waits: false when another transaction holds the customer. */
export async function tryLockCustomer(trx: Knex.Transaction, customerId: string): Promise<boolean> {
  const row = (await trx.raw(`SELECT pg_try_advisory_xact_lock(${customerLockKey('?')}) AS ok`, [customerId])).rows[0] as { ok: boolean };
  return Boolean(row.ok);
}

export interface StoredRun {
  customerId: string;
  runId: string;
  journey: string;
  configVersion: string;
  /** With `ended`, only runId and status (loadBatch leaves the rest in the database). */
  state: RunState;
  enteredAt: number;
  /** A run that ended and cannot step again, read without its state: never stepped, never written. */
  ended?: true;
}

interface RunRow {
  customer_id: string;
  run_id: string;
  journey: string;
  config_version: string;
  state: RunState;
  entered_at: Date;
}

export function toStoredRun(r: RunRow): StoredRun {
  return { customerId: r.customer_id, runId: r.run_id, journey: r.journey, configVersion: r.config_version, state: r.state, enteredAt: new Date(r.entered_at).getTime() };
}

/** Every run of the customer, locked (the caller holds the customer lock). */
export async function customerRuns(trx: Knex.Transaction, customerId: string): Promise<StoredRun[]> {
  const rows = (await trx.raw(`SELECT customer_id, run_id, journey, config_version, state, entered_at FROM runs WHERE customer_id = ? ORDER BY entered_at, run_id FOR UPDATE`, [customerId])).rows as RunRow[];
  return rows.map(toStoredRun);
}

/** Every run of several customers, locked (the caller holds the customers' locks); every id asked for is in the map. */
export async function customersRuns(trx: Knex.Transaction, customerIds: readonly string[]): Promise<Map<string, StoredRun[]>> {
  const out = new Map<string, StoredRun[]>();
  for (const id of customerIds) out.set(id, []);
  if (customerIds.length === 0) return out;
  const rows = (
    await trx.raw(
      `SELECT customer_id, run_id, journey, config_version, state, entered_at FROM runs WHERE customer_id = ANY(?::text[]) ORDER BY customer_id, entered_at, run_id FOR UPDATE`,
      [[...customerIds]],
    )
  ).rows as RunRow[];
  for (const r of rows) out.get(r.customer_id)!.push(toStoredRun(r));
  return out;
}

export interface StepOutcome {
  state: RunState;
  effects: Effect[];
  sends: number;
}

interface RunWrite {
  customerId: string;
  journey: string;
  version: string;
  state: RunState;
  isNew: boolean;
}

/**
 * Rows a transaction's steps produced, written together (one multi-row statement per table) before commit:
 * still in the step's transaction, so a send exists exactly when the step that caused it committed. A run
 * stepped twice keeps its last state; a run entered in this batch stays an INSERT.
 */
export class RunWrites {
  private readonly runs = new Map<string, RunWrite>();
  private readonly outbox: unknown[][] = [];
  private readonly ledger: unknown[][] = [];

  constructor(private readonly now: number) {}

  run(w: RunWrite): void {
    const key = `${w.customerId}\0${w.state.runId}`;
    const before = this.runs.get(key);
    this.runs.set(key, before?.isNew ? { ...w, isNew: true } : w);
  }

  send(customerId: string, journey: JourneyDef, version: string, state: RunState, e: Extract<Effect, { kind: 'send' }>, cost: number): void {
    this.outbox.push([customerId, e.messageId, state.runId, journey.meta.name, e.step, e.channel, e.template, journey.class, version, e.cascade ? { cascade: e.cascade } : {}]);
    this.ledger.push([customerId, e.messageId, e.channel, journey.class, journey.meta.name, new Date(e.at).toISOString(), cost]);
  }

  /**
   * Everything queued, in one statement (data-modifying CTEs), so a batch's writes cost one round trip. Each
   * table's rows travel as one JSON document (jsonb_array_elements): JSON.stringify is native, where array
   * parameters are escaped element by element in JavaScript, which for the run states cost more than the
   * statement itself.
   */
  async flush(trx: Knex.Transaction): Promise<void> {
    const all = [...this.runs.values()];
    this.runs.clear();
    const outbox = this.outbox.splice(0);
    const ledger = this.ledger.splice(0);
    if (all.length === 0 && outbox.length === 0) return;
    const at = new Date(this.now);
    const wakeAt = (s: RunState) => (s.status === 'active' && s.wakeAt !== undefined ? new Date(s.wakeAt).toISOString() : null);
    const inserts: unknown[][] = [];
    const updates: unknown[][] = [];
    for (const w of all) {
      if (w.isNew) inserts.push([w.customerId, w.state.runId, w.journey, w.version, w.state, w.state.status, new Date(w.state.enteredAt).toISOString(), wakeAt(w.state)]);
      else updates.push([w.customerId, w.state.runId, w.state, w.state.status, wakeAt(w.state)]);
    }
    await runPrepared(
      trx,
      'run_writes',
      `WITH new_runs AS (
         INSERT INTO runs (customer_id, run_id, journey, config_version, state, status, entered_at, wake_at, updated_at)
         SELECT x->>0, x->>1, x->>2, x->>3, x->4, x->>5, (x->>6)::timestamptz, (x->>7)::timestamptz, ?::timestamptz FROM jsonb_array_elements(?::jsonb) AS x),
       stepped AS (
         UPDATE runs SET state = x->2, status = x->>3, wake_at = (x->>4)::timestamptz, lease_owner = NULL, lease_until = NULL, updated_at = ?::timestamptz
           FROM jsonb_array_elements(?::jsonb) AS x
          WHERE runs.customer_id = x->>0 AND runs.run_id = x->>1),
       queued AS (
         INSERT INTO outbox (customer_id, id, run_id, journey, step, channel, template, class, config_version, payload, status, next_attempt_at, created_at, updated_at)
         SELECT x->>0, x->>1, x->>2, x->>3, x->>4, x->>5, x->>6, x->>7, x->>8, x->9, 'queued', ?::timestamptz, ?::timestamptz, ?::timestamptz
           FROM jsonb_array_elements(?::jsonb) AS x
         ON CONFLICT (customer_id, id) DO NOTHING)
       INSERT INTO ledger (customer_id, message_id, channel, class, journey, at, cost)
       SELECT x->>0, x->>1, x->>2, x->>3, x->>4, (x->>5)::timestamptz, (x->>6)::numeric FROM jsonb_array_elements(?::jsonb) AS x
       ON CONFLICT (customer_id, message_id) DO NOTHING`,
      [at, JSON.stringify(inserts), at, JSON.stringify(updates), at, at, at, JSON.stringify(outbox), JSON.stringify(ledger)],
    );
  }
}

export interface StepArgs {
  project: Project;
  version: string;
  journey: JourneyDef;
  customer: CustomerData;
  previous: RunState;
  input: RunInput;
  now: number;
  isNew: boolean;
}

/** The entry event's props a step renders and prices with. */
export function entryPropsOf(previous: RunState, input: RunInput): Readonly<Record<string, unknown>> | undefined {
  return input.kind === 'enter' ? input.event?.props : previous.entryEvent?.props;
}

/**
 * Runs one input through the core with a context read beforehand and queues what it did in `writes`; its
 * sends go into `ledger` too, so the steps after it (same batch) count them for caps and budgets.
 */
export function stepRun(args: StepArgs & { ctx: StepContext; writes: RunWrites; ledger?: LedgerSnapshot }): StepOutcome {
  const { project, journey, customer, previous, input } = args;
  const { state, effects } = advanceRun(previous, input, args.ctx);
  args.writes.run({ customerId: customer.id, journey: journey.meta.name, version: args.version, state, isNew: args.isNew });
  let sends = 0;
  for (const e of effects) {
    if (e.kind !== 'send') continue;
    sends++;
    const channel = project.channels.get(e.channel)!;
    const cost = costOf(project, customer, channel, e.template, e.at, state.entryEvent?.props);
    args.writes.send(customer.id, journey, args.version, state, e, cost);
    args.ledger?.record(customer.id, { channel: e.channel, at: e.at, cost, marketing: journey.class === 'marketing' });
  }
  return { state, effects, sends };
}

/** Runs one input through the core and persists the result at once. `isNew`: insert the run row. */
export async function stepAndPersist(trx: Knex.Transaction, args: StepArgs): Promise<StepOutcome> {
  const ctx = await stepContext(trx, args.project, args.journey, args.customer, args.input.at, entryPropsOf(args.previous, args.input));
  const writes = new RunWrites(args.now);
  const out = stepRun({ ...args, ctx, writes });
  await writes.flush(trx);
  return out;
}

/** Re-entry rules: never beside an active run; once / always / after a delay since the last entry (held-out entries count). */
export function canEnter(journey: JourneyDef, runs: readonly StoredRun[], at: number): boolean {
  const mine = runs.filter((r) => r.journey === journey.meta.name);
  return mayEnter(journey, { active: mine.some((r) => r.state.status === 'active'), lastEntryAt: mine.length ? Math.max(...mine.map((r) => r.enteredAt)) : undefined }, at);
}

interface EnterArgs {
  project: Project;
  version: string;
  journey: JourneyDef;
  customer: CustomerData;
  runs: StoredRun[];
  now: number;
  event?: { type: string; props: Record<string, unknown> };
}

/**
 * Starts a run of `journey` for the customer at `now` (the caller checked the entry condition and holds the
 * customer lock) and appends it to `runs`. Returns undefined when a run with the same id (same journey,
 * customer and instant) exists already: an event and a sweep at one instant enter once.
 */
export async function enterJourney(trx: Knex.Transaction, args: EnterArgs & { /** A batch's reads and writes; without it the step reads and writes on its own. */ batch?: StepBatch }): Promise<StepOutcome | undefined> {
  if (args.batch) return enterInBatch(args.batch, args);
  return enter(args, (step) => stepAndPersist(trx, step));
}

/** enterJourney within a batch (process-events.ts): no round trip, so no promise per offer. */
export function enterInBatch(batch: StepBatch, args: EnterArgs): StepOutcome | undefined {
  return enter(args, (step) => stepInBatch(batch, step));
}

function enter<T extends StepOutcome | Promise<StepOutcome>>(args: EnterArgs, step: (s: StepArgs) => T): T | undefined {
  const { journey, customer, now } = args;
  const fresh = newRunState(journey, customer.id, now);
  if (args.runs.some((r) => r.runId === fresh.runId)) return undefined;
  const out = step({ project: args.project, version: args.version, journey, customer, previous: fresh, input: { kind: 'enter', at: now, event: args.event }, now, isNew: true });
  const record = (o: StepOutcome) => {
    args.runs.push({ customerId: customer.id, runId: fresh.runId, journey: journey.meta.name, configVersion: args.version, state: o.state, enteredAt: now });
    return o;
  };
  return (out instanceof Promise ? out.then(record) : record(out as StepOutcome)) as T;
}

/** Reads done for a whole batch at one instant, and the writes its steps queue until the batch ends. */
export interface StepBatch {
  data: StepData;
  writes: RunWrites;
}

/** One step of a batch: context from the batch's reads (the input's instant must be the batch's). */
export function stepInBatch(batch: StepBatch, args: StepArgs): StepOutcome {
  const ctx = stepContextFrom(batch.data, args.project, args.journey, args.customer, args.input.at, entryPropsOf(args.previous, args.input));
  return stepRun({ ...args, ctx, writes: batch.writes, ledger: batch.data.ledger });
}
