// One customer as the journey core sees it, read from the store inside the worker's transaction: profile,
// time zone, expression inputs, segment membership, and the send ledger (caps and budgets).
//
// Inputs are computed in memory from the customer's events (loaded once per customer and batch) with a
// straightforward loop. That is fine for customers with hundreds of events; the SQL evaluator (DESIGN §3)
// is the planned replacement for heavy histories. RFM and CLV inputs need population-wide fits the engine
// does not compute yet: they evaluate to null.
import type { Knex } from 'knex';
import type { ChannelDef, JourneyDef, Project } from '../../config/model.js';
import type { CustomerContext, StepContext } from '../../core/journey-step.js';
import { isValidZone } from '../../core/local-time.js';
import type { LedgerView } from '../../core/policy-gate.js';
import type { CompiledExpression, EvalEnv } from '../../expr/api.js';
import type { AggregateInput, InputSpec, InputValue } from '../../model/inputs.js';
import { countSmsSegments, renderMessage, type RenderContext } from '../../templates/index.js';

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
  /** Ascending by ts. */
  events: StoredEvent[];
}

export async function loadCustomer(db: Db, customerId: string): Promise<CustomerData> {
  return (await loadCustomers(db, [customerId])).get(customerId)!;
}

/** Several customers in two queries (a sweep's page); every id asked for is in the map, known or not. */
export async function loadCustomers(db: Db, ids: readonly string[]): Promise<Map<string, CustomerData>> {
  const out = new Map<string, CustomerData>();
  for (const id of ids) out.set(id, { id, profile: {}, events: [] });
  if (ids.length === 0) return out;
  const rows = (await db.raw(`SELECT id, attributes FROM customers WHERE id = ANY(?::text[])`, [[...ids]])).rows as { id: string; attributes: Record<string, unknown> }[];
  for (const r of rows) out.get(r.id)!.profile = r.attributes ?? {};
  const ev = (await db.raw(`SELECT customer_id, id, type, ts, props FROM events WHERE customer_id = ANY(?::text[]) ORDER BY customer_id, ts, id`, [[...ids]])).rows as {
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
    case 'clv':
      return null;
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
 * The ledger rows a step at `at` can look at: this customer's marketing sends and every channel's spend
 * within the longest cap or budget window. LedgerView is synchronous, so they are read up front.
 */
export async function loadLedger(db: Db, project: Project, customerId: string, at: number): Promise<LedgerView> {
  let capWindow = 0;
  let budgetWindow = 0;
  for (const p of project.policies.values()) {
    for (const f of p.frequency) capWindow = Math.max(capWindow, f.perMs);
    for (const b of p.budget) budgetWindow = Math.max(budgetWindow, b.perMs);
  }
  const sends = capWindow
    ? ((
        await db.raw(`SELECT channel, at FROM ledger WHERE customer_id = ? AND class = 'marketing' AND at > ? AND at <= ? ORDER BY at`, [
          customerId,
          new Date(at - capWindow),
          new Date(at),
        ])
      ).rows as { channel: string; at: Date }[]).map((r) => ({ channel: r.channel, at: new Date(r.at).getTime() }))
    : [];
  const spends = budgetWindow
    ? ((
        await db.raw(`SELECT channel, at, cost::float8 AS cost FROM ledger WHERE at > ? AND at <= ? AND cost > 0`, [new Date(at - budgetWindow), new Date(at)])
      ).rows as { channel: string; at: Date; cost: number }[]).map((r) => ({ channel: r.channel, at: new Date(r.at).getTime(), cost: Number(r.cost) }))
    : [];
  return {
    sendTimes: (channels, from, to) => sends.filter((s) => s.at > from && s.at <= to && channels.includes(s.channel)).map((s) => s.at),
    spend: (channel, from, to) => spends.filter((s) => s.channel === channel && s.at > from && s.at <= to).reduce((a, s) => a + s.cost, 0),
  };
}

/**
 * The profile the policy gate sees: for each channel with a `consent` attribute and a consents row (e.g. a
 * one-click unsubscribe), the latest row as of `at` decides that attribute (consents are append-only evidence).
 */
export async function effectiveProfile(db: Db, project: Project, customer: CustomerData, at: number): Promise<Record<string, unknown>> {
  const latest = (
    await db.raw(`SELECT DISTINCT ON (channel) channel, granted FROM consents WHERE customer_id = ? AND at <= ? ORDER BY channel, at DESC, recorded_at DESC`, [
      customer.id,
      new Date(at),
    ])
  ).rows as { channel: string; granted: boolean }[];
  if (latest.length === 0) return customer.profile;
  const profile = { ...customer.profile };
  for (const row of latest) {
    const attribute = project.channels.get(row.channel)?.consent;
    if (attribute !== undefined) profile[attribute] = row.granted;
  }
  return profile;
}

export async function stepContext(db: Db, project: Project, journey: JourneyDef, customer: CustomerData, at: number, entryEvent?: Readonly<Record<string, unknown>>): Promise<StepContext> {
  const c: CustomerContext = { id: customer.id, profile: await effectiveProfile(db, project, customer, at), timezone: timezoneOf(project, customer.profile) };
  return {
    journey,
    channels: project.channels,
    cascades: project.cascades,
    policy: project.policies.get(journey.policy ?? 'default'),
    customer: c,
    ledger: await loadLedger(db, project, customer.id, at),
    costOf: (channel, template) => costOf(project, customer, channel, template, at, entryEvent),
    test: (expr, when, event) => testExpr(project, customer, expr, when, event),
    seed: seedOf(project),
  };
}
