// A revision per customer's event history (worker/history-cache.ts): every statement that inserts events
// for a customer adds one to customers.history_rev in the same statement, so a process that kept a history
// in memory can tell, from one column of a row it reads anyway, whether anything was written since. Rows
// are never deleted, so a revision never repeats for a customer.
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  id: 7,
  name: 'history-revisions',
  async up(trx) {
    await trx.raw(`ALTER TABLE customers ADD COLUMN history_rev bigint NOT NULL DEFAULT 0`);
  },
};
