// Population models for rfm.* and clv.* inputs (worker/customer-models.ts): one row per due fit, created once
// across replicas by its key, claimed with a lease (a fit reads the whole purchase history, so it runs outside
// any transaction), finished with the models as JSON. Inputs read the newest finished row.
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  id: 5,
  name: 'model-fits',
  async up(trx) {
    await trx.raw(`CREATE TABLE model_fits (
      due_at         timestamptz PRIMARY KEY,
      config_version text        NOT NULL REFERENCES config_versions (id),
      created_at     timestamptz NOT NULL,
      lease_owner    text,
      lease_until    timestamptz,
      done_at        timestamptz,
      models         jsonb
    )`);
  },
};
