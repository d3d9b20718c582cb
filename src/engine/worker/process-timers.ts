// Due timers: active runs whose wake_at has come. One transaction claims a batch with FOR UPDATE SKIP
// LOCKED (so replicas never step the same run), records the claim in lease_owner/lease_until, steps each
// run with its own config_version and writes state, outbox and ledger rows before commit. A run whose
// customer another transaction holds is left for the next tick (a try-lock: never a lock-order deadlock).
import type { Clock } from '../clock.js';
import type { Store } from '../store/open-store.js';
import { loadCustomer, type CustomerData } from './customer-data.js';
import { historyNeeds } from './history-needs.js';
import { preloadVersions, type ProjectLoader } from './projects.js';
import { stepAndPersist, toStoredRun, tryLockCustomer } from './runs.js';

export interface ProcessTimersOptions {
  store: Store;
  projects: ProjectLoader;
  clock: Clock;
  worker: string;
  batchSize?: number;
  leaseMs?: number;
}

export interface ProcessTimersResult {
  runs: number;
  sends: number;
  skipped: number;
}

export async function processTimers(options: ProcessTimersOptions): Promise<ProcessTimersResult> {
  const now = options.clock.now();
  const result: ProcessTimersResult = { runs: 0, sends: 0, skipped: 0 };
  await preloadVersions(options.projects, options.store.db, `SELECT DISTINCT config_version FROM runs WHERE status = 'active' AND wake_at <= ?`, [new Date(now)]);
  await options.store.db.transaction(async (trx) => {
    const claimed = (
      await trx.raw(
        `SELECT customer_id, run_id, journey, config_version, state, entered_at FROM runs
          WHERE status = 'active' AND wake_at <= ? AND (lease_until IS NULL OR lease_until < ?)
          ORDER BY wake_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [new Date(now), new Date(now), options.batchSize ?? 100],
      )
    ).rows as Parameters<typeof toStoredRun>[0][];
    if (claimed.length === 0) return;
    // Of each customer's history, what the claimed runs' versions read (a customer's runs may be on several).
    const versions = [...new Set(claimed.map((r) => r.config_version))];
    const history = { needs: historyNeeds(await Promise.all(versions.map((v) => options.projects.version(v)))), at: now };
    await trx.raw(
      `UPDATE runs SET lease_owner = ?, lease_until = ? FROM unnest(?::text[], ?::text[]) AS x(c, r) WHERE runs.customer_id = x.c AND runs.run_id = x.r`,
      [options.worker, new Date(now + (options.leaseMs ?? 60_000)), claimed.map((r) => r.customer_id), claimed.map((r) => r.run_id)],
    );
    const customers = new Map<string, CustomerData | null>();
    for (const row of claimed) {
      const run = toStoredRun(row);
      let customer = customers.get(run.customerId);
      if (customer === undefined) {
        customer = (await tryLockCustomer(trx, run.customerId)) ? await loadCustomer(trx, run.customerId, { history }) : null;
        customers.set(run.customerId, customer);
      }
      const project = await options.projects.version(run.configVersion);
      const journey = project.journeys.get(run.journey);
      if (!customer || !journey) {
        // Not ours this time: release the claim so the next tick takes it.
        await trx.raw(`UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE customer_id = ? AND run_id = ?`, [run.customerId, run.runId]);
        result.skipped++;
        continue;
      }
      const out = await stepAndPersist(trx, { project, version: run.configVersion, journey, customer, previous: run.state, input: { kind: 'timer', at: now }, now, isNew: false });
      result.runs++;
      result.sends += out.sends;
    }
  });
  return result;
}
