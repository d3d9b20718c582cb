// How much work is waiting, read from the rows the worker claims: `herald status` and the /metrics gauges
// (read at scrape time, so every replica reports the shared database's truth rather than its own view).
// Three queries, each served by the partial index of the queue it reads (runs_due, outbox_due and
// outbox_in_flight, events_queue); only `activeRuns` and the failed/ambiguous outbox counts scan their
// table, since no index covers those statuses (a partial index per status would make them index-only).
import type { Knex } from 'knex';

export type OutboxBacklogStatus = 'queued' | 'sending' | 'failed' | 'ambiguous';

export interface QueueDepths {
  /** Active runs whose timer is due and not claimed (no lease, or an expired one). */
  dueRuns: number;
  activeRuns: number;
  /** Messages per outbox status except `sent` (terminal and unbounded). */
  outbox: Record<OutboxBacklogStatus, number>;
  /**
   * Seconds the oldest due, unclaimed item of each queue has waited: an event not yet processed (since it was
   * received), a due timer (since wake_at), a queued message (since next_attempt_at). 0 when the queue is caught up.
   */
  lagSeconds: { events: number; timers: number; outbox: number };
}

export async function readQueueDepths(db: Knex | Knex.Transaction, nowMs: number): Promise<QueueDepths> {
  const now = new Date(nowMs);
  const runs = (
    await db.raw(
      `SELECT count(*) FILTER (WHERE wake_at <= ? AND (lease_until IS NULL OR lease_until < ?))::int AS due,
              min(wake_at) FILTER (WHERE wake_at <= ? AND (lease_until IS NULL OR lease_until < ?)) AS oldest,
              count(*)::int AS active
         FROM runs WHERE status = 'active'`,
      [now, now, now, now],
    )
  ).rows[0] as { due: number; active: number; oldest: Date | null };
  const outbox: QueueDepths['outbox'] = { queued: 0, sending: 0, failed: 0, ambiguous: 0 };
  let oldestQueued: Date | null = null;
  const perStatus = (
    await db.raw(
      `SELECT status, count(*)::int AS n, min(next_attempt_at) FILTER (WHERE next_attempt_at <= ?) AS oldest
         FROM outbox WHERE status IN ('queued', 'sending', 'failed', 'ambiguous') GROUP BY status`,
      [now],
    )
  ).rows as { status: OutboxBacklogStatus; n: number; oldest: Date | null }[];
  for (const r of perStatus) {
    outbox[r.status] = Number(r.n);
    if (r.status === 'queued') oldestQueued = r.oldest;
  }
  const events = (await db.raw(`SELECT min(received_at) AS oldest FROM events WHERE processed_at IS NULL`)).rows[0] as { oldest: Date | null };
  const lag = (t: Date | null) => (t === null ? 0 : Math.max(0, (nowMs - new Date(t).getTime()) / 1000));
  return {
    dueRuns: Number(runs.due),
    activeRuns: Number(runs.active),
    outbox,
    lagSeconds: { events: lag(events.oldest), timers: lag(runs.oldest), outbox: lag(oldestQueued) },
  };
}
