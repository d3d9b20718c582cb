// Stepping one stored run with the shared journey core and writing what it did: the run row (state,
// status, wake_at) and, for every `send` effect, an outbox row and a ledger row, in the caller's
// transaction, so a send exists exactly when the step that caused it committed.
import type { Knex } from 'knex';
import type { JourneyDef, Project } from '../../config/model.js';
import { advanceRun, newRunState } from '../../core/journey-step.js';
import { mayEnter } from '../../core/reentry.js';
import type { Effect, RunInput, RunState } from '../../core/types.js';
import { costOf, stepContext, type CustomerData } from './customer-data.js';

/** Advisory-lock class serialising one customer's runs (key 2: hashtext(customer_id)). */
export const CUSTOMER_LOCK_CLASS = 7210;

export async function lockCustomer(trx: Knex.Transaction, customerId: string): Promise<void> {
  await trx.raw(`SELECT pg_advisory_xact_lock(${CUSTOMER_LOCK_CLASS}, hashtext(?))`, [customerId]);
}

/** Never waits: false when another transaction holds the customer. */
export async function tryLockCustomer(trx: Knex.Transaction, customerId: string): Promise<boolean> {
  const row = (await trx.raw(`SELECT pg_try_advisory_xact_lock(${CUSTOMER_LOCK_CLASS}, hashtext(?)) AS ok`, [customerId])).rows[0] as { ok: boolean };
  return Boolean(row.ok);
}

export interface StoredRun {
  customerId: string;
  runId: string;
  journey: string;
  configVersion: string;
  state: RunState;
  enteredAt: number;
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

export interface StepOutcome {
  state: RunState;
  effects: Effect[];
  sends: number;
}

/** Runs one input through the core and persists the result. `isNew`: insert the run row. */
export async function stepAndPersist(
  trx: Knex.Transaction,
  args: { project: Project; version: string; journey: JourneyDef; customer: CustomerData; previous: RunState; input: RunInput; now: number; isNew: boolean },
): Promise<StepOutcome> {
  const { project, journey, customer, previous, input, now } = args;
  const entryProps = input.kind === 'enter' ? input.event?.props : previous.entryEvent?.props;
  const ctx = await stepContext(trx, project, journey, customer, input.at, entryProps);
  const { state, effects } = advanceRun(previous, input, ctx);
  const at = new Date(now);
  const wakeAt = state.status === 'active' && state.wakeAt !== undefined ? new Date(state.wakeAt) : null;
  if (args.isNew) {
    await trx.raw(
      `INSERT INTO runs (customer_id, run_id, journey, config_version, state, status, entered_at, wake_at, updated_at)
       VALUES (?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?)`,
      [customer.id, state.runId, journey.meta.name, args.version, JSON.stringify(state), state.status, new Date(state.enteredAt), wakeAt, at],
    );
  } else {
    await trx.raw(
      `UPDATE runs SET state = ?::jsonb, status = ?, wake_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
        WHERE customer_id = ? AND run_id = ?`,
      [JSON.stringify(state), state.status, wakeAt, at, customer.id, state.runId],
    );
  }
  let sends = 0;
  for (const e of effects) {
    if (e.kind !== 'send') continue;
    sends++;
    const channel = project.channels.get(e.channel)!;
    const cost = costOf(project, customer, channel, e.template, e.at, state.entryEvent?.props);
    await trx.raw(
      `INSERT INTO outbox (customer_id, id, run_id, journey, step, channel, template, class, config_version, payload, status, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, 'queued', ?, ?, ?)
       ON CONFLICT (customer_id, id) DO NOTHING`,
      [
        customer.id,
        e.messageId,
        state.runId,
        journey.meta.name,
        e.step,
        e.channel,
        e.template,
        journey.class,
        args.version,
        JSON.stringify(e.cascade ? { cascade: e.cascade } : {}),
        at,
        at,
        at,
      ],
    );
    await trx.raw(
      `INSERT INTO ledger (customer_id, message_id, channel, class, journey, at, cost) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (customer_id, message_id) DO NOTHING`,
      [customer.id, e.messageId, e.channel, journey.class, journey.meta.name, new Date(e.at), cost],
    );
  }
  return { state, effects, sends };
}

/** Re-entry rules: never beside an active run; once / always / after a delay since the last entry (held-out entries count). */
export function canEnter(journey: JourneyDef, runs: readonly StoredRun[], at: number): boolean {
  const mine = runs.filter((r) => r.journey === journey.meta.name);
  return mayEnter(journey, { active: mine.some((r) => r.state.status === 'active'), lastEntryAt: mine.length ? Math.max(...mine.map((r) => r.enteredAt)) : undefined }, at);
}

/**
 * Starts a run of `journey` for the customer at `now` (the caller checked the entry condition and holds the
 * customer lock) and appends it to `runs`. Returns undefined when a run with the same id (same journey,
 * customer and instant) exists already: an event and a sweep at one instant enter once.
 */
export async function enterJourney(
  trx: Knex.Transaction,
  args: { project: Project; version: string; journey: JourneyDef; customer: CustomerData; runs: StoredRun[]; now: number; event?: { type: string; props: Record<string, unknown> } },
): Promise<StepOutcome | undefined> {
  const { journey, customer, now } = args;
  const fresh = newRunState(journey, customer.id, now);
  if (args.runs.some((r) => r.runId === fresh.runId)) return undefined;
  const out = await stepAndPersist(trx, { project: args.project, version: args.version, journey, customer, previous: fresh, input: { kind: 'enter', at: now, event: args.event }, now, isNew: true });
  args.runs.push({ customerId: customer.id, runId: fresh.runId, journey: journey.meta.name, configVersion: args.version, state: out.state, enteredAt: now });
  return out;
}
