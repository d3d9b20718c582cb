// Caps and budgets as of the moment a message goes out, for the send-time gate (send-outbox.ts). At the step,
// the ledger row of a message reserves its place at the step's instant; but a message can leave later (a
// backlog, retries, quiet hours), and then the windows it actually falls into are not the ones it was judged
// in. So at send time the gate counts what was actually handed to a provider: messages with an attempt started
// in the window whose outcome is sent, ambiguous (it may have gone) or not known yet (in flight elsewhere).
// Failed and refused attempts never reached anyone and do not count.
import type { Knex } from 'knex';
import type { LedgerView } from '../../core/policy-gate.js';
import type { Project } from '../../config/model.js';
import { ledgerWindows } from './customer-data.js';

/** Attempt outcomes that count as a send (NULL: still in flight). */
const COUNTED = `(a.outcome IS NULL OR a.outcome IN ('sent', 'ambiguous'))`;

export class SendTimeLedger {
  private constructor(
    private readonly at: number,
    /** Per customer: marketing sends (channel, instant of the attempt), ascending. */
    private readonly sends: Map<string, { channel: string; at: number }[]>,
    /** Per `channel\0windowStart`: money spent in (windowStart, at]. */
    private readonly spent: Map<string, number>,
  ) {}

  /**
   * Reads, for the claimed messages' customers (whose locks the caller holds, so no other replica sends to
   * them meanwhile), their marketing sends within the longest cap window of `projects`, and each budget's
   * spend in its window, both up to `at`, leaving out the messages being claimed (`excluding`).
   */
  static async load(trx: Knex.Transaction, projects: Iterable<Project>, customerIds: readonly string[], excluding: readonly string[], at: number): Promise<SendTimeLedger> {
    const windows = ledgerWindows(projects);
    const sends = new Map<string, { channel: string; at: number }[]>();
    if (windows.capMs > 0 && customerIds.length) {
      const rows = (
        await trx.raw(
          `SELECT o.customer_id, o.channel, max(a.started_at) AS at
             FROM attempts a JOIN outbox o ON o.customer_id = a.customer_id AND o.id = a.message_id
            WHERE a.customer_id = ANY(?::text[]) AND o.class = 'marketing' AND a.started_at > ? AND a.started_at <= ? AND ${COUNTED}
              AND NOT (a.message_id = ANY(?::text[]))
            GROUP BY o.customer_id, o.id, o.channel
            ORDER BY at`,
          [[...customerIds], new Date(at - windows.capMs), new Date(at), [...excluding]],
        )
      ).rows as { customer_id: string; channel: string; at: Date }[];
      for (const r of rows) {
        const list = sends.get(r.customer_id) ?? [];
        list.push({ channel: r.channel, at: new Date(r.at).getTime() });
        sends.set(r.customer_id, list);
      }
    }
    const spent = new Map<string, number>();
    for (const b of windows.budgets) {
      const row = (
        await trx.raw(
          `SELECT coalesce(sum(l.cost), 0)::float8 AS spent FROM ledger l
            WHERE (l.customer_id, l.message_id) IN (SELECT a.customer_id, a.message_id FROM attempts a WHERE a.started_at > ? AND a.started_at <= ? AND ${COUNTED})
              AND l.channel = ? AND l.cost > 0 AND NOT (l.message_id = ANY(?::text[]))`,
          [new Date(at - b.perMs), new Date(at), b.channel, [...excluding]],
        )
      ).rows[0] as { spent: number };
      spent.set(`${b.channel}\0${at - b.perMs}`, Number(row.spent));
    }
    return new SendTimeLedger(at, sends, spent);
  }

  /** A message this claim lets out: the ones after it in the same claim see it. */
  record(customerId: string, channel: string, marketing: boolean, cost: number): void {
    if (marketing) {
      const list = this.sends.get(customerId) ?? [];
      list.push({ channel, at: this.at });
      this.sends.set(customerId, list);
    }
    if (cost > 0) for (const key of this.spent.keys()) if (key.startsWith(`${channel}\0`)) this.spent.set(key, this.spent.get(key)! + cost);
  }

  view(customerId: string): LedgerView {
    const sends = this.sends.get(customerId) ?? [];
    return {
      sendTimes: (channels, from, to) => sends.filter((s) => s.at > from && s.at <= to && channels.includes(s.channel)).map((s) => s.at),
      spend: (channel, from, to) => {
        const base = to === this.at ? this.spent.get(`${channel}\0${from}`) : undefined;
        // The gate asks only for windows ending now, which load() summed.
        if (base === undefined) throw new Error(`send-time ledger has no spend for ${channel} over (${from}, ${to}]`);
        return base;
      },
    };
  }
}
