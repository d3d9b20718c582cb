// The plan as JSON: the PlanReport itself (it carries format_version), for `--out` and `herald show`.
import type { PlanReport } from '../../plan/plan-report.js';

export function renderPlanJson(report: PlanReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
