// The statements every batch runs inside its transaction (insert, read, run writes), prepared by name once
// per connection and then only bound and executed: after five executions PostgreSQL keeps a generic plan when
// it costs no more than the custom ones, so parsing and planning leave the batch. They go straight to the
// transaction's connection: node-pg with a named query on PostgreSQL; on PGlite, whose query() always uses the
// unnamed statement, over its wire-protocol interface (the batch read there: 6.6 ms unnamed, 2.6 ms prepared,
// on the sample stream). Going past knex also skips its per-query work (placeholder rewriting of a 3 kB text,
// checks over every binding). The texts are constant; only the bindings vary.
//
// A connection pooler that cannot keep prepared statements across transactions (PgBouncer in transaction mode
// before 1.21) needs HERALD_PG_PREPARED=off: every statement then goes through knex unnamed (PGlite included).
import { parse as pgliteResults, protocol, type PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';

/** knex query options (`.options(...)`) naming a prepared statement `herald_<name>` on PostgreSQL (outside a transaction). */
export function prepared(name: string): { name?: string } {
  return enabled() ? { name: `herald_${name}` } : {};
}

function enabled(): boolean {
  return process.env.HERALD_PG_PREPARED !== 'off';
}

/** Per PGlite instance, the statements parsed so far: name → text and parameter types. */
const parsed = new WeakMap<PGlite, Map<string, { text: string; types: number[] }>>();

/** Per statement name, its text and the text with `$n` placeholders (knex's conversion, done once). */
const texts = new Map<string, { sql: string; native: string }>();

/**
 * `sql` (with `?` placeholders) as the prepared statement `herald_<name>`, inside a transaction: straight to
 * the transaction's connection (node-pg, named; PGlite, over the wire protocol), past knex's per-query work,
 * which for these long texts and large bindings costs more than a round trip. Without a name, outside a
 * transaction, or with HERALD_PG_PREPARED=off, an unnamed query through knex.
 */
export async function runPrepared<R>(db: Knex | Knex.Transaction, name: string | null, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[] }> {
  if (name === null || !db.isTransaction || !enabled()) return (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: R[] };
  const statement = `herald_${name}`;
  let known = texts.get(statement);
  if (!known) texts.set(statement, (known = { sql, native: db.raw(sql, bindings as Knex.RawBinding[]).toSQL().toNative().sql }));
  else if (known.sql !== sql) throw new Error(`prepared statement ${statement}: the text changed`);
  const text = known.native;
  // The transaction's own connection: knex hands it out without a pool round (makeTxClient).
  const connection = (await (db.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as PgConnection | PGlite;
  if (isPglite(connection)) return pgliteQuery<R>(connection, statement, text, bindings);
  return (await connection.query({ name: statement, text, values: bindings as unknown[] })) as { rows: R[] };
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

function isPglite(connection: PgConnection | PGlite): connection is PGlite {
  return typeof (connection as PGlite).execProtocol === 'function';
}

/** Parsed once per instance (the query mutex held: nothing else talks to it between these messages). */
async function pgliteQuery<R>(pglite: PGlite, statement: string, text: string, bindings: readonly unknown[]): Promise<{ rows: R[] }> {
  const ser = protocol.serialize;
  return pglite.runExclusive(async () => {
    let known = parsed.get(pglite);
    if (!known) parsed.set(pglite, (known = new Map()));
    let entry = known.get(statement);
    if (!entry) {
      const described = await pglite.execProtocol(concat([ser.parse({ name: statement, text }), ser.describe({ type: 'S', name: statement }), ser.sync()]), { syncToFs: false });
      entry = { text, types: pgliteResults.parseDescribeStatementResults(described.messages) };
      known.set(statement, entry);
    }
    const types = entry.types;
    const values = bindings.map((v, i) => (v === null || v === undefined ? null : serialize(pglite, types[i], v)));
    const result = await pglite.execProtocol(concat([ser.bind({ statement, values }), ser.describe({ type: 'P' }), ser.execute({}), ser.sync()]), { syncToFs: false });
    return pgliteResults.parseResults(result.messages, pglite.parsers)[0] as unknown as { rows: R[] };
  });
}

/** A binding as PGlite's query() would send it: the serializer of the parameter's type, text otherwise. */
function serialize(pglite: PGlite, type: number, value: unknown): string {
  const serializer = pglite.serializers[type];
  return serializer ? (serializer(value) as string) : String(value);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
