// The names a template can read: their types (for the checker) and their values (for rendering), built here
// from the same lists so the two cannot drift apart.
//
// Handlebars runs in strict mode, which throws on a missing key, so rendering builds every object with ALL
// of its declared keys, null where the host has no value. The checker guarantees no other key is read.
//
// Precedence, when names collide: at the root the reserved names (profile, customer_id, ltv, rfm, clv, now,
// unsubscribe_url, preferences_url, event) win over an attribute of the same name, which stays reachable
// as profile.<name>. In a `recent` item the event's own props win over catalogue fields (a product_view's
// `price` is the price the customer saw, not today's), and `ts` wins over both.
import type { DataModel, FieldType, ScalarType } from '../model/data-model.js';
import { PRODUCT_FIELDS } from '../model/data-model.js';

export type ValueType =
  | { kind: 'scalar'; type: ScalarType | 'null' | 'any' }
  | { kind: 'list'; item: ValueType }
  | ObjectType;

/** What an object is, so the checker can record which attributes, props and derived values a template reads. */
export type ObjectRole = 'root' | 'profile' | 'event' | 'rfm' | 'clv' | 'item';

export interface ObjectType {
  kind: 'object';
  role: ObjectRole;
  /** For messages: "customer attributes", "props of purchase events". */
  description: string;
  fields: ReadonlyMap<string, ValueType>;
  /** Explanations for names that are absent for a known reason (e.g. rfm not configured). */
  hints?: ReadonlyMap<string, string>;
}

export const RFM_FIELDS: readonly (readonly [string, ScalarType])[] = [
  ['r', 'number'],
  ['f', 'number'],
  ['m', 'number'],
  ['score', 'number'],
  ['segment', 'string'],
];
export const CLV_FIELDS: readonly (readonly [string, ScalarType])[] = [['p_alive', 'number']];

/** The root names that are not attributes, in the order they override attributes. */
export const RESERVED_ROOT_NAMES = [
  'profile',
  'customer_id',
  'ltv',
  'rfm',
  'clv',
  'now',
  'unsubscribe_url',
  'preferences_url',
  'event',
] as const;

export function scalar(type: ScalarType | 'null' | 'any'): ValueType {
  return { kind: 'scalar', type };
}

export function fieldValueType(t: FieldType): ValueType {
  switch (t) {
    case 'list<string>':
      return { kind: 'list', item: scalar('string') };
    case 'list<number>':
      return { kind: 'list', item: scalar('number') };
    case 'list<bool>':
      return { kind: 'list', item: scalar('bool') };
    case 'list<timestamp>':
      return { kind: 'list', item: scalar('timestamp') };
    default:
      return scalar(t);
  }
}

export function describeType(t: ValueType): string {
  switch (t.kind) {
    case 'scalar':
      return t.type;
    case 'list':
      return `list of ${describeType(t.item)}`;
    case 'object':
      return 'object';
  }
}

function objectType(role: ObjectRole, description: string, entries: Iterable<readonly [string, ValueType]>, hints?: Map<string, string>): ObjectType {
  return { kind: 'object', role, description, fields: new Map(entries), ...(hints && hints.size > 0 ? { hints } : {}) };
}

export function profileType(model: DataModel): ObjectType {
  return objectType('profile', 'customer attributes', [...model.attributes.values()].map((f) => [f.name, fieldValueType(f.type)] as const));
}

export function eventType(model: DataModel, event: string): ObjectType | undefined {
  const def = model.events.get(event);
  if (!def) return undefined;
  return objectType('event', `props of ${event} events`, [...def.props.values()].map((f) => [f.name, fieldValueType(f.type)] as const));
}

/** Whether items of `recent "<event>"` are joined to the catalogue (only events that carry a product_id). */
export function joinsCatalogue(model: DataModel, event: string): boolean {
  return model.events.get(event)?.props.has('product_id') ?? false;
}

/** One item of `recent "<event>" n`: catalogue fields (when joined), then the event's props, then ts. */
export function recentItemType(model: DataModel, event: string): ObjectType | undefined {
  const def = model.events.get(event);
  if (!def) return undefined;
  const fields = new Map<string, ValueType>();
  const hints = new Map<string, string>();
  if (joinsCatalogue(model, event)) {
    for (const [name, t] of PRODUCT_FIELDS) fields.set(name, fieldValueType(t));
  } else {
    for (const name of PRODUCT_FIELDS.keys()) {
      hints.set(name, `${event} events have no product_id prop, so no catalogue fields are joined to them`);
    }
  }
  for (const f of def.props.values()) fields.set(f.name, fieldValueType(f.type));
  fields.set('ts', scalar('timestamp'));
  for (const name of fields.keys()) hints.delete(name);
  return objectType('item', `fields of recent ${event} events`, fields, hints);
}

/** The root scope: attributes bare, then the reserved names; `event` only when an event triggers the template. */
export function rootType(model: DataModel, triggerEvent?: string): ObjectType {
  const fields = new Map<string, ValueType>();
  const hints = new Map<string, string>();
  for (const f of model.attributes.values()) fields.set(f.name, fieldValueType(f.type));
  fields.set('profile', profileType(model));
  fields.set('customer_id', scalar('string'));
  if (model.rfm) {
    fields.set('ltv', scalar('number'));
    fields.set('rfm', objectType('rfm', 'rfm fields', RFM_FIELDS.map(([n, t]) => [n, scalar(t)] as const)));
  } else {
    hints.set('ltv', 'the project declares no `rfm:` settings (ltv sums its monetary prop)');
    hints.set('rfm', 'the project declares no `rfm:` settings');
  }
  if (model.clv) {
    fields.set('clv', objectType('clv', 'clv fields', CLV_FIELDS.map(([n, t]) => [n, scalar(t)] as const)));
  } else {
    hints.set('clv', 'the project declares no `clv:` settings');
  }
  fields.set('now', scalar('timestamp'));
  fields.set('unsubscribe_url', scalar('string'));
  fields.set('preferences_url', scalar('string'));
  const ev = triggerEvent === undefined ? undefined : eventType(model, triggerEvent);
  if (ev) fields.set('event', ev);
  for (const name of fields.keys()) hints.delete(name);
  return objectType('root', 'variables', fields, hints);
}

// ---- values -------------------------------------------------------------------------------------------------

/** One past event as the host supplies it to `recent`. */
export interface RecentEvent {
  ts: number;
  props: Readonly<Record<string, unknown>>;
}

/** Per-customer derived values; absent ones render as empty. */
export interface DerivedValues {
  ltv?: number | null;
  rfm?: Partial<Record<'r' | 'f' | 'm' | 'score', number | null>> & { segment?: string | null };
  clv?: { p_alive?: number | null };
}

/**
 * What rendering needs from the host (plan or engine). Everything is passed in: rendering reads no clock,
 * no files and no randomness, so the same context gives the same bytes.
 */
export interface RenderContext {
  /** Attribute values by name; missing keys render as empty. */
  profile: Readonly<Record<string, unknown>>;
  customerId: string;
  /** Props of the triggering event, for templates compiled with an event type. */
  event?: Readonly<Record<string, unknown>>;
  derived?: DerivedValues;
  /** Epoch milliseconds. */
  now: number;
  /** IANA zone the `date` helper formats in: the customer's own, else the project's (the host decides). */
  timezone: string;
  /** ISO 4217 code the `money` helper formats in (the project currency). */
  currency: string;
  /** BCP 47 locale for `money` and `date` (default en-US). */
  locale?: string;
  unsubscribeUrl?: string;
  preferencesUrl?: string;
  /** The customer's last `n` events of `type`; order does not matter (the helper sorts newest first). */
  recentEvents(type: string, n: number): readonly RecentEvent[];
  /** A catalogue row by product id. */
  product(id: string): Readonly<Record<string, unknown>> | undefined;
  /** Rewrites a link for click tracking (engine); absent in the plan, which leaves links as written. */
  trackLink?(url: string): string;
}

// Object.fromEntries defines own data properties, so a declared name like `__proto__` or `constructor`
// is an ordinary key and never touches a prototype.
function record(entries: Iterable<readonly [string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries);
}

function valueOf(source: Readonly<Record<string, unknown>> | undefined, key: string): unknown {
  if (!source || !Object.prototype.hasOwnProperty.call(source, key)) return null;
  const v = source[key];
  return v === undefined ? null : v;
}

export function buildRootData(model: DataModel, triggerEvent: string | undefined, ctx: RenderContext): Record<string, unknown> {
  const attrs = [...model.attributes.keys()].map((name) => [name, valueOf(ctx.profile, name)] as const);
  const entries: (readonly [string, unknown])[] = [...attrs];
  entries.push(['profile', record(attrs)]);
  entries.push(['customer_id', ctx.customerId]);
  if (model.rfm) {
    entries.push(['ltv', ctx.derived?.ltv ?? null]);
    entries.push(['rfm', record(RFM_FIELDS.map(([n]) => [n, valueOf(ctx.derived?.rfm, n)] as const))]);
  }
  if (model.clv) entries.push(['clv', record(CLV_FIELDS.map(([n]) => [n, valueOf(ctx.derived?.clv, n)] as const))]);
  entries.push(['now', ctx.now]);
  entries.push(['unsubscribe_url', ctx.unsubscribeUrl ?? null]);
  entries.push(['preferences_url', ctx.preferencesUrl ?? null]);
  const def = triggerEvent === undefined ? undefined : model.events.get(triggerEvent);
  if (def) entries.push(['event', record([...def.props.keys()].map((p) => [p, valueOf(ctx.event, p)] as const))]);
  return record(entries);
}

/** Items of `recent "<event>" n`: newest first (ties keep the host's order), each with every declared key. */
export function buildRecentItems(model: DataModel, event: string, n: number, ctx: RenderContext): Record<string, unknown>[] {
  const def = model.events.get(event);
  if (!def || !(n > 0)) return [];
  const join = joinsCatalogue(model, event);
  const events = [...ctx.recentEvents(event, n)].sort((a, b) => b.ts - a.ts).slice(0, n);
  return events.map((e) => {
    const entries: (readonly [string, unknown])[] = [];
    if (join) {
      const id = valueOf(e.props, 'product_id');
      const row = typeof id === 'string' || typeof id === 'number' ? ctx.product(String(id)) : undefined;
      for (const name of PRODUCT_FIELDS.keys()) entries.push([name, valueOf(row, name)]);
    }
    for (const p of def.props.keys()) entries.push([p, valueOf(e.props, p)]);
    entries.push(['ts', e.ts]);
    return record(entries);
  });
}
