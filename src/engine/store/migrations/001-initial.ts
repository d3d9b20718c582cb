// The first schema: ingest, durable journeys, the outbox, receipts, consent evidence, the send ledger and
// configuration versions. Every hot table leads its primary key with customer_id so it can be distributed
// by customer on Citus; see ../README.md for each table's role and the indexes' queries.
import type { Migration } from '../migrate.js';

const statements = [
  `CREATE TABLE customers (
    id          text        PRIMARY KEY,
    attributes  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
  )`,

  // id is the client's event id: unique per customer, so a retried POST enters nothing twice.
  // processed_at is NULL until the journey worker has offered the event to entries and waits; the partial
  // index is its queue, so an event committed just before a crash is still picked up.
  `CREATE TABLE events (
    customer_id  text        NOT NULL,
    id           text        NOT NULL,
    type         text        NOT NULL,
    ts           timestamptz NOT NULL,
    props        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,
    PRIMARY KEY (customer_id, id)
  )`,
  `CREATE INDEX events_customer_type_ts ON events (customer_id, type, ts)`,
  `CREATE INDEX events_unprocessed ON events (received_at) WHERE processed_at IS NULL`,

  `CREATE TABLE config_versions (
    id          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    content     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    created_by  text        NOT NULL
  )`,

  // One row per activation (apply or rollback): the audit trail. The partial unique index makes "at most
  // one active version" a database fact, not only a consequence of the advisory lock.
  `CREATE TABLE activations (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version     text        NOT NULL REFERENCES config_versions (id),
    previous    text        REFERENCES config_versions (id),
    action      text        NOT NULL CHECK (action IN ('apply', 'rollback')),
    who         text        NOT NULL,
    git_sha     text,
    message     text,
    at          timestamptz NOT NULL,
    active      boolean     NOT NULL DEFAULT false
  )`,
  `CREATE UNIQUE INDEX activations_one_active ON activations ((true)) WHERE active`,

  // A journey run: state is core/types.ts RunState as JSONB. config_version pins the run to the version it
  // started on. wake_at is the timer; lease_owner/lease_until make a claim by one replica visible and
  // expiring (claimed with FOR UPDATE SKIP LOCKED by the worker).
  `CREATE TABLE runs (
    customer_id    text        NOT NULL,
    run_id         text        NOT NULL,
    journey        text        NOT NULL,
    config_version text        NOT NULL REFERENCES config_versions (id),
    state          jsonb       NOT NULL,
    status         text        NOT NULL CHECK (status IN ('active', 'completed', 'converted', 'exited', 'held_out')),
    entered_at     timestamptz NOT NULL,
    wake_at        timestamptz,
    lease_owner    text,
    lease_until    timestamptz,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (customer_id, run_id)
  )`,
  `CREATE INDEX runs_due ON runs (wake_at) WHERE status = 'active' AND wake_at IS NOT NULL`,
  `CREATE INDEX runs_customer_journey ON runs (customer_id, journey, entered_at)`,

  // Every send is a row written in the same transaction as the step that caused it; id is the message id
  // and the idempotency key handed to providers.
  `CREATE TABLE outbox (
    customer_id         text        NOT NULL,
    id                  text        NOT NULL,
    run_id              text,
    journey             text,
    step                text,
    channel             text        NOT NULL,
    template            text        NOT NULL,
    class               text        NOT NULL CHECK (class IN ('marketing', 'service', 'transactional')),
    config_version      text        REFERENCES config_versions (id),
    payload             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status              text        NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'ambiguous')),
    attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz,
    lease_owner         text,
    lease_until         timestamptz,
    provider_message_id text,
    last_error          jsonb,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (customer_id, id)
  )`,
  `CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued'`,
  `CREATE INDEX outbox_in_flight ON outbox (lease_until) WHERE status = 'sending'`,
  `CREATE INDEX outbox_message ON outbox (id)`,
  `CREATE INDEX outbox_provider_message ON outbox (channel, provider_message_id) WHERE provider_message_id IS NOT NULL`,

  // One row per call to a provider, written (outcome NULL) before the call and completed after it: a row
  // still NULL after its lease is the evidence that makes the message ambiguous.
  `CREATE TABLE attempts (
    customer_id         text        NOT NULL,
    message_id          text        NOT NULL,
    n                   integer     NOT NULL,
    worker              text        NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    outcome             text        CHECK (outcome IN ('sent', 'skipped', 'failed_retryable', 'failed_permanent', 'ambiguous')),
    provider_message_id text,
    error               jsonb,
    PRIMARY KEY (customer_id, message_id, n)
  )`,

  // Provider callbacks arrive without a customer id, so receipts are keyed by (channel, provider event id):
  // the dedupe key. message_id/customer_id are resolved through the outbox when known.
  `CREATE TABLE receipts (
    channel             text        NOT NULL,
    provider_event_id   text        NOT NULL,
    message_id          text,
    customer_id         text,
    provider_message_id text,
    status              text        NOT NULL CHECK (status IN ('delivered', 'opened', 'clicked', 'failed', 'bounced', 'complained', 'unsubscribed')),
    at                  timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    payload             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    processed_at        timestamptz,
    PRIMARY KEY (channel, provider_event_id)
  )`,
  `CREATE INDEX receipts_message ON receipts (message_id, at)`,
  `CREATE INDEX receipts_unprocessed ON receipts (received_at) WHERE processed_at IS NULL`,

  // Consent is evidence, appended, never updated: the latest row per (customer, channel) is the answer.
  `CREATE TABLE consents (
    customer_id text        NOT NULL,
    id          text        NOT NULL,
    channel     text        NOT NULL,
    granted     boolean     NOT NULL,
    source      text        NOT NULL,
    evidence    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at          timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (customer_id, id)
  )`,
  `CREATE INDEX consents_latest ON consents (customer_id, channel, at DESC)`,

  // What was sent, when, at what cost: frequency caps read it per customer, budgets per channel.
  `CREATE TABLE ledger (
    customer_id text          NOT NULL,
    message_id  text          NOT NULL,
    channel     text          NOT NULL,
    class       text          NOT NULL CHECK (class IN ('marketing', 'service', 'transactional')),
    journey     text,
    at          timestamptz   NOT NULL,
    cost        numeric(14,6) NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, message_id)
  )`,
  `CREATE INDEX ledger_customer_at ON ledger (customer_id, at)`,
  `CREATE INDEX ledger_channel_at ON ledger (channel, at)`,
];

export const migration: Migration = {
  id: 1,
  name: 'initial',
  async up(trx) {
    // One statement per call: PGlite's extended protocol takes a single statement per query.
    for (const sql of statements) await trx.raw(sql);
  },
};
