// Which part of a customer's event history the engine has to read for a batch of offers. Expressions read
// windowed aggregates of named event types, RFM and CLV read the monetary/transaction event, templates read
// the newest `recent` events of a type and the customer's LTV. Nothing reads an event type none of them
// names, or events older than the longest window over a type. Reading only those rows instead of the whole
// history is what keeps a batch's read from growing with the customers' past: in the bundled sample, the
// view, cart, open and click events no expression counts are most of every history.
//
// Any set of events that holds, per type, a newest part of the history at least this long gives every
// reader the same answer as the full history, because each reader filters by type and window itself
// (customer-data.ts: aggregate, rfmValue, clvValue, recentEvents).
import type { Project } from '../../config/model.js';
import { projectInputs } from '../../config/project-inputs.js';

export interface HistoryNeed {
  type: string;
  /** Every event of the type within this many ms before the instant of evaluation; Infinity: all of them. */
  windowMs: number;
  /** And at least the newest `recent` of the type, whatever their age. */
  recent: number;
}

const perProject = new WeakMap<Project, Map<string, HistoryNeed>>();

/** What the expressions and templates of `projects` (every version a batch may step with) read, by type. */
export function historyNeeds(projects: Iterable<Project>): HistoryNeed[] {
  const merged = new Map<string, HistoryNeed>();
  for (const project of projects) {
    for (const need of needsOf(project).values()) widen(merged, need.type, need.windowMs, need.recent);
  }
  return [...merged.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

function needsOf(project: Project): Map<string, HistoryNeed> {
  let needs = perProject.get(project);
  if (needs) return needs;
  needs = new Map();
  const rfm = project.model.rfm;
  const clv = project.model.clv;
  for (const spec of projectInputs(project)) {
    switch (spec.kind) {
      case 'aggregate':
        widen(needs, spec.event, spec.withinMs ?? Infinity, 0);
        break;
      case 'ltv':
        if (rfm) widen(needs, rfm.monetary.event, Infinity, 0);
        break;
      case 'rfm':
        if (rfm) widen(needs, rfm.monetary.event, rfm.windowMs, 0);
        break;
      case 'clv':
        if (clv) widen(needs, clv.transaction.event, Infinity, 0);
        break;
    }
  }
  for (const template of project.templates.values()) {
    const usage = template.compiled.usage;
    for (const r of usage.recent) widen(needs, r.event, 0, r.n);
    // Every render context carries the LTV (renderContext), read or not; a template that reads it needs it right.
    if (usage.derived.includes('ltv') && rfm) widen(needs, rfm.monetary.event, Infinity, 0);
  }
  perProject.set(project, needs);
  return needs;
}

function widen(needs: Map<string, HistoryNeed>, type: string, windowMs: number, recent: number): void {
  const before = needs.get(type);
  if (!before) needs.set(type, { type, windowMs, recent });
  else needs.set(type, { type, windowMs: Math.max(before.windowMs, windowMs), recent: Math.max(before.recent, recent) });
}

/**
 * The rows of `needs` for the customer `u.id` of the enclosing query, as a FROM item (`AS e`: id, type, ts,
 * props) with its bindings: per type, every event after the window's start as of `at` ('-infinity' for all
 * history), and the newest `recent` before it (index order; ties with the last come along, and the readers'
 * own order settles them). Events dated after `at` come along too: readers filter by their instant
 * themselves, and a history kept in memory (history-cache.ts) then stays complete as the instant moves on.
 */
export function historySource(needs: readonly HistoryNeed[], at: number): { sql: string; bindings: (string[] | number[])[] } {
  return {
    sql: `unnest(?::text[], ?::timestamptz[], ?::int[]) AS w(type, since, n)
      CROSS JOIN LATERAL (
        SELECT id, type, ts, props FROM events WHERE customer_id = u.id AND type = w.type AND ts > w.since
        UNION ALL
        (SELECT id, type, ts, props FROM events WHERE w.n > 0 AND customer_id = u.id AND type = w.type AND ts <= w.since
          ORDER BY ts DESC FETCH FIRST w.n ROWS WITH TIES)) AS e`,
    bindings: [
      needs.map((n) => n.type),
      needs.map((n) => (n.windowMs === Infinity ? '-infinity' : new Date(at - n.windowMs).toISOString())),
      needs.map((n) => n.recent),
    ],
  };
}
