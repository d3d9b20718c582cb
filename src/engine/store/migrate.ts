// Race-safe numbered migrations (after graphile-worker): all pending migrations run in ONE transaction that
// first takes a transaction-scoped advisory lock, so two engines starting at once serialise; the second
// finds the work done. A database migrated by a newer Herald is refused rather than written to.
import type { Knex } from 'knex';
import { ENGINE_CODE } from '../codes.js';
import { EngineError } from '../errors.js';
import { MIGRATIONS } from './migrations/index.js';

export interface Migration {
  /** Its number, NNN in the file name; consecutive from 1. */
  id: number;
  name: string;
  up(trx: Knex.Transaction): Promise<void>;
}

/** Advisory lock class ids (first key of the two-int form); the second key is a hash of the schema. */
export const LOCK_CLASS = { migrate: 7201, config: 7202 } as const;

/** SQL for the second lock key: the current schema, so tests in separate schemas do not contend. */
export const SCHEMA_LOCK_KEY = `hashtext(coalesce(current_schema(), ''))`;

export interface MigrateResult {
  /** Ids applied by this call (empty when another engine, or an earlier start, did it). */
  applied: number[];
  /** The schema's migration level afterwards. */
  level: number;
}

export async function migrate(db: Knex, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(${LOCK_CLASS.migrate}, ${SCHEMA_LOCK_KEY})`);
    // applied_at is bookkeeping no plan reproduces, so the database clock is fine here.
    await trx.raw(`CREATE TABLE IF NOT EXISTS herald_migrations (
      id integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = (await trx.raw(`SELECT id FROM herald_migrations ORDER BY id`)).rows as { id: number }[];
    const done = new Set(rows.map((r) => Number(r.id)));
    const known = Math.max(0, ...migrations.map((m) => m.id));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new EngineError(
        'invalid',
        ENGINE_CODE.schemaTooNew,
        `the database schema is at migration ${newest}, newer than this Herald knows (${known})`,
        'upgrade Herald on every engine sharing this database',
      );
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) continue;
      await m.up(trx);
      await trx.raw(`INSERT INTO herald_migrations (id, name) VALUES (?, ?)`, [m.id, m.name]);
      applied.push(m.id);
    }
    return { applied, level: Math.max(newest, ...applied) };
  });
}
