// A revision per customer's event history (worker/history-cache.ts): every statement that inserts events
// for a customer adds one to customers.history_rev in the same statement, creating the row (at 1) when there
// is none, so a process that kept a history in memory can tell, from one column of a row it reads anyway,
// whether anything was written since. Rows are never deleted, so a revision never repeats for a customer.
//
// A row at 0 has never had an event: a profile-only row (POST /v1/customers) starts there. Rows that exist
// now may have events, so they start at 1; so do rows for the customers of events still queued that have
// none yet (before this migration an event insert did not create its customer; the worker's claim did).
// Every engine on the database must run code that raises the revision once this migration has run.
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  id: 7,
  name: 'history-revisions',
  async up(trx) {
    await trx.raw(`ALTER TABLE customers ADD COLUMN history_rev bigint NOT NULL DEFAULT 1`);
    await trx.raw(`ALTER TABLE customers ALTER COLUMN history_rev SET DEFAULT 0`);
    await trx.raw(
      `INSERT INTO customers (id, created_at, updated_at, history_rev)
       SELECT DISTINCT customer_id, now(), now(), 1 FROM events WHERE processed_at IS NULL
       ON CONFLICT (id) DO NOTHING`,
    );
  },
};
