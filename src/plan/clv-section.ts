// The CLV part of a plan: the models fitted on the history before the window, checked against what the
// customers really bought inside it (the backtest's window is real data, so it doubles as a holdout).
import { buildClvReport, renderCalibrationSvg, renderClvReportText, type ClvReport } from '../analytics/clv/index.js';
import type { Project } from '../config/model.js';
import type { Dataset } from '../dataset/dataset.js';

export function clvTransactions(project: Project, dataset: Dataset) {
  const settings = project.model.clv;
  if (!settings) return undefined;
  const table = dataset.eventTable(settings.transaction.event);
  const amount = table?.props.get(settings.transaction.prop);
  if (!table || amount?.kind !== 'number') return undefined;
  return { settings, transactions: { offsets: table.offsets, ts: table.ts, amount: amount.values } };
}

export function clvReport(project: Project, dataset: Dataset, calibrationEnd: number, holdoutEnd: number | undefined): ClvReport | undefined {
  const tx = clvTransactions(project, dataset);
  if (!tx) return undefined;
  return buildClvReport({ transactions: tx.transactions, unitMs: tx.settings.unitMs, calibrationEnd, holdoutEnd }).report;
}

export function usesClv(project: Project): boolean {
  const exprs = [...project.segments.values()].map((s) => s.where);
  for (const j of project.journeys.values()) {
    for (const step of j.steps) {
      if (step.if) exprs.push(step.if);
      if (step.action.kind === 'branch') exprs.push(...step.action.branches.map((b) => b.when));
    }
  }
  return exprs.some((e) => e.inputs.some((i) => i.kind === 'clv'));
}

export function planClvSection(project: Project, dataset: Dataset, now: number, end: number): { svg: string; text: string } | undefined {
  if (!usesClv(project)) return undefined;
  const report = clvReport(project, dataset, now, end);
  if (!report) return undefined;
  return { svg: report.calibration ? renderCalibrationSvg(report.calibration) : '', text: renderClvReportText(report) };
}
