// Entry sweeps: segment entry at the refresh tick and cron-scheduled entry, as durable jobs. A sweep is one
// (kind, journey, due_at) row, created by whichever replica first sees it due (the primary key makes that
// idempotent across replicas) and walked through the customers in id order, one page per transaction with
// the cursor committed beside the runs it entered, so a crash resumes at the last page and never re-enters.
import type { Migration } from '../migrate.js';

const statements = [
  `CREATE TABLE entry_sweeps (
    kind           text        NOT NULL CHECK (kind IN ('refresh', 'schedule')),
    journey        text        NOT NULL,
    due_at         timestamptz NOT NULL,
    config_version text        NOT NULL REFERENCES config_versions (id),
    cursor         text,
    customers      integer     NOT NULL DEFAULT 0,
    entered        integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    done_at        timestamptz,
    PRIMARY KEY (kind, journey, due_at)
  )`,
  `CREATE INDEX entry_sweeps_open ON entry_sweeps (due_at) WHERE done_at IS NULL`,
];

export const migration: Migration = {
  id: 2,
  name: 'entry-sweeps',
  async up(trx) {
    for (const sql of statements) await trx.raw(sql);
  },
};
