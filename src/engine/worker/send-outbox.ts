// The outbox sender. Claim (one transaction): expired `sending` leases become `ambiguous` (or `queued` again
// when the channel's provider is idempotent), then queued rows are taken with FOR UPDATE SKIP LOCKED, each
// gets an attempts row (outcome NULL) and status `sending` with a lease, commit. Then render and call the
// provider outside any transaction, and record the outcome in a second one. The message id is the
// idempotency key the provider receives. A permanent failure is fed to the run as a `failed` receipt.
import type { Knex } from 'knex';
import type { ChannelDef } from '../../config/model.js';
import type { ChannelProvider, OutgoingMessage, SendResult } from '../../channels/index.js';
import { renderMessage } from '../../templates/index.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { unsubscribeToken } from '../http/unsubscribe.js';
import { checkSend } from '../../core/policy-gate.js';
import type { Project } from '../../config/model.js';
import type { GateDecision, SuppressReason } from '../../core/types.js';
import { gateProfile, loadConsents, loadCustomer, loadSuppressions, renderContext, timezoneOf } from './customer-data.js';
import { historyNeeds } from './history-needs.js';
import { preloadVersions, type ProjectLoader } from './projects.js';
import { customerLockKey, customerRuns, lockCustomer, stepAndPersist } from './runs.js';
import { SendTimeLedger } from './send-time-ledger.js';

/** The provider for a channel (built once per channel by the caller, e.g. with createProvider). */
export type ProviderResolver = (channel: ChannelDef) => ChannelProvider;

export interface SendOutboxOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  providers: ProviderResolver;
  worker: string;
  batchSize?: number;
  /** How long a `sending` claim lasts before it counts as a crash (default 5 min). */
  leaseMs?: number;
  /** Retry backoff: base * 2^(attempt-1), capped (defaults 30 s and 1 h); after maxAttempts the message fails. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxAttempts?: number;
  /**
   * Signs one-click unsubscribe tokens: with it, `{{unsubscribe_url}}` and the List-Unsubscribe header are
   * `<links.unsubscribe>/<token>` for this customer, channel and message (the engine serves POST/GET /u/:token).
   */
  unsubscribeSecret?: string;
  /** Messages of a claimed batch in flight at once (default 8): provider round trips overlap. */
  concurrency?: number;
}

export interface SendOutboxResult {
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  ambiguous: number;
  /** Expired leases found this round. */
  recovered: number;
}

interface OutboxRow {
  customer_id: string;
  id: string;
  run_id: string | null;
  journey: string;
  channel: string;
  template: string;
  class: 'marketing' | 'service' | 'transactional';
  config_version: string;
  attempts: number;
  /** The message is a cascade step (a capped channel falls through instead of on_cap deciding). */
  in_cascade?: boolean;
  /** The address the send-time gate saw (kept on the attempt, so a bounce suppresses that one). */
  address?: string | null;
  /** Set by the claim when the send-time gate refused the message (no provider call). */
  refused?: SuppressReason;
}

export async function sendOutbox(options: SendOutboxOptions): Promise<SendOutboxResult> {
  const result: SendOutboxResult = { claimed: 0, sent: 0, retried: 0, failed: 0, ambiguous: 0, recovered: 0 };
  const now = options.clock.now();
  const db = options.store.db;
  // Failures feed their runs and expired leases ask the channel whether it is idempotent, inside the claim.
  await preloadVersions(options.projects, db, `SELECT DISTINCT config_version FROM outbox WHERE status IN ('queued', 'sending')`);
  // Claimed a few at a time, as many as are sent at once: a crash can only leave in doubt the messages that
  // were actually on their way, not a whole batch that was claimed and still waiting its turn.
  const batch = options.batchSize ?? 50;
  const lanes = Math.max(1, options.concurrency ?? 8);
  result.recovered = await db.transaction((trx) => recoverExpired(trx, options, now));
  while (result.claimed < batch) {
    const claimed = await claim(options, now, Math.min(lanes, batch - result.claimed));
    if (claimed.length === 0) break;
    result.claimed += claimed.length;
    // Each message is attempted and recorded on its own (its own transaction), so they overlap.
    await Promise.all(
      claimed.map(async (row) => {
        const outcome: Outcome = row.refused ? { kind: 'skipped', code: row.refused, message: `refused at send time: ${row.refused}` } : await attempt(options, row);
        await record(options, row, outcome, result);
      }),
    );
    if (claimed.length < Math.min(lanes, batch)) break;
  }
  return result;
}

async function claim(options: SendOutboxOptions, now: number, limit: number): Promise<OutboxRow[]> {
  return options.store.db.transaction(async (trx) => {
    const selected = (
      await trx.raw(
        `SELECT customer_id, id, run_id, journey, channel, template, class, config_version, attempts, (payload->'cascade' IS NOT NULL) AS in_cascade FROM outbox
          WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [new Date(now), limit],
      )
    ).rows as OutboxRow[];
    // The customers' locks (tried, never waited for: this transaction already holds outbox rows), so that no
    // other replica's claim counts this customer's sends for caps while this one does. A message whose
    // customer is busy waits for the next round.
    const ids = [...new Set(selected.map((r) => r.customer_id))];
    const locked = new Set(
      ids.length
        ? ((await trx.raw(`SELECT id FROM unnest(?::text[]) AS id WHERE pg_try_advisory_xact_lock(${customerLockKey('id')})`, [ids])).rows as { id: string }[]).map((r) => r.id)
        : [],
    );
    const rows = selected.filter((r) => locked.has(r.customer_id));
    const gates = await sendTimeGates(trx, options, rows, now);
    const claimed: OutboxRow[] = [];
    for (const r of rows) {
      const gate = gates.get(r.id);
      if (gate?.kind === 'defer') {
        // Quiet hours began while it waited (a backlog, a retry), or a cap with on_cap: defer is full now: it
        // goes out when that ends, no attempt used.
        await trx.raw(`UPDATE outbox SET next_attempt_at = ?, updated_at = ? WHERE customer_id = ? AND id = ?`, [new Date(gate.until), new Date(now), r.customer_id, r.id]);
        continue;
      }
      if (gate?.kind === 'suppress') r.refused = gate.reason;
      claimed.push(r);
      r.attempts += 1;
      await trx.raw(`INSERT INTO attempts (customer_id, message_id, n, worker, started_at, address) VALUES (?, ?, ?, ?, ?, ?)`, [
        r.customer_id,
        r.id,
        r.attempts,
        options.worker,
        new Date(now),
        r.address ?? null,
      ]);
      await trx.raw(`UPDATE outbox SET status = 'sending', attempts = ?, lease_owner = ?, lease_until = ?, updated_at = ? WHERE customer_id = ? AND id = ?`, [
        r.attempts,
        options.worker,
        new Date(now + (options.leaseMs ?? 300_000)),
        new Date(now),
        r.customer_id,
        r.id,
      ]);
    }
    return claimed;
  });
}

/**
 * The policy gate again at send time, for what can have changed since the step queued the message: the address,
 * consent (an unsubscribe or complaint in between), quiet hours (a backlog or a retry ran into them), and caps
 * and budgets counted over what was actually sent in the windows ending now (send-time-ledger.ts). The claimed
 * messages are judged in order, each seeing the ones let out before it.
 */
async function sendTimeGates(trx: Knex.Transaction, options: SendOutboxOptions, rows: readonly OutboxRow[], now: number): Promise<Map<string, GateDecision>> {
  const out = new Map<string, GateDecision>();
  if (rows.length === 0) return out;
  const ids = [...new Set(rows.map((r) => r.customer_id))];
  const profiles = new Map(
    ((await trx.raw(`SELECT id, attributes FROM customers WHERE id = ANY(?::text[])`, [ids])).rows as { id: string; attributes: Record<string, unknown> }[]).map((r) => [r.id, r.attributes ?? {}]),
  );
  const consents = await loadConsents(trx, ids, now);
  const suppressed = await loadSuppressions(trx, ids);
  const costs = new Map(
    (
      (await trx.raw(`SELECT message_id, cost::float8 AS cost FROM ledger WHERE customer_id = ANY(?::text[]) AND message_id = ANY(?::text[])`, [ids, rows.map((r) => r.id)])).rows as {
        message_id: string;
        cost: number;
      }[]
    ).map((r) => [r.message_id, Number(r.cost)]),
  );
  const projects = new Map<string, Project>();
  for (const r of rows) if (!projects.has(r.config_version)) projects.set(r.config_version, await options.projects.version(r.config_version));
  const ledger = await SendTimeLedger.load(trx, projects.values(), ids, rows.map((r) => r.id), now);
  for (const r of rows) {
    const project = projects.get(r.config_version)!;
    const channel = project.channels.get(r.channel);
    if (!channel) continue; // attempt() reports the unknown reference
    const journey = project.journeys.get(r.journey);
    const profile = gateProfile(project, profiles.get(r.customer_id) ?? {}, consents.get(r.customer_id), suppressed.get(r.customer_id));
    const to = profile[channel.address];
    r.address = typeof to === 'string' ? to : to === undefined || to === null ? null : JSON.stringify(to);
    const cost = costs.get(r.id) ?? 0;
    const decision = checkSend({
      at: now,
      channel,
      class: r.class,
      policy: project.policies.get(journey?.policy ?? 'default'),
      profile,
      timezone: timezoneOf(project, profile),
      ledger: ledger.view(r.customer_id),
      cost,
      inCascade: r.in_cascade === true,
    });
    if (decision.kind === 'allow') ledger.record(r.customer_id, r.channel, r.class === 'marketing', cost);
    out.set(r.id, decision);
  }
  return out;
}

async function recoverExpired(trx: Knex.Transaction, options: SendOutboxOptions, now: number): Promise<number> {
  const expired = (
    await trx.raw(
      `SELECT customer_id, id, channel, config_version, attempts FROM outbox WHERE status = 'sending' AND lease_until < ? FOR UPDATE SKIP LOCKED`,
      [new Date(now)],
    )
  ).rows as OutboxRow[];
  for (const r of expired) {
    const project = await options.projects.version(r.config_version);
    const channel = project.channels.get(r.channel);
    const idempotent = channel ? safeProvider(options, channel)?.idempotent === true : false;
    await trx.raw(
      `UPDATE attempts SET outcome = 'ambiguous', finished_at = ?, error = ?::jsonb WHERE customer_id = ? AND message_id = ? AND n = ? AND outcome IS NULL`,
      [new Date(now), JSON.stringify({ code: 'lease_expired', message: 'the worker stopped before recording the outcome' }), r.customer_id, r.id, r.attempts],
    );
    await trx.raw(`UPDATE outbox SET status = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE customer_id = ? AND id = ?`, [
      idempotent ? 'queued' : 'ambiguous',
      new Date(now),
      new Date(now),
      r.customer_id,
      r.id,
    ]);
  }
  return expired.length;
}

function safeProvider(options: SendOutboxOptions, channel: ChannelDef): ChannelProvider | undefined {
  try {
    return options.providers(channel);
  } catch {
    return undefined;
  }
}

type Outcome = SendResult | { kind: 'skipped'; code: string; message: string };

async function attempt(options: SendOutboxOptions, row: OutboxRow): Promise<Outcome> {
  try {
    const project = await options.projects.version(row.config_version);
    const channel = project.channels.get(row.channel);
    const template = project.templates.get(row.template);
    if (!channel || !template) return { kind: 'failed', retryable: false, code: 'unknown_reference', message: `channel ${row.channel} or template ${row.template} is not in the run's version` };
    // Rendering reads the profile, the `recent` events and ltv, never rfm.* or clv.*: no model fit needed,
    // and only the events the version's templates (and expressions) read.
    const at = options.clock.now();
    const customer = await loadCustomer(options.store.db, row.customer_id, { models: false, history: { needs: historyNeeds([project]), at } });
    const to = customer.profile[channel.address];
    if (to === undefined || to === null || to === '') return { kind: 'failed', retryable: false, code: 'no_address', message: `customer has no ${channel.address}` };
    let entryEvent: Readonly<Record<string, unknown>> | undefined;
    if (row.run_id) {
      const run = (await options.store.db.raw(`SELECT state FROM runs WHERE customer_id = ? AND run_id = ?`, [row.customer_id, row.run_id])).rows[0] as
        | { state: { entryEvent?: { props: Record<string, unknown> } } }
        | undefined;
      entryEvent = run?.state.entryEvent?.props;
    }
    const ctx = renderContext(project, customer, at, entryEvent);
    const base = project.settings.links.unsubscribe;
    if (options.unsubscribeSecret && base) {
      const token = unsubscribeToken({ customerId: row.customer_id, channel: channel.meta.name, messageId: row.id }, options.unsubscribeSecret);
      ctx.unsubscribeUrl = `${base.replace(/\/+$/, '')}/${token}`;
    }
    let rendered: OutgoingMessage['rendered'];
    try {
      rendered = renderMessage(template.compiled, channel.type, ctx) as OutgoingMessage['rendered'];
    } catch (e) {
      return { kind: 'failed', retryable: false, code: 'render_failed', message: e instanceof Error ? e.message : String(e) };
    }
    const provider = options.providers(channel);
    return await provider.send({
      id: row.id,
      customerId: row.customer_id,
      to: typeof to === 'string' ? to : JSON.stringify(to),
      channel,
      rendered,
      unsubscribeUrl: ctx.unsubscribeUrl,
      class: row.class,
    });
  } catch (e) {
    // A provider that cannot be built, a lost database connection: try again later.
    return { kind: 'failed', retryable: true, code: 'worker_error', message: e instanceof Error ? e.message : String(e) };
  }
}

async function record(options: SendOutboxOptions, row: OutboxRow, outcome: Outcome, result: SendOutboxResult): Promise<void> {
  const now = options.clock.now();
  const at = new Date(now);
  const maxAttempts = options.maxAttempts ?? 8;
  let status: 'sent' | 'queued' | 'failed' | 'ambiguous';
  let attemptOutcome: string;
  let next: Date | null = null;
  let providerId: string | null = null;
  let error: unknown = null;
  switch (outcome.kind) {
    case 'sent':
      status = 'sent';
      attemptOutcome = 'sent';
      providerId = outcome.providerMessageId ?? null;
      result.sent++;
      break;
    case 'failed':
      error = { code: outcome.code, message: outcome.message };
      if (outcome.retryable && row.attempts < maxAttempts) {
        status = 'queued';
        attemptOutcome = 'failed_retryable';
        const backoff = Math.min(options.backoffMaxMs ?? 3_600_000, (options.backoffBaseMs ?? 30_000) * 2 ** (row.attempts - 1));
        next = new Date(now + Math.max(backoff, outcome.retryAfterMs ?? 0));
        result.retried++;
      } else {
        status = 'failed';
        attemptOutcome = outcome.retryable ? 'failed_retryable' : 'failed_permanent';
        result.failed++;
      }
      break;
    case 'ambiguous':
      status = 'ambiguous';
      attemptOutcome = 'ambiguous';
      error = { code: outcome.code ?? 'ambiguous', message: outcome.message };
      result.ambiguous++;
      break;
    case 'skipped':
      status = 'failed';
      attemptOutcome = 'skipped';
      error = { code: outcome.code, message: outcome.message };
      result.failed++;
      break;
  }
  await options.store.db.transaction(async (trx) => {
    await trx.raw(`UPDATE attempts SET outcome = ?, finished_at = ?, provider_message_id = ?, error = ?::jsonb WHERE customer_id = ? AND message_id = ? AND n = ?`, [
      attemptOutcome,
      at,
      providerId,
      error === null ? null : JSON.stringify(error),
      row.customer_id,
      row.id,
      row.attempts,
    ]);
    // Only while the claim is still ours: a row recovered as ambiguous after our lease expired stays so.
    const updated = await trx.raw(
      `UPDATE outbox SET status = ?, next_attempt_at = coalesce(?, next_attempt_at), provider_message_id = coalesce(?, provider_message_id),
              last_error = ?::jsonb, lease_owner = NULL, lease_until = NULL, updated_at = ?
        WHERE customer_id = ? AND id = ? AND status = 'sending' AND lease_owner = ? RETURNING id`,
      [status, next, providerId, error === null ? null : JSON.stringify(error), at, row.customer_id, row.id, options.worker],
    );
    if (status === 'failed' && updated.rows.length && row.run_id) await feedFailure(trx, options, row, now);
  });
}

/** A message that will never go out: tell its run (a cascade moves on, a wait for `failed` fires). */
async function feedFailure(trx: Knex.Transaction, options: SendOutboxOptions, row: OutboxRow, now: number): Promise<void> {
  await lockCustomer(trx, row.customer_id);
  const run = (await customerRuns(trx, row.customer_id)).find((r) => r.runId === row.run_id);
  if (!run) return;
  const project = await options.projects.version(run.configVersion);
  const journey = project.journeys.get(run.journey);
  if (!journey) return;
  const customer = await loadCustomer(trx, row.customer_id, { history: { needs: historyNeeds([project]), at: now } });
  await stepAndPersist(trx, { project, version: run.configVersion, journey, customer, previous: run.state, input: { kind: 'receipt', at: now, messageId: row.id, status: 'failed' }, now, isNew: false });
}
