// Indexes for the worker's set-based reads and the queue gauges, so none of them scans a table that grows
// with traffic. Plain CREATE INDEX: migrations run in one transaction (see ../README.md), so on a large
// existing database this migration holds its tables' write locks while the indexes build.
import type { Migration } from '../migrate.js';

const statements = [
  // The event queue's claim orders by (received_at, customer_id, id): a whole POSTed batch shares one
  // received_at, so with received_at alone every claim sorted the entire backlog to take its first rows.
  // The wider index serves everything the narrower one did (its leading column is the same).
  `CREATE INDEX events_queue ON events (received_at, customer_id, id) WHERE processed_at IS NULL`,
  `DROP INDEX events_unprocessed`,
  // Budgets sum one channel's costs over a window: an index-only range scan instead of visiting each row.
  // It replaces (channel, at), which only budgets read.
  `CREATE INDEX ledger_spend ON ledger (channel, at) INCLUDE (cost) WHERE cost > 0`,
  `DROP INDEX ledger_channel_at`,
  // herald_runs_active and the versions runs in flight step with, without reading finished runs.
  `CREATE INDEX runs_active ON runs (config_version) WHERE status = 'active'`,
  // The failed/ambiguous outbox gauges: few rows among all sent messages.
  `CREATE INDEX outbox_attention ON outbox (status) WHERE status IN ('failed', 'ambiguous')`,
  // Channel health reads the last day's finished attempts.
  `CREATE INDEX attempts_finished ON attempts (finished_at) WHERE outcome IS NOT NULL`,
];

export const migration: Migration = {
  id: 3,
  name: 'worker-indexes',
  async up(trx) {
    for (const sql of statements) await trx.raw(sql);
  },
};
