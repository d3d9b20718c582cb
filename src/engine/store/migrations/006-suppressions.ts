// Hard bounces: the address a message bounced from is not written to again (worker/process-receipts.ts), until
// the customer's address changes. Keyed by customer first like every hot table; the address each attempt used
// is kept so a bounce suppresses the address that bounced, not whatever the profile holds when it arrives.
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  id: 6,
  name: 'suppressions',
  async up(trx) {
    await trx.raw(`ALTER TABLE attempts ADD COLUMN address text`);
    await trx.raw(`CREATE TABLE suppressions (
      customer_id text        NOT NULL,
      channel     text        NOT NULL,
      address     text        NOT NULL,
      reason      text        NOT NULL,
      evidence    jsonb       NOT NULL DEFAULT '{}'::jsonb,
      at          timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL,
      PRIMARY KEY (customer_id, channel, address)
    )`);
  },
};
