// The writes behind POST /v1/events and /v1/customers. One statement per batch: the rows travel as one JSON
// document (json_array_elements), so a 500-event batch costs one parse and one round trip whatever its size
// (a multi-row VALUES list would bind 3,000 parameters), and JSON.stringify, which is native, does the
// escaping that array parameters would have done element by element in JavaScript.
import type { Knex } from 'knex';
import type { ValidCustomer, ValidEvent } from './validate-input.js';

export type Queryable = Knex | Knex.Transaction;

export interface EventOutcome {
  event: ValidEvent;
  /** false: this (customer_id, id) was already stored (or appeared earlier in the batch); nothing entered. */
  inserted: boolean;
}

/**
 * Inserts events, skipping any whose (customer_id, id) is already stored: a client retrying a POST whose
 * answer it never saw enters nothing twice. Returns, per input in order, whether it was inserted.
 */
export async function insertEvents(db: Queryable, events: readonly ValidEvent[], receivedAt: number): Promise<EventOutcome[]> {
  if (events.length === 0) return [];
  const result = await db.raw(
    `INSERT INTO events (customer_id, id, type, ts, props, received_at)
     SELECT ${EVENT_FIELDS}, ?::timestamptz FROM json_array_elements(?::json) AS x
     ON CONFLICT (customer_id, id) DO NOTHING
     RETURNING customer_id, id`,
    [new Date(receivedAt).toISOString(), eventsDocument(events)],
  );
  return eventOutcomes(events, result.rows as { customer_id: string; id: string }[]);
}

/** The columns (customer_id, id, type, ts, props) of an element `x` of eventsDocument(). */
export const EVENT_FIELDS = `x->>0, x->>1, x->>2, (x->>3)::timestamptz, (x->4)::jsonb`;

/** The events as one JSON array of [customer_id, id, type, ts, props] (EVENT_FIELDS reads an element). */
export function eventsDocument(events: readonly ValidEvent[]): string {
  return JSON.stringify(events.map((e) => [e.customerId, e.id, e.type, new Date(e.ts).toISOString(), e.props]));
}

/** The batch's distinct customer ids. */
export function customerIdsOf(events: readonly ValidEvent[]): string[] {
  return [...new Set(events.map((e) => e.customerId))];
}

/** Per input in order, whether the INSERT … RETURNING customer_id, id stored it. */
export function eventOutcomes(events: readonly ValidEvent[], returned: readonly { customer_id: string; id: string }[]): EventOutcome[] {
  const fresh = new Set<string>();
  for (const row of returned) fresh.add(keyOf(row.customer_id, row.id));
  // A key inserted by this statement counts once: its first occurrence in the batch is the inserted one.
  return events.map((event) => {
    const key = keyOf(event.customerId, event.id);
    const inserted = fresh.delete(key);
    return { event, inserted };
  });
}

export interface CustomerOutcome {
  id: string;
  created: boolean;
}

/**
 * Upserts customers: attributes merge into the stored ones (a key sent as null is stored as null, meaning
 * unknown). Several items for one id in a batch are merged in order first, because one INSERT … ON
 * CONFLICT DO UPDATE may not touch a row twice.
 */
export async function upsertCustomers(db: Queryable, customers: readonly ValidCustomer[], at: number): Promise<CustomerOutcome[]> {
  if (customers.length === 0) return [];
  const merged = new Map<string, Record<string, unknown>>();
  for (const c of customers) merged.set(c.id, { ...(merged.get(c.id) ?? {}), ...c.attributes });
  const ids = [...merged.keys()];
  const attributes = ids.map((id) => JSON.stringify(merged.get(id)));
  const when = new Date(at).toISOString();
  const result = await db.raw(
    `INSERT INTO customers AS c (id, attributes, created_at, updated_at)
     SELECT i, a, ?::timestamptz, ?::timestamptz FROM unnest(?::text[], ?::jsonb[]) AS x(i, a)
     ON CONFLICT (id) DO UPDATE SET attributes = c.attributes || EXCLUDED.attributes, updated_at = EXCLUDED.updated_at
     RETURNING id, (xmax = 0) AS created`,
    [when, when, ids, attributes],
  );
  // xmax = 0 marks a row this statement inserted (an updated row carries the updating transaction's id):
  // an implementation detail of PostgreSQL's MVCC that PG 15 and PGlite share; it only feeds the counts.
  return (result.rows as { id: string; created: boolean }[]).map((r) => ({ id: r.id, created: Boolean(r.created) }));
}

function keyOf(customerId: string, id: string): string {
  return `${customerId}\u0000${id}`;
}
