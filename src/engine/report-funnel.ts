// `herald report funnel`: a journey's per-step funnel from the engine's rows, in the plan's shape, and the
// goal's uplift against the journey's deterministic holdout. Receipts count once per message and status,
// however often a provider repeats them (they are deduplicated on insert and counted DISTINCT here).
import type { JourneyDef } from '../config/model.js';
import type { Store } from './store/index.js';

export interface FunnelStep {
  id: string;
  entered: number;
  sent: Record<string, number>;
  failed: number;
  pending: number;
  delivered: number;
  opened: number;
  clicked: number;
}

export interface GroupRate {
  customers: number;
  converted: number;
  rate: number;
}

export interface FunnelReport {
  journey: string;
  since: string;
  entered: number;
  heldOut: number;
  steps: FunnelStep[];
  /** Conversion = a goal event within the goal window after entry, measured the same way in both groups. */
  goal?: {
    event: string;
    treated: GroupRate;
    holdout: GroupRate;
    /** treated.rate − holdout.rate, with a 95% normal-approximation interval; null without both groups. */
    uplift: { difference: number; ci95: [number, number] } | null;
  };
}

const Z95 = 1.959963984540054;
const NO_WINDOW_SECONDS = 100 * 365 * 86_400;

function rate(customers: number, converted: number): GroupRate {
  return { customers, converted, rate: customers ? converted / customers : 0 };
}

/** Difference of two proportions with its 95% interval (Wald). */
export function uplift(treated: GroupRate, holdout: GroupRate): { difference: number; ci95: [number, number] } | null {
  if (treated.customers === 0 || holdout.customers === 0) return null;
  const d = treated.rate - holdout.rate;
  const se = Math.sqrt((treated.rate * (1 - treated.rate)) / treated.customers + (holdout.rate * (1 - holdout.rate)) / holdout.customers);
  return { difference: d, ci95: [d - Z95 * se, d + Z95 * se] };
}

export async function funnelReport(store: Store, journey: JourneyDef, since: Date): Promise<FunnelReport> {
  const db = store.db;
  const name = journey.meta.name;
  const runs = (await db('runs').select('customer_id', 'status', 'state', 'entered_at').where('journey', name).andWhere('entered_at', '>=', since)) as {
    customer_id: string;
    status: string;
    state: { visits?: Record<string, number> } | string;
    entered_at: Date;
  }[];
  const visits = new Map<string, number>();
  let heldOut = 0;
  for (const r of runs) {
    if (r.status === 'held_out') heldOut++;
    const state = typeof r.state === 'string' ? (JSON.parse(r.state) as { visits?: Record<string, number> }) : r.state;
    for (const [step, n] of Object.entries(state.visits ?? {})) if (n > 0) visits.set(step, (visits.get(step) ?? 0) + 1);
  }
  const outbox = (await db('outbox').select('step', 'channel', 'status').count({ n: '*' }).where('journey', name).andWhere('created_at', '>=', since).groupBy('step', 'channel', 'status')) as {
    step: string;
    channel: string;
    status: string;
    n: string | number;
  }[];
  const receipts = (await db.raw(
    `SELECT o.step, r.message_id, r.status FROM receipts r JOIN outbox o ON o.customer_id = r.customer_id AND o.id = r.message_id
      WHERE o.journey = ? AND o.created_at >= ? GROUP BY o.step, r.message_id, r.status`,
    [name, since],
  )) as { rows: { step: string; message_id: string; status: string }[] };
  const reached = new Map<string, { delivered: Set<string>; opened: Set<string>; clicked: Set<string> }>();
  for (const r of receipts.rows) {
    const s = reached.get(r.step) ?? { delivered: new Set(), opened: new Set(), clicked: new Set() };
    reached.set(r.step, s);
    // An open implies delivery, a click an open: a message counts at every stage it reached.
    if (r.status === 'delivered' || r.status === 'opened' || r.status === 'clicked') s.delivered.add(r.message_id);
    if (r.status === 'opened' || r.status === 'clicked') s.opened.add(r.message_id);
    if (r.status === 'clicked') s.clicked.add(r.message_id);
  }
  const steps: FunnelStep[] = journey.steps.map((step) => {
    const out: FunnelStep = { id: step.id, entered: visits.get(step.id) ?? 0, sent: {}, failed: 0, pending: 0, delivered: 0, opened: 0, clicked: 0 };
    for (const o of outbox.filter((x) => x.step === step.id)) {
      const n = Number(o.n);
      if (o.status === 'sent') out.sent[o.channel] = (out.sent[o.channel] ?? 0) + n;
      else if (o.status === 'failed') out.failed += n;
      else out.pending += n;
    }
    const r = reached.get(step.id);
    if (r) {
      out.delivered = r.delivered.size;
      out.opened = r.opened.size;
      out.clicked = r.clicked.size;
    }
    return out;
  });
  const report: FunnelReport = { journey: name, since: since.toISOString(), entered: runs.length - heldOut, heldOut, steps };
  if (journey.goal) {
    const seconds = journey.goal.withinMs === undefined ? NO_WINDOW_SECONDS : journey.goal.withinMs / 1000;
    const result = (await db.raw(
      `SELECT (r.status = 'held_out') AS held, count(*) AS customers,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e WHERE e.customer_id = r.customer_id AND e.type = ?
                 AND e.ts >= r.entered_at AND e.ts <= r.entered_at + make_interval(secs => ?))) AS converted
         FROM runs r WHERE r.journey = ? AND r.entered_at >= ? GROUP BY 1`,
      [journey.goal.event, seconds, name, since],
    )) as { rows: { held: boolean; customers: string | number; converted: string | number }[] };
    const group = (held: boolean) => {
      const row = result.rows.find((x) => x.held === held);
      return rate(Number(row?.customers ?? 0), Number(row?.converted ?? 0));
    };
    const treated = group(false);
    const holdout = group(true);
    report.goal = { event: journey.goal.event, treated, holdout, uplift: uplift(treated, holdout) };
  }
  return report;
}

export function renderFunnelText(report: FunnelReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  let out = `Journey ${report.journey} since ${report.since}: entered ${report.entered}, held out ${report.heldOut}\n`;
  out += `  step                 entered  sent                 failed  pending  delivered  opened  clicked\n`;
  for (const s of report.steps) {
    const sent = Object.entries(s.sent).map(([c, n]) => `${c} ${n}`).join(', ') || '-';
    out += `  ${s.id.padEnd(20)} ${String(s.entered).padStart(7)}  ${sent.padEnd(19)} ${String(s.failed).padStart(6)}  ${String(s.pending).padStart(7)}  ${String(s.delivered).padStart(9)}  ${String(s.opened).padStart(6)}  ${String(s.clicked).padStart(7)}\n`;
  }
  const g = report.goal;
  if (g) {
    out += `goal ${g.event}: treated ${g.treated.converted}/${g.treated.customers} (${pct(g.treated.rate)}), holdout ${g.holdout.converted}/${g.holdout.customers} (${pct(g.holdout.rate)})\n`;
    out += g.uplift
      ? `uplift ${pct(g.uplift.difference)} (95% CI ${pct(g.uplift.ci95[0])} to ${pct(g.uplift.ci95[1])})\n`
      : 'uplift: needs customers in both the treated group and the holdout\n';
  }
  return out;
}
