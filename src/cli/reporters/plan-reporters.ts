// Reporters for the plan: a registry keyed by --format (knip's pattern, as for diagnostics). Each is a pure
// function of the PlanReport and byte-deterministic: no clock, no locale, stable ordering.
import type { PlanReport } from '../../plan/plan-report.js';
import { renderPlanGithub } from './plan-github.js';
import { renderPlanHtml } from './plan-html.js';
import { renderPlanJson } from './plan-json.js';
import { renderPlanMarkdown } from './plan-markdown.js';
import { renderPlanText } from './plan-text.js';

export type PlanReporter = (report: PlanReport) => string;
export type PlanFormat = 'text' | 'json' | 'markdown' | 'github' | 'html';

export const planReporters: Record<PlanFormat, PlanReporter> = {
  text: renderPlanText,
  json: renderPlanJson,
  markdown: renderPlanMarkdown,
  github: renderPlanGithub,
  html: renderPlanHtml,
};

export const PLAN_FORMATS = Object.keys(planReporters) as PlanFormat[];

export { githubStepSummary } from './plan-github.js';
export { MARKDOWN_LIMIT, PLAN_COMMENT_MARKER } from './plan-markdown.js';
export type { PlanClvSection, PlanReportView } from './plan-format.js';
