// Channel health for `herald status`: what became of the provider calls of each channel over the last hour
// and the last 24 hours, read from the attempts rows (one per provider call, outcome written after it), the
// channel's queued messages, its last error, and a verdict.
//
// Counts are per attempt, by the time it finished:
//   sent       the provider took the message;
//   failed     the attempt ended the message: a permanent failure, a skip, or a retryable failure after the
//              last allowed attempt (the message's status is `failed` and this was its last attempt);
//   retried    a retryable failure after which the message was queued again (backoff);
//   ambiguous  the outcome is unknown (a timeout after the request was written, or a lease that expired).
//
// Verdict (HEALTH_THRESHOLDS), from the last hour when it has a finished attempt, else from the last 24 h:
//   idle       no finished attempt in 24 h;
//   failing    at least half of the attempts did not send (failed + retried + ambiguous ≥ 50 %);
//   degraded   at least 5 % did not send, or any attempt was ambiguous (each one needs an operator's look);
//   ok         otherwise.
import type { Knex } from 'knex';

export type HealthVerdict = 'ok' | 'degraded' | 'failing' | 'idle';

export const HEALTH_THRESHOLDS = { failingShare: 0.5, degradedShare: 0.05 } as const;

export interface AttemptCounts {
  sent: number;
  failed: number;
  retried: number;
  ambiguous: number;
}

export interface ChannelHealth {
  channel: string;
  verdict: HealthVerdict;
  /** Which window the verdict was read from (null when idle). */
  basis: '1h' | '24h' | null;
  lastHour: AttemptCounts;
  lastDay: AttemptCounts;
  /** Messages waiting to be sent now (status queued), whatever their age. */
  queued: number;
  /** The newest attempt that recorded an error, at any time. */
  lastError: { at: Date; code: string; message: string } | null;
}

const HOUR = 3_600_000;

/**
 * Health of every channel that is `configured` (the active version's channels) or had an attempt in the
 * last 24 h, sorted by name.
 */
export async function readChannelHealth(db: Knex | Knex.Transaction, nowMs: number, configured: readonly string[] = []): Promise<ChannelHealth[]> {
  const now = new Date(nowMs);
  const hourAgo = new Date(nowMs - HOUR);
  const dayAgo = new Date(nowMs - 24 * HOUR);
  // One pass over the day's finished attempts, classified as above.
  const counted = (
    await db.raw(
      `SELECT o.channel,
              count(*) FILTER (WHERE k = 'sent' AND a.finished_at >= ?)::int AS sent_h,
              count(*) FILTER (WHERE k = 'failed' AND a.finished_at >= ?)::int AS failed_h,
              count(*) FILTER (WHERE k = 'retried' AND a.finished_at >= ?)::int AS retried_h,
              count(*) FILTER (WHERE k = 'ambiguous' AND a.finished_at >= ?)::int AS ambiguous_h,
              count(*) FILTER (WHERE k = 'sent')::int AS sent_d,
              count(*) FILTER (WHERE k = 'failed')::int AS failed_d,
              count(*) FILTER (WHERE k = 'retried')::int AS retried_d,
              count(*) FILTER (WHERE k = 'ambiguous')::int AS ambiguous_d
         FROM attempts a
         JOIN outbox o ON o.customer_id = a.customer_id AND o.id = a.message_id
         CROSS JOIN LATERAL (SELECT CASE
                WHEN a.outcome = 'sent' THEN 'sent'
                WHEN a.outcome = 'ambiguous' THEN 'ambiguous'
                WHEN a.outcome = 'failed_retryable' AND NOT (o.status = 'failed' AND a.n = o.attempts) THEN 'retried'
                ELSE 'failed' END AS k) c
        WHERE a.outcome IS NOT NULL AND a.finished_at >= ? AND a.finished_at <= ?
        GROUP BY o.channel`,
      [hourAgo, hourAgo, hourAgo, hourAgo, dayAgo, now],
    )
  ).rows as ({ channel: string } & Record<`${keyof AttemptCounts}_${'h' | 'd'}`, number>)[];
  const queued = (await db.raw(`SELECT channel, count(*)::int AS n FROM outbox WHERE status = 'queued' GROUP BY channel`)).rows as { channel: string; n: number }[];
  const errors = (
    await db.raw(
      `SELECT DISTINCT ON (o.channel) o.channel, a.finished_at AS at, a.error ->> 'code' AS code, a.error ->> 'message' AS message
         FROM attempts a JOIN outbox o ON o.customer_id = a.customer_id AND o.id = a.message_id
        WHERE a.error IS NOT NULL AND a.finished_at <= ?
        ORDER BY o.channel, a.finished_at DESC, a.message_id, a.n DESC`,
      [now],
    )
  ).rows as { channel: string; at: Date; code: string | null; message: string | null }[];

  const names = new Set([...configured, ...counted.map((r) => r.channel)]);
  const byName = new Map(counted.map((r) => [r.channel, r]));
  const queuedBy = new Map(queued.map((r) => [r.channel, Number(r.n)]));
  const errorBy = new Map(errors.map((r) => [r.channel, r]));
  return [...names].sort().map((channel) => {
    const r = byName.get(channel);
    const pick = (w: 'h' | 'd'): AttemptCounts => ({
      sent: Number(r?.[`sent_${w}`] ?? 0),
      failed: Number(r?.[`failed_${w}`] ?? 0),
      retried: Number(r?.[`retried_${w}`] ?? 0),
      ambiguous: Number(r?.[`ambiguous_${w}`] ?? 0),
    });
    const lastHour = pick('h');
    const lastDay = pick('d');
    const e = errorBy.get(channel);
    return {
      channel,
      ...judgeChannelHealth(lastHour, lastDay),
      lastHour,
      lastDay,
      queued: queuedBy.get(channel) ?? 0,
      lastError: e ? { at: new Date(e.at), code: e.code ?? 'unknown', message: e.message ?? '' } : null,
    };
  });
}

/** The verdict from the last hour, or from the day when the hour had no finished attempt. */
export function judgeChannelHealth(lastHour: AttemptCounts, lastDay: AttemptCounts): { verdict: HealthVerdict; basis: ChannelHealth['basis'] } {
  const total = (c: AttemptCounts) => c.sent + c.failed + c.retried + c.ambiguous;
  const basis = total(lastHour) > 0 ? '1h' : total(lastDay) > 0 ? '24h' : null;
  if (basis === null) return { verdict: 'idle', basis };
  const c = basis === '1h' ? lastHour : lastDay;
  const share = (c.failed + c.retried + c.ambiguous) / total(c);
  if (share >= HEALTH_THRESHOLDS.failingShare) return { verdict: 'failing', basis };
  if (share >= HEALTH_THRESHOLDS.degradedShare || c.ambiguous > 0) return { verdict: 'degraded', basis };
  return { verdict: 'ok', basis };
}
