// The send-time gate (worker/send-time-ledger.ts) sums each budget over the attempts started in its window:
// a range scan instead of reading every attempt ever made.
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  id: 4,
  name: 'send-time-ledger',
  async up(trx) {
    await trx.raw(`CREATE INDEX attempts_started ON attempts (started_at)`);
  },
};
