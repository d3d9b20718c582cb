// The plan as GitHub workflow commands: one ::notice with the summary line and one ::warning / ::error per
// guard that warns or trips. Pure: the caller (the plan command) appends githubStepSummary(report) to the
// file named by $GITHUB_STEP_SUMMARY, so the run's summary page shows the same markdown as the PR comment.
import type { PlanReport } from '../../plan/plan-report.js';
import { formatGuardNumber, GUARD_ORDER, summaryLine } from './plan-format.js';
import { renderPlanMarkdown } from './plan-markdown.js';

/** Message text of a workflow command: the runner decodes %25, %0D, %0A. */
export function escapeCommandData(s: string): string {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value (title=, file=): ':' and ',' would end it early. */
export function escapeCommandProperty(s: string): string {
  return escapeCommandData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function renderPlanGithub(report: PlanReport): string {
  let out = `::notice title=${escapeCommandProperty(`Herald plan: ${report.project}`)}::${escapeCommandData(summaryLine(report))}\n`;
  const tripped = report.guards
    .filter((g) => g.status === 'warn' || g.status === 'error')
    .sort((a, b) => GUARD_ORDER.indexOf(a.status) - GUARD_ORDER.indexOf(b.status));
  for (const g of tripped) {
    const limit = g.status === 'error' ? g.errorAbove : g.warnAbove;
    const message =
      `guard ${g.metric} = ${formatGuardNumber(g.value)}` +
      (limit === undefined ? ` (${g.status})` : ` is above its ${g.status} threshold ${formatGuardNumber(limit)}`);
    out += `::${g.status === 'error' ? 'error' : 'warning'} title=${escapeCommandProperty(g.metric)}::${escapeCommandData(message)}\n`;
  }
  return out;
}

/** The markdown for $GITHUB_STEP_SUMMARY (the same as the PR comment). */
export function githubStepSummary(report: PlanReport): string {
  return renderPlanMarkdown(report);
}
