// The statements every batch runs, prepared by name once per connection and then only bound and executed:
// after five executions PostgreSQL keeps a generic plan when it costs no more than the custom ones, so
// parsing and planning leave the batch. On PostgreSQL node-pg does this for a named query; it saves about a
// millisecond of the batch read. PGlite's query() always uses the unnamed statement, and planning there costs
// more than the execution of these statements (the batch read: 6.6 ms unnamed, 2.6 ms prepared, measured on
// the sample stream), so inside a transaction, where the transaction holds PGlite's only connection, the
// statement goes to PGlite's wire-protocol interface with a name of its own.
//
// The texts are constant; only the bindings vary. A connection pooler that cannot keep prepared statements
// across transactions (PgBouncer in transaction mode before 1.21) needs HERALD_PG_PREPARED=off, which sends
// every statement unnamed (PGlite included).
import { parse as pgliteResults, protocol, type PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';

/** knex query options (`.options(...)`) naming a prepared statement `herald_<name>` on PostgreSQL. */
export function prepared(name: string): { name?: string } {
  return enabled() ? { name: `herald_${name}` } : {};
}

function enabled(): boolean {
  return process.env.HERALD_PG_PREPARED !== 'off';
}

/** Keyed by the knex config object, which a transaction's client shares with the knex instance it came from. */
const pglites = new WeakMap<object, PGlite>();

export function registerPglite(db: Knex, pglite: PGlite): void {
  pglites.set(db.client.config as object, pglite);
}

/** Per PGlite instance, the statements parsed so far: name → text and parameter types. */
const parsed = new WeakMap<PGlite, Map<string, { text: string; types: number[] }>>();

/**
 * `sql` (with `?` placeholders) as the prepared statement `herald_<name>`: through knex with a name on
 * PostgreSQL; on PGlite inside a transaction, parsed once and then bound and executed over the wire protocol.
 */
export async function runPrepared<R>(db: Knex | Knex.Transaction, name: string, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: R[] }> {
  const pglite = db.isTransaction && enabled() ? pglites.get(db.client.config as object) : undefined;
  if (!pglite) return (await db.raw(sql, bindings as Knex.RawBinding[]).options(prepared(name))) as { rows: R[] };
  const native = db.raw(sql, bindings as Knex.RawBinding[]).toSQL().toNative();
  const statement = `herald_${name}`;
  const ser = protocol.serialize;
  // The query mutex: nothing else talks to the instance between these messages (the transaction already
  // keeps knex's single connection for itself).
  return pglite.runExclusive(async () => {
    let known = parsed.get(pglite);
    if (!known) parsed.set(pglite, (known = new Map()));
    let entry = known.get(statement);
    if (entry && entry.text !== native.sql) throw new Error(`prepared statement ${statement}: the text changed`);
    if (!entry) {
      const described = await pglite.execProtocol(concat([ser.parse({ name: statement, text: native.sql }), ser.describe({ type: 'S', name: statement }), ser.sync()]), { syncToFs: false });
      entry = { text: native.sql, types: pgliteResults.parseDescribeStatementResults(described.messages) };
      known.set(statement, entry);
    }
    const types = entry.types;
    const values = native.bindings.map((v, i) => (v === null || v === undefined ? null : serialize(pglite, types[i], v)));
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
