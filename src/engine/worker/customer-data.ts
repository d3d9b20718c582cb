// One customer as the journey core sees it, read from the store inside the worker's transaction: profile,
// time zone, expression inputs, segment membership, and the send ledger (caps and budgets).
//
// Inputs are computed in memory from the customer's events (loaded once per customer and batch) with a
// straightforward loop. That is fine for customers with hundreds of events; the SQL evaluator (DESIGN §3)
// is the planned replacement for heavy histories. RFM and CLV inputs combine the customer's events with the
// newest population fit (customer-models.ts); before the first fit they evaluate to null.
import type { Knex } from 'knex';
import type { ChannelDef, JourneyDef, Project } from '../../config/model.js';
import type { CustomerContext, StepContext } from '../../core/journey-step.js';
import { isValidZone } from '../../core/local-time.js';
import type { LedgerView } from '../../core/policy-gate.js';
import type { CompiledExpression, EvalEnv } from '../../expr/api.js';
import type { AggregateInput, InputSpec, InputValue } from '../../model/inputs.js';
import { countSmsSegments, renderMessage, type RenderContext } from '../../templates/index.js';
import type { RunState, RunStatus } from '../../core/types.js';
import type { StoredRun } from './runs.js';
import { clvValue, latestModels, rfmValue, type StoredModels } from './customer-models.js';
import { runUnnamed } from '../store/prepared.js';
import { historySource, type HistoryNeed } from './history-needs.js';

export type Db = Knex | Knex.Transaction;

export interface StoredEvent {
  id: string;
  type: string;
  ts: number;
  props: Record<string, unknown>;
}

export interface CustomerData {
  id: string;
  profile: Record<string, unknown>;
  /**
   * Ascending by (ts, id; ids in code-unit order, history-cache.ts byTime). From loadBatch, only the part of
   * the history the batch's versions read (history-needs.ts); from loadCustomers, that part when asked for
   * (`history`), otherwise all of it. Shared with the history cache: never changed in place.
   */
  events: StoredEvent[];
  /** The newest population fit (rfm.* and clv.* read it); undefined before the first. */
  models?: StoredModels;
}

export interface LoadCustomersOptions {
  /** false for a caller that evaluates no expression (rendering a send): one query fewer per message. */
  models?: boolean;
  /** Only the part of the history these needs name, as of `at` (history-needs.ts); default: all of it. */
  history?: { needs: readonly HistoryNeed[]; at: number };
}

export async function loadCustomer(db: Db, customerId: string, options: LoadCustomersOptions = {}): Promise<CustomerData> {
  return (await loadCustomers(db, [customerId], options)).get(customerId)!;
}

/** Several customers in three queries (a sweep's page); every id asked for is in the map, known or not. */
export async function loadCustomers(db: Db, ids: readonly string[], options: LoadCustomersOptions = {}): Promise<Map<string, CustomerData>> {
  const out = new Map<string, CustomerData>();
  if (ids.length === 0) return out;
  const models = options.models === false ? undefined : await latestModels(db);
  for (const id of ids) out.set(id, { id, profile: {}, events: [], models });
  const rows = (await db.raw(`SELECT id, attributes FROM customers WHERE id = ANY(?::text[])`, [[...ids]])).rows as { id: string; attributes: Record<string, unknown> }[];
  for (const r of rows) out.get(r.id)!.profile = r.attributes ?? {};
  const source = options.history && historySource(options.history.needs, options.history.at);
  const ev = (
    source
      ? await db.raw(`SELECT u.id AS customer_id, e.id, e.type, e.ts, e.props FROM unnest(?::text[]) AS u(id) CROSS JOIN ${source.sql} ORDER BY 1, e.ts, e.id COLLATE "C"`, [[...ids], ...source.bindings])
      : await db.raw(`SELECT customer_id, id, type, ts, props FROM events WHERE customer_id = ANY(?::text[]) ORDER BY customer_id, ts, id COLLATE "C"`, [[...ids]])
  ).rows as {
    customer_id: string;
    id: string;
    type: string;
    ts: Date;
    props: Record<string, unknown>;
  }[];
  for (const e of ev) out.get(e.customer_id)!.events.push({ id: e.id, type: e.type, ts: new Date(e.ts).getTime(), props: e.props ?? {} });
  return out;
}

export function timezoneOf(project: Project, profile: Readonly<Record<string, unknown>>): string {
  const own = profile[project.settings.timezoneAttribute];
  return isValidZone(own) ? own : project.settings.timezone;
}

/** Same value conventions as the plan's CustomerInputs (model/inputs.ts). */
export function inputValue(customer: CustomerData, project: Project, spec: InputSpec, now: number): InputValue {
  switch (spec.kind) {
    case 'aggregate':
      return aggregate(customer, spec, now);
    case 'ltv': {
      const m = project.model.rfm?.monetary;
      if (!m) return null;
      return aggregate(customer, { kind: 'aggregate', key: 'ltv', fn: 'sum', event: m.event, prop: m.prop }, now);
    }
    case 'rfm':
      return rfmValue(customer.models, project, customer, spec, now);
    case 'clv':
      return clvValue(customer.models, project, customer, spec, now);
  }
}

function aggregate(customer: CustomerData, spec: AggregateInput, now: number): InputValue {
  const rows = customer.events.filter(
    (e) => e.type === spec.event && e.ts <= now && (spec.withinMs === undefined || e.ts > now - spec.withinMs) && (!spec.where || spec.where.test(e.props)),
  );
  const nums = () => rows.map((e) => e.props[spec.prop!]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  switch (spec.fn) {
    case 'count':
      return rows.length;
    case 'first':
      return rows.length ? rows[0].ts : null;
    case 'last':
      return rows.length ? rows[rows.length - 1].ts : null;
    case 'distinct': {
      const seen = new Set<string>();
      for (const e of rows) {
        const v = e.props[spec.prop!];
        if (v !== null && v !== undefined) seen.add(JSON.stringify(v));
      }
      return seen.size;
    }
    case 'sum':
      return nums().reduce((a, b) => a + b, 0);
    case 'avg': {
      const n = nums();
      return n.length ? n.reduce((a, b) => a + b, 0) / n.length : null;
    }
    case 'min': {
      const n = nums();
      return n.length ? Math.min(...n) : null;
    }
    case 'max': {
      const n = nums();
      return n.length ? Math.max(...n) : null;
    }
  }
}

export function testExpr(
  project: Project,
  customer: CustomerData,
  expr: CompiledExpression,
  at: number,
  event?: Readonly<Record<string, unknown>>,
  memo = new Map<string, boolean>(),
): boolean {
  const env: EvalEnv = {
    now: at,
    customerId: customer.id,
    profile: customer.profile,
    inputs: expr.inputs.map((spec) => inputValue(customer, project, spec, at)),
    segment: (name) => isMember(project, customer, name, at, memo),
    bucketSeed: seedOf(project),
  };
  if (event) env.event = event;
  return expr.test(env);
}

export function isMember(project: Project, customer: CustomerData, segment: string, at: number, memo = new Map<string, boolean>()): boolean {
  const known = memo.get(segment);
  if (known !== undefined) return known;
  const def = project.segments.get(segment);
  if (!def) return false;
  memo.set(segment, false);
  const result = testExpr(project, customer, def.where, at, undefined, memo);
  memo.set(segment, result);
  return result;
}

/** The plan's seed text (simulate.ts uses String(options.seed), which defaults to settings.plan.seed). */
export function seedOf(project: Project): string {
  return String(project.settings.plan.seed);
}

export function renderContext(project: Project, customer: CustomerData, at: number, entryEvent?: Readonly<Record<string, unknown>>): RenderContext {
  const settings = project.settings;
  const ctx: RenderContext = {
    profile: customer.profile,
    customerId: customer.id,
    now: at,
    timezone: timezoneOf(project, customer.profile),
    currency: settings.currency,
    locale: settings.locale,
    recentEvents: (type, n) =>
      customer.events
        .filter((e) => e.type === type && e.ts <= at)
        .slice(-n)
        .map((e) => ({ ts: e.ts, props: e.props })),
    // No product catalogue in the engine yet.
    product: () => undefined,
  };
  if (entryEvent) ctx.event = entryEvent;
  if (settings.links.unsubscribe) ctx.unsubscribeUrl = `${settings.links.unsubscribe}/${encodeURIComponent(customer.id)}`;
  if (settings.links.preferences) ctx.preferencesUrl = `${settings.links.preferences}/${encodeURIComponent(customer.id)}`;
  const ltv = inputValue(customer, project, { kind: 'ltv', key: 'ltv' }, at);
  ctx.derived = { ltv: typeof ltv === 'number' ? ltv : null };
  return ctx;
}

export function costOf(project: Project, customer: CustomerData, channel: ChannelDef, template: string, at: number, entryEvent?: Readonly<Record<string, unknown>>): number {
  if (channel.cost.per === 'message' || channel.type !== 'sms') return channel.cost.amount;
  const tpl = project.templates.get(template);
  if (!tpl?.compiled.sms) return channel.cost.amount;
  const text = renderMessage(tpl.compiled, 'sms', renderContext(project, customer, at, entryEvent)).text;
  return Math.max(1, countSmsSegments(text).segments) * channel.cost.amount;
}

/**
 * The journeys with a goal in any of `projects`: a completed run of another journey never hears an event
 * again (listensForGoal), so the batch read leaves its state in the database (loadBatch).
 */
export function goalJourneys(projects: Iterable<Project>): string[] {
  const out = new Set<string>();
  for (const project of projects) for (const j of project.journeys.values()) if (j.goal) out.add(j.meta.name);
  return [...out].sort();
}

/** The windows a project's caps and budgets look back over: the longest cap, and each budget's (channel, window). */
export function ledgerWindows(projects: Iterable<Project>): { capMs: number; budgets: { channel: string; perMs: number }[] } {
  let capMs = 0;
  const budgets = new Map<string, { channel: string; perMs: number }>();
  for (const project of projects) {
    for (const p of project.policies.values()) {
      for (const f of p.frequency) capMs = Math.max(capMs, f.perMs);
      for (const b of p.budget) budgets.set(`${b.channel}\0${b.perMs}`, { channel: b.channel, perMs: b.perMs });
    }
  }
  return { capMs, budgets: [...budgets.values()] };
}

/**
 * The ledger as of one instant for a set of customers: their marketing sends within the longest cap window
 * and each budget's spend in its window (a SUM in the database, so the read stays one row per budget however
 * many messages the day has seen), plus the sends recorded since (`record`), which the database rows of a
 * batch not yet flushed would otherwise hide from the steps after them.
 */
export class LedgerSnapshot {
  private readonly sends = new Map<string, { channel: string; at: number }[]>();
  private readonly spendBase = new Map<string, number>();
  private readonly recorded: { channel: string; at: number; cost: number }[] = [];

  private constructor(readonly at: number) {}

  /** From rows read elsewhere: `sends` per customer (ascending), `spent[i]` for `budgets[i]` at `at`. */
  static of(at: number, budgets: readonly { channel: string; perMs: number }[], spent: readonly number[], sends: Map<string, { channel: string; at: number }[]>): LedgerSnapshot {
    const snap = new LedgerSnapshot(at);
    for (const [id, list] of sends) snap.sends.set(id, list);
    budgets.forEach((b, i) => snap.spendBase.set(`${b.channel}\0${at - b.perMs}`, Number(spent[i] ?? 0)));
    return snap;
  }

  static async load(db: Db, windows: ReturnType<typeof ledgerWindows>, customerIds: readonly string[], at: number): Promise<LedgerSnapshot> {
    const snap = new LedgerSnapshot(at);
    for (const id of customerIds) snap.sends.set(id, []);
    if (windows.capMs && customerIds.length) {
      const rows = (
        await db.raw(
          `SELECT customer_id, channel, at FROM ledger WHERE customer_id = ANY(?::text[]) AND class = 'marketing' AND at > ? AND at <= ? ORDER BY customer_id, at`,
          [[...customerIds], new Date(at - windows.capMs), new Date(at)],
        )
      ).rows as { customer_id: string; channel: string; at: Date }[];
      for (const r of rows) snap.sends.get(r.customer_id)!.push({ channel: r.channel, at: new Date(r.at).getTime() });
    }
    if (windows.budgets.length) {
      const rows = (
        await db.raw(
          `SELECT x.i::int AS i, (SELECT coalesce(sum(l.cost), 0)::float8 FROM ledger l WHERE l.channel = x.channel AND l.at > x.since AND l.at <= ? AND l.cost > 0) AS spent
             FROM unnest(?::text[], ?::timestamptz[]) WITH ORDINALITY AS x(channel, since, i)`,
          [new Date(at), windows.budgets.map((b) => b.channel), windows.budgets.map((b) => new Date(at - b.perMs).toISOString())],
        )
      ).rows as { i: number; spent: number }[];
      for (const r of rows) {
        const b = windows.budgets[Number(r.i) - 1];
        snap.spendBase.set(`${b.channel}\0${at - b.perMs}`, Number(r.spent));
      }
    }
    return snap;
  }

  /** A send written after the snapshot was read (ledger rows of the same transaction, not yet flushed). */
  record(customerId: string, row: { channel: string; at: number; cost: number; marketing: boolean }): void {
    if (row.marketing) {
      const list = this.sends.get(customerId);
      if (list) list.push({ channel: row.channel, at: row.at });
      else this.sends.set(customerId, [{ channel: row.channel, at: row.at }]);
    }
    if (row.cost > 0) this.recorded.push({ channel: row.channel, at: row.at, cost: row.cost });
  }

  view(customerId: string): LedgerView {
    const sends = this.sends.get(customerId) ?? [];
    return {
      sendTimes: (channels, from, to) =>
        sends
          .filter((s) => s.at > from && s.at <= to && channels.includes(s.channel))
          .map((s) => s.at)
          .sort((a, b) => a - b),
      spend: (channel, from, to) => {
        const base = to === this.at ? this.spendBase.get(`${channel}\0${from}`) : undefined;
        // Only a budget window ending at the snapshot's instant was summed; the gate asks for nothing else.
        if (base === undefined) throw new Error(`ledger snapshot at ${new Date(this.at).toISOString()} has no spend for ${channel} over (${from}, ${to}]`);
        let spent = base;
        for (const r of this.recorded) if (r.channel === channel && r.at > from && r.at <= to) spent += r.cost;
        return spent;
      },
    };
  }
}

/** The latest consent row per (customer, channel) as of `at`; consents are append-only evidence. */
export async function loadConsents(db: Db, customerIds: readonly string[], at: number): Promise<Map<string, { channel: string; granted: boolean }[]>> {
  const out = new Map<string, { channel: string; granted: boolean }[]>();
  if (customerIds.length === 0) return out;
  const rows = (
    await db.raw(
      `SELECT DISTINCT ON (customer_id, channel) customer_id, channel, granted FROM consents
        WHERE customer_id = ANY(?::text[]) AND at <= ? ORDER BY customer_id, channel, at DESC, recorded_at DESC`,
      [[...customerIds], new Date(at)],
    )
  ).rows as { customer_id: string; channel: string; granted: boolean }[];
  for (const r of rows) {
    const list = out.get(r.customer_id);
    if (list) list.push({ channel: r.channel, granted: r.granted });
    else out.set(r.customer_id, [{ channel: r.channel, granted: r.granted }]);
  }
  return out;
}

/**
 * The profile the policy gate sees: for each channel with a `consent` attribute and a consents row (e.g. a
 * one-click unsubscribe), the latest row decides that attribute.
 */
export function withConsents(project: Project, profile: Record<string, unknown>, latest: readonly { channel: string; granted: boolean }[] | undefined): Record<string, unknown> {
  if (!latest?.length) return profile;
  const out = { ...profile };
  for (const row of latest) {
    const attribute = project.channels.get(row.channel)?.consent;
    if (attribute !== undefined) out[attribute] = row.granted;
  }
  return out;
}

/** Per customer, the addresses suppressed on each channel (a hard bounce). */
export type Suppressed = Map<string, { channel: string; address: string }[]>;

export async function loadSuppressions(db: Db, customerIds: readonly string[]): Promise<Suppressed> {
  const out: Suppressed = new Map();
  if (customerIds.length === 0) return out;
  const rows = (await db.raw(`SELECT customer_id, channel, address FROM suppressions WHERE customer_id = ANY(?::text[])`, [[...customerIds]])).rows as {
    customer_id: string;
    channel: string;
    address: string;
  }[];
  for (const r of rows) {
    const list = out.get(r.customer_id) ?? [];
    list.push({ channel: r.channel, address: r.address });
    out.set(r.customer_id, list);
  }
  return out;
}

/**
 * The profile with each suppressed address blanked: the gate then finds no usable address for that channel
 * (no_address), and a customer who gives a new address is reachable again without anyone lifting anything.
 */
export function withSuppressions(project: Project, profile: Record<string, unknown>, list: readonly { channel: string; address: string }[] | undefined): Record<string, unknown> {
  if (!list?.length) return profile;
  let out = profile;
  for (const s of list) {
    const attribute = project.channels.get(s.channel)?.address;
    if (attribute === undefined || profile[attribute] !== s.address) continue;
    if (out === profile) out = { ...profile };
    out[attribute] = '';
  }
  return out;
}

/** The profile the policy gate sees: consent records and suppressions applied over the stored attributes. */
export function gateProfile(project: Project, profile: Record<string, unknown>, consents: readonly { channel: string; granted: boolean }[] | undefined, suppressed: readonly { channel: string; address: string }[] | undefined): Record<string, unknown> {
  return withSuppressions(project, withConsents(project, profile, consents), suppressed);
}

/** What a step needs besides the customer, read once for a whole batch at one instant. */
export interface StepData {
  ledger: LedgerSnapshot;
  consents: Map<string, { channel: string; granted: boolean }[]>;
  suppressed: Suppressed;
}

export async function loadStepData(db: Db, projects: Iterable<Project>, customerIds: readonly string[], at: number): Promise<StepData> {
  return { ledger: await LedgerSnapshot.load(db, ledgerWindows(projects), customerIds, at), consents: await loadConsents(db, customerIds, at), suppressed: await loadSuppressions(db, customerIds) };
}

/** An event as the worker offers it: from the queue (claimed) or from ingest (at-ingest entry). */
export interface OfferedEvent {
  customerId: string;
  id: string;
  type: string;
  ts: number;
  props: Record<string, unknown>;
}

/** Everything a batch of event offers reads, for its customers at one instant. */
export interface BatchData {
  customers: Map<string, CustomerData>;
  data: StepData;
  /**
   * Every run of each customer (all ids asked for are keys), ordered by entry. Active runs are locked FOR
   * UPDATE; runs that ended and can never step again come without their state (StoredRun.ended): every ended
   * one but a completed run of a journey in `goalJourneys` whose goal deadline has not passed.
   */
  runs: Map<string, StoredRun[]>;
  /** The customers' queued events claimed by this read (marked processed), when `claimQueued` was asked for. */
  claimed: OfferedEvent[];
  /** customers.history_rev of each customer with a row (history-cache.ts). */
  revs: Map<string, number>;
}

/** A history the caller already holds, valid while the customer's history_rev is `rev` (history-cache.ts). */
export interface HeldHistory {
  rev: number;
  events: readonly StoredEvent[];
}

/**
 * A batch's customers, runs and step data in one statement (one round trip instead of seven): profile,
 * events (ascending by ts, id; only the part `history` names), runs (the active ones locked, so a timer claim
 * skips them until commit; an ended run without its state, which only re-entry reads, unless it is a completed
 * run that may still hear its goal: of a journey in `goalJourneys`, all when not given), latest consents and
 * capped sends as JSON per customer, the budgets' spend once. With `claimQueued`, the customers' events still
 * in the queue are claimed and marked processed in the same statement (SKIP LOCKED: those a queue claim holds
 * are that claim's), so a customer's older queued events are offered with the newer ones, in time order.
 * A customer in `held` whose history_rev is the one held gets the held events instead of a history read. With
 * `own` (the events this transaction inserted for the customers, which raised each revision by one; only the
 * types `history` names), a customer whose revision shows no other insert ever (1, or 0 without `own`) gets
 * those events (or none) without a read either: a brand-new customer's first batch.
 * The caller holds the customers' advisory locks.
 */
export async function loadBatch(
  db: Db,
  windows: ReturnType<typeof ledgerWindows>,
  history: readonly HistoryNeed[],
  customerIds: readonly string[],
  at: number,
  options: { claimQueued?: boolean; held?: ReadonlyMap<string, HeldHistory>; own?: ReadonlyMap<string, readonly StoredEvent[]>; readHistory?: boolean; goalJourneys?: readonly string[] } = {},
): Promise<BatchData> {
  const ids = [...customerIds];
  const held = options.held;
  // false: the caller knows every customer's history is held or its own (the revisions its insert returned),
  // and the statement without the history part does less.
  const readHistory = options.readHistory !== false;
  const source = readHistory ? historySource(history, at) : undefined;
  const historyColumn = source
    ? `CASE WHEN c.history_rev IS DISTINCT FROM u.held AND c.history_rev > ? THEN coalesce(
                (SELECT json_agg(json_build_array(e.id, e.type, trunc(extract(epoch FROM e.ts) * 1000)::float8, e.props) ORDER BY e.ts, e.id COLLATE "C") FROM ${source.sql}),
                '[]') END AS events`
    : `NULL::json AS events`;
  // A revision no higher than this transaction's own inserts made it: no other event was ever inserted.
  const historyBindings = source ? [options.own ? 1 : 0, ...source.bindings] : [];
  const rows = (
    await runUnnamed(
      db,
      // Planned for its bindings every time (runUnnamed), with or without histories: the per-customer history
      // reads and the runs looked up by `customer_id = ANY(…)` want plans made for the arrays at hand. Prepared,
      // PostgreSQL's generic plan took the queue's throughput on the sample stream from 16,500 to 12,600
      // events/s, and the read without histories from 9–12 to 17–20 ms a batch on a synthetic stream.
      // The history source's text depends on the versions' needs: converted each time.
      readHistory ? null : 'load_batch_held',
      `WITH queued AS (
         UPDATE events SET processed_at = ?::timestamptz
          WHERE ?::boolean AND (customer_id, id) IN (
            SELECT customer_id, id FROM events WHERE customer_id = ANY(?::text[]) AND processed_at IS NULL FOR UPDATE SKIP LOCKED)
         RETURNING customer_id, id, type, ts, props),
       queued_by AS (
         SELECT customer_id, json_agg(json_build_array(id, type, trunc(extract(epoch FROM ts) * 1000)::float8, props)) AS list FROM queued GROUP BY customer_id),
       active_runs AS (
         SELECT customer_id, run_id, journey, config_version, status, state, entered_at FROM runs WHERE customer_id = ANY(?::text[]) AND status = 'active' FOR UPDATE),
       ended_runs AS (
         SELECT customer_id, run_id, journey, config_version, status,
                CASE WHEN status = 'completed' AND (?::boolean OR journey = ANY(?::text[])) AND coalesce((state->>'goalDeadline')::float8 >= ?::float8, true) THEN state END AS state, entered_at
           FROM runs WHERE customer_id = ANY(?::text[]) AND status <> 'active'),
       runs_by AS (
         SELECT customer_id, json_agg(json_build_array(run_id, journey, config_version, state, trunc(extract(epoch FROM entered_at) * 1000)::float8, status) ORDER BY entered_at, run_id) AS list
           FROM (SELECT * FROM active_runs UNION ALL SELECT * FROM ended_runs) AS r GROUP BY customer_id),
       spend AS (
         SELECT coalesce(json_agg((SELECT coalesce(sum(l.cost), 0)::float8 FROM ledger l WHERE l.channel = x.channel AND l.at > x.since AND l.at <= ? AND l.cost > 0) ORDER BY x.i), '[]') AS spent
           FROM unnest(?::text[], ?::timestamptz[]) WITH ORDINALITY AS x(channel, since, i))
       SELECT u.id, c.attributes, c.history_rev::float8 AS rev,
              ${historyColumn},
              (SELECT json_agg(json_build_array(k.channel, k.granted)) FROM (
                 SELECT DISTINCT ON (channel) channel, granted FROM consents WHERE customer_id = u.id AND at <= ? ORDER BY channel, at DESC, recorded_at DESC) AS k) AS consents,
              (SELECT json_agg(json_build_array(s.channel, s.address)) FROM suppressions s WHERE s.customer_id = u.id) AS suppressed,
              CASE WHEN ?::boolean THEN (SELECT json_agg(json_build_array(l.channel, trunc(extract(epoch FROM l.at) * 1000)::float8) ORDER BY l.at)
                 FROM ledger l WHERE l.customer_id = u.id AND l.class = 'marketing' AND l.at > ? AND l.at <= ?) END AS sends,
              CASE WHEN u.i = 1 THEN (SELECT spent FROM spend) END AS spent,
              r.list AS runs,
              q.list AS queued,
              CASE WHEN u.i = 1 THEN (SELECT models FROM model_fits WHERE done_at IS NOT NULL AND models IS NOT NULL ORDER BY due_at DESC LIMIT 1) END AS models
         FROM unnest(?::text[], ?::bigint[]) WITH ORDINALITY AS u(id, held, i) LEFT JOIN customers c ON c.id = u.id LEFT JOIN runs_by r ON r.customer_id = u.id LEFT JOIN queued_by q ON q.customer_id = u.id`,
      [
        new Date(at),
        options.claimQueued === true,
        ids,
        ids,
        options.goalJourneys === undefined,
        [...(options.goalJourneys ?? [])],
        at,
        ids,
        new Date(at),
        windows.budgets.map((b) => b.channel),
        windows.budgets.map((b) => new Date(at - b.perMs).toISOString()),
        ...historyBindings,
        new Date(at),
        windows.capMs > 0,
        new Date(at - windows.capMs),
        new Date(at),
        ids,
        // -1 for none: revisions start at 0.
        ids.map((id) => held?.get(id)?.rev ?? -1),
      ],
    )
  ).rows as {
    id: string;
    attributes: Record<string, unknown> | null;
    rev: number | null;
    /** null: not read (the history `held` has for the customer is still valid, or it has none but `own`). */
    events: [string, string, number, Record<string, unknown> | null][] | null;
    consents: [string, boolean][] | null;
    suppressed: [string, string][] | null;
    sends: [string, number][] | null;
    /** On the first row only, as models: the same for every customer, so not repeated 500 times. */
    spent: number[] | null;
    runs: [string, string, string, RunState | null, number, RunStatus][] | null;
    queued: [string, string, number, Record<string, unknown> | null][] | null;
    models: StoredModels | null;
  }[];
  const customers = new Map<string, CustomerData>();
  const consents = new Map<string, { channel: string; granted: boolean }[]>();
  const suppressed: Suppressed = new Map();
  const sends = new Map<string, { channel: string; at: number }[]>();
  const runs = new Map<string, StoredRun[]>();
  const claimed: OfferedEvent[] = [];
  const revs = new Map<string, number>();
  // The row of the first id (joins may return rows in any order) carries what all customers share.
  const first = rows.find((r) => r.spent !== null);
  const spent = first?.spent ?? [];
  const models = first?.models ?? undefined;
  for (const r of rows) {
    let events: StoredEvent[];
    if (r.events) events = r.events.map(([id, type, ts, props]) => ({ id, type, ts: Number(ts), props: props ?? {} }));
    else {
      // Not read: the held history is still valid, or the customer never had an event but this transaction's.
      const h = held?.get(r.id);
      if (h && r.rev !== null && h.rev === Number(r.rev)) events = h.events as StoredEvent[];
      else if (readHistory || Number(r.rev ?? 0) <= (options.own ? 1 : 0)) events = (options.own?.get(r.id) ?? []) as StoredEvent[];
      else throw new Error(`customer ${r.id}: history revision ${r.rev} is neither held nor new, and the history was not read`);
    }
    customers.set(r.id, { id: r.id, profile: r.attributes ?? {}, events, models });
    if (r.rev !== null) revs.set(r.id, Number(r.rev));
    if (r.consents) consents.set(r.id, r.consents.map(([channel, granted]) => ({ channel, granted })));
    if (r.suppressed) suppressed.set(r.id, r.suppressed.map(([channel, address]) => ({ channel, address })));
    sends.set(r.id, (r.sends ?? []).map(([channel, t]) => ({ channel, at: Number(t) })));
    runs.set(
      r.id,
      (r.runs ?? []).map(([runId, journey, configVersion, state, enteredAt, status]) =>
        state ? { customerId: r.id, runId, journey, configVersion, state, enteredAt: Number(enteredAt) } : { customerId: r.id, runId, journey, configVersion, state: endedState(runId, status), enteredAt: Number(enteredAt), ended: true },
      ),
    );
    for (const [id, type, ts, props] of r.queued ?? []) claimed.push({ customerId: r.id, id, type, ts: Number(ts), props: props ?? {} });
  }
  return { customers, runs, claimed, revs, data: { ledger: LedgerSnapshot.of(at, windows.budgets, spent, sends), consents, suppressed } };
}

/**
 * What an ended run is to a batch: its status, for re-entry (canEnter) and goal listening (listensForGoal, false
 * for every ended status but `completed`, which keeps its state while its goal window may still be open; a
 * completed run of a journey without a goal, or past its deadline, listens to nothing and gets this stub).
 * The state itself stays in the database: most of a customer's runs are ended ones, and nothing steps them.
 */
function endedState(runId: string, status: RunStatus): RunState {
  return { runId, status } as RunState;
}

/** The step context from data read up front (`data.ledger.at` must be the step's instant). */
export function stepContextFrom(data: StepData, project: Project, journey: JourneyDef, customer: CustomerData, at: number, entryEvent?: Readonly<Record<string, unknown>>): StepContext {
  const c: CustomerContext = { id: customer.id, profile: gateProfile(project, customer.profile, data.consents.get(customer.id), data.suppressed.get(customer.id)), timezone: timezoneOf(project, customer.profile) };
  return {
    journey,
    channels: project.channels,
    cascades: project.cascades,
    policy: project.policies.get(journey.policy ?? 'default'),
    customer: c,
    ledger: data.ledger.view(customer.id),
    costOf: (channel, template) => costOf(project, customer, channel, template, at, entryEvent),
    test: (expr, when, event) => testExpr(project, customer, expr, when, event),
    seed: seedOf(project),
  };
}

/** One step's context read on its own (timers, receipts, sweeps): the same reads as a batch of one. */
export async function stepContext(db: Db, project: Project, journey: JourneyDef, customer: CustomerData, at: number, entryEvent?: Readonly<Record<string, unknown>>): Promise<StepContext> {
  return stepContextFrom(await loadStepData(db, [project], [customer.id], at), project, journey, customer, at, entryEvent);
}
