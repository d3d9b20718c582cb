// The statements every batch runs, prepared by name once per connection: node-pg then sends only Bind and
// Execute, and after five executions PostgreSQL keeps a generic plan when it costs no more than the custom
// ones, so planning leaves the batch (about 0.9 ms of the batch read's 4–5 ms on the sample stream). The
// texts are constant; only the bindings vary. PGlite ignores the name. A connection pooler that cannot keep
// prepared statements across transactions (PgBouncer in transaction mode before 1.21) needs
// HERALD_PG_PREPARED=off, which sends every statement unnamed as before.

/** knex query options (`.options(...)`) naming a prepared statement `herald_<name>`. */
export function prepared(name: string): { name?: string } {
  return process.env.HERALD_PG_PREPARED === 'off' ? {} : { name: `herald_${name}` };
}
