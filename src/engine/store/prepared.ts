// The statements every batch runs inside its transaction, straight to the transaction's connection, past
// knex's per-query work (placeholder rewriting of a 3 kB text, checks over every binding). The insert and the
// run writes are prepared by name once per connection and then only bound and executed: after five executions
// PostgreSQL keeps a generic plan when it costs no more than the custom ones, so parsing and planning leave the
// batch. Named: node-pg's named queries on PostgreSQL; on PGlite, whose query() always uses the unnamed
// statement, its wire-protocol interface. The batch read is sent unnamed (runUnnamed): its best plan depends
// on the arrays it is given.
//
// A connection pooler that cannot keep prepared statements across transactions (PgBouncer in transaction mode
// before 1.21) needs HERALD_PG_PREPARED=off: the named ones then go through knex unnamed (PGlite included).
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

/** Per statement key, its text and the text with `$n` placeholders (knex's conversion, done once). */
const texts = new Map<string, { sql: string; native: string }>();

/**
 * `sql` (with `?` placeholders) as the prepared statement `herald_<name>`, inside a transaction: straight to
 * the transaction's connection (node-pg, named; PGlite, over the wire protocol), past knex's per-query work,
 * which for these long texts and large bindings costs more than a round trip. Outside a transaction, or with
 * HERALD_PG_PREPARED=off, an unnamed query through knex.
 */
export async function runPrepared<R>(db: Knex | Knex.Transaction, name: string, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[] }> {
  if (!db.isTransaction || !enabled()) return (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: R[] };
  const statement = `herald_${name}`;
  const text = nativeText(db, statement, sql, bindings);
  const connection = await transactionConnection(db);
  if (isPglite(connection)) return pgliteQuery<R>(connection, statement, text, bindings);
  return (await connection.query({ name: statement, text, values: bindings as unknown[] })) as { rows: R[] };
}

/**
 * `sql` as an unnamed statement, planned for its bindings every time, straight to the transaction's connection
 * (outside one, through knex). For a statement whose best plan depends on the bindings: PostgreSQL's generic plan
 * for `col = ANY($n)` cannot hash the array, so each row is compared with every element, and it is kept however
 * the tables grow after it was made (the batch read without histories took 17–20 ms a batch with it on a
 * synthetic stream, 9–12 ms planned each time; on the bundled sample, the same either way). Not affected by
 * HERALD_PG_PREPARED: nothing named is left on the connection.
 */
export async function runUnnamed<R>(db: Knex | Knex.Transaction, key: string | null, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[] }> {
  if (!db.isTransaction) return (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: R[] };
  // `key`: the text is constant and its conversion kept; null: a text that varies, converted each time.
  const text = key === null ? db.raw(sql, bindings as Knex.RawBinding[]).toSQL().toNative().sql : nativeText(db, `unnamed:${key}`, sql, bindings);
  const connection = await transactionConnection(db);
  if (isPglite(connection)) return (await connection.query(text, bindings as unknown[])) as { rows: R[] };
  return (await connection.query({ text, values: bindings as unknown[] })) as { rows: R[] };
}

/** `sql` with knex's `?` placeholders as `$n`, converted once per key; the text of a key never changes. */
function nativeText(db: Knex | Knex.Transaction, key: string, sql: string, bindings: readonly Knex.RawBinding[]): string {
  let known = texts.get(key);
  if (!known) texts.set(key, (known = { sql, native: db.raw(sql, bindings as Knex.RawBinding[]).toSQL().toNative().sql }));
  else if (known.sql !== sql) throw new Error(`statement ${key}: the text changed`);
  return known.native;
}

/** The transaction's own connection: knex hands it out without a pool round (makeTxClient). */
async function transactionConnection(trx: Knex | Knex.Transaction): Promise<PgConnection | PGlite> {
  return (await (trx.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as PgConnection | PGlite;
}

interface PgConnection {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<unknown>;
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
