// Receipts to runs. One transaction claims unprocessed receipts with FOR UPDATE SKIP LOCKED in the order
// they happened (`at`, then received_at), feeds each to the run that sent its message as a `receipt` input
// (bounced and complained count as failed), persists the step and marks the receipt processed. Repeated and
// out-of-order receipts are safe: the core only moves a message's status forward. A receipt whose message
// (or run) is unknown is marked processed and counted. A receipt whose customer another transaction holds
// stays unprocessed for the next tick (a try-lock, as in process-timers.ts: no lock-order deadlock).
import type { Knex } from 'knex';
import type { MessageStatus } from '../../core/types.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { loadCustomer, type CustomerData } from './customer-data.js';
import { historyNeeds } from './history-needs.js';
import { preloadVersions, type ProjectLoader } from './projects.js';
import { customerRuns, stepAndPersist, tryLockCustomer } from './runs.js';

export interface ProcessReceiptsOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  batchSize?: number;
}

export interface ProcessReceiptsResult {
  /** Receipts marked processed this round. */
  receipts: number;
  /** Fed to a run. */
  applied: number;
  /** No outbox row or no run for the message. */
  unknown: number;
  /** Left for a later tick (customer busy). */
  skipped: number;
  sends: number;
}

interface ReceiptRow {
  channel: string;
  provider_event_id: string;
  message_id: string | null;
  customer_id: string | null;
  status: string;
  at: Date;
}

/** Provider statuses as the journey core knows them. */
export function coreStatus(status: string): MessageStatus | undefined {
  switch (status) {
    case 'delivered':
    case 'opened':
    case 'clicked':
    case 'failed':
      return status;
    case 'bounced':
    case 'complained':
      return 'failed';
    default:
      return undefined;
  }
}

export async function processReceipts(options: ProcessReceiptsOptions): Promise<ProcessReceiptsResult> {
  const now = options.clock.now();
  const result: ProcessReceiptsResult = { receipts: 0, applied: 0, unknown: 0, skipped: 0, sends: 0 };
  await preloadVersions(options.projects, options.store.db, `SELECT DISTINCT config_version FROM runs WHERE status = 'active'`);
  await options.store.db.transaction(async (trx) => {
    const claimed = (
      await trx.raw(
        `SELECT channel, provider_event_id, message_id, customer_id, status, at FROM receipts
          WHERE processed_at IS NULL ORDER BY at, received_at, channel, provider_event_id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [options.batchSize ?? 100],
      )
    ).rows as ReceiptRow[];
    // Steps happen at each receipt's own time (never after now): histories are read as of the earliest, which
    // holds every later instant's part too (historySource).
    const since = Math.min(now, ...claimed.map((r) => new Date(r.at).getTime()));
    const customers: BatchCustomers = { locked: new Map(), loaded: new Map(), since };
    for (const r of claimed) {
      const outcome = await applyReceipt(trx, options, r, now, customers);
      if (outcome === 'skipped') {
        result.skipped++;
        continue;
      }
      await trx.raw(`UPDATE receipts SET processed_at = ?, customer_id = coalesce(customer_id, ?) WHERE channel = ? AND provider_event_id = ?`, [
        new Date(now),
        outcome.customerId,
        r.channel,
        r.provider_event_id,
      ]);
      // A spam complaint is the customer withdrawing consent for the channel, with the receipt as evidence
      // (the id is the receipt's, so a repeated complaint records nothing new).
      if (r.status === 'complained' && outcome.customerId) {
        await trx.raw(
          `INSERT INTO consents (customer_id, id, channel, granted, source, evidence, at, recorded_at) VALUES (?, ?, ?, false, 'complaint', ?::jsonb, ?, ?)
           ON CONFLICT (customer_id, id) DO NOTHING`,
          [outcome.customerId, `complaint-${r.channel}-${r.provider_event_id}`, r.channel, JSON.stringify({ message_id: r.message_id, provider_event_id: r.provider_event_id }), new Date(r.at), new Date(now)],
        );
      }
      // A hard bounce: the address the message went to is not written to again (withSuppressions), until
      // the customer gives another. The address is the one the attempt used, not the profile's today.
      if (r.status === 'bounced' && r.message_id && outcome.customerId) {
        await trx.raw(
          `INSERT INTO suppressions (customer_id, channel, address, reason, evidence, at, recorded_at)
           SELECT customer_id, ?, address, 'hard_bounce', ?::jsonb, ?, ? FROM attempts
            WHERE customer_id = ? AND message_id = ? AND address IS NOT NULL AND address <> '' ORDER BY n DESC LIMIT 1
           ON CONFLICT (customer_id, channel, address) DO NOTHING`,
          [r.channel, JSON.stringify({ message_id: r.message_id, provider_event_id: r.provider_event_id }), new Date(r.at), new Date(now), outcome.customerId, r.message_id],
        );
      }
      result.receipts++;
      if (outcome.kind === 'applied') {
        result.applied++;
        result.sends += outcome.sends;
      } else result.unknown++;
    }
  });
  return result;
}

/**
 * The customers a receipt batch has met: whether this transaction holds each one's lock, and each one's data
 * as each run's version reads it (the part of the history that version's expressions and templates read).
 */
interface BatchCustomers {
  locked: Map<string, boolean>;
  loaded: Map<string, CustomerData>;
  /** The instant the histories are read as of: no step of the batch evaluates before it. */
  since: number;
}

type Outcome = 'skipped' | { kind: 'applied'; customerId: string; sends: number } | { kind: 'unknown'; customerId: string | null };

async function applyReceipt(trx: Knex.Transaction, options: ProcessReceiptsOptions, r: ReceiptRow, now: number, customers: BatchCustomers): Promise<Outcome> {
  const status = coreStatus(r.status);
  if (!r.message_id || !status) return { kind: 'unknown', customerId: r.customer_id };
  // The customer may have been unknown at ingest (receipt before the outbox row was visible): look again.
  const msg = (
    await trx.raw(`SELECT customer_id, run_id FROM outbox WHERE id = ? AND channel = ? ${r.customer_id ? 'AND customer_id = ?' : ''} LIMIT 1`, [
      r.message_id,
      r.channel,
      ...(r.customer_id ? [r.customer_id] : []),
    ])
  ).rows as { customer_id: string; run_id: string | null }[];
  if (!msg.length || !msg[0].run_id) return { kind: 'unknown', customerId: msg[0]?.customer_id ?? r.customer_id };
  const { customer_id: customerId, run_id: runId } = msg[0];
  let locked = customers.locked.get(customerId);
  if (locked === undefined) customers.locked.set(customerId, (locked = await tryLockCustomer(trx, customerId)));
  if (!locked) return 'skipped';
  // Re-read every time: an earlier receipt in this batch may have stepped the same run.
  const run = (await customerRuns(trx, customerId)).find((x) => x.runId === runId);
  if (!run) return { kind: 'unknown', customerId };
  const project = await options.projects.version(run.configVersion);
  const journey = project.journeys.get(run.journey);
  if (!journey) return { kind: 'unknown', customerId };
  const key = `${customerId}\u0000${run.configVersion}`;
  let customer = customers.loaded.get(key);
  if (!customer) customers.loaded.set(key, (customer = await loadCustomer(trx, customerId, { history: { needs: historyNeeds([project]), at: customers.since } })));
  // The time it happened, but never in the future of the engine's clock (provider clock skew).
  const at = Math.min(new Date(r.at).getTime(), now);
  const out = await stepAndPersist(trx, {
    project,
    version: run.configVersion,
    journey,
    customer,
    previous: run.state,
    input: { kind: 'receipt', at, messageId: r.message_id, status },
    now,
    isNew: false,
  });
  return { kind: 'applied', customerId, sends: out.sends };
}
