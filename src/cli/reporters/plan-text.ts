// The plan for a terminal, Terraform style: header, config diff with + ~ - and file:line, segments, a funnel
// table per journey, cost per channel, guards, sample traces, and the one-line summary last (where the eye
// lands after the output scrolls).
import type { JourneyOutcome, PlanReport } from '../../plan/plan-report.js';
import {
  changedJourneys,
  changePct,
  changeTag,
  describeSent,
  describeSuppressed,
  formatCount,
  formatGuardNumber,
  formatMoney,
  formatPct,
  formatSignedCount,
  formatSignedPct,
  GUARD_ORDER,
  guardThresholds,
  oneLine,
  plural,
  summaryLine,
  view,
} from './plan-format.js';

type Align = 'l' | 'r';

/** A plain-text table: columns padded to their widest cell, numbers right-aligned. */
export function textTable(header: string[], rows: string[][], align: Align[], indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    indent +
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .replace(/\s+$/, '');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const SYMBOL_WORD = { '+': 'add', '~': 'change', '-': 'remove' } as const;

function header(report: PlanReport): string {
  const g = report.generated;
  let out = `Herald plan for ${oneLine(report.project)}\n`;
  out += `  dataset ${oneLine(g.dataset)}: ${formatCount(report.summary.customers)} customers, ${formatCount(report.summary.eventsInHorizon)} events in the window\n`;
  out += `  window ${g.now} + ${g.horizon}, seed ${g.seed}${g.base !== undefined ? `, base ${oneLine(g.base)}` : ', no base'}\n`;
  out += `  contacts ${g.masked ? 'masked' : 'UNMASKED (--unmask)'}\n`;
  return out;
}

function configDiff(report: PlanReport): string {
  if (report.generated.base === undefined) return 'Configuration changes: no base compared.\n';
  if (!report.configDiff.length) return 'Configuration changes: none.\n';
  const rows = report.configDiff.map((c) => [
    c.change,
    `${oneLine(c.kind)} ${oneLine(c.name)}${c.renamedFrom !== undefined ? ` (renamed from ${oneLine(c.renamedFrom)})` : ''}`,
    `${oneLine(c.file)}:${c.line}`,
    SYMBOL_WORD[c.change] ?? '',
  ]);
  return `Configuration changes:\n${textTable(['', 'object', 'where', 'action'], rows, ['l', 'l', 'l', 'l'])}`;
}

function segments(report: PlanReport): string {
  if (!report.segments.length) return 'Segments: none.\n';
  const withBase = report.generated.base !== undefined;
  const rows = report.segments.map((s) => {
    const row = [oneLine(s.name), formatCount(s.size)];
    if (withBase) {
      row.push(s.baseSize === null || s.baseSize === undefined ? 'new' : formatCount(s.baseSize));
      row.push(s.change === undefined ? '' : formatSignedCount(s.change));
      row.push(s.changePct === null || s.changePct === undefined ? '' : formatSignedPct(s.changePct));
    }
    return row;
  });
  const head = withBase ? ['segment', 'size', 'base', 'change', '%'] : ['segment', 'size'];
  return `Segments:\n${textTable(head, rows, ['l', 'r', 'r', 'r', 'r'])}`;
}

function journey(report: PlanReport, j: JourneyOutcome, change: '+' | '~' | undefined): string {
  const cur = report.currency;
  let out = `Journey ${oneLine(j.name)}${changeTag(change)} (${j.class}, entry: ${oneLine(j.entry)})\n`;
  out += `  entered ${formatCount(j.entered)}, held out ${formatCount(j.heldOut)}, converted ${formatCount(j.converted)}, exited ${formatCount(j.exited)}, ${plural(j.messages, 'message')}, ${formatMoney(j.cost, cur)}`;
  if (j.base) {
    const pct = changePct(j.cost, j.base.cost);
    out += `\n  base: entered ${formatCount(j.base.entered)}, converted ${formatCount(j.base.converted)}, ${plural(j.base.messages, 'message')}, ${formatMoney(j.base.cost, cur)}${pct === null ? '' : ` (cost ${formatSignedPct(pct)})`}`;
  } else if (report.generated.base !== undefined) {
    out += `\n  base: not present (new journey)`;
  }
  out += '\n';
  const rows = j.steps.map((s) => [
    oneLine(s.id),
    formatCount(s.entered),
    describeSent(s, report.channels),
    formatCount(s.delivered),
    formatCount(s.opened),
    formatCount(s.clicked),
    formatCount(s.deferred),
    formatMoney(s.cost, cur),
    describeSuppressed(s),
    oneLine(s.label),
  ]);
  out += textTable(['step', 'entered', 'sent', 'delivered', 'opened', 'clicked', 'deferred', 'cost', 'suppressed', 'what'], rows, ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l']);
  return out;
}

function channels(report: PlanReport): string {
  if (!report.channels.length) return 'Cost per channel: no channels.\n';
  const cur = report.currency;
  const withBase = report.channels.some((c) => c.baseCost !== undefined);
  const rows = report.channels.map((c) => {
    const row = [oneLine(c.name), c.type, formatCount(c.sent), formatCount(c.delivered), formatCount(c.opened), formatCount(c.clicked), formatCount(c.units), formatMoney(c.cost, cur)];
    if (withBase) {
      const pct = c.baseCost === undefined ? null : changePct(c.cost, c.baseCost);
      row.push(c.baseCost === undefined ? '' : formatMoney(c.baseCost, cur), pct === null ? '' : formatSignedPct(pct));
    }
    return row;
  });
  const head = ['channel', 'type', 'sent', 'delivered', 'opened', 'clicked', 'units', 'cost'];
  if (withBase) head.push('base cost', 'change');
  return `Cost per channel:\n${textTable(head, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])}`;
}

const GUARD_MARK = { ok: '✓', warn: '!', error: '✗' } as const;

function guards(report: PlanReport): string {
  if (!report.guards.length) return 'Guards: none declared.\n';
  const sorted = [...report.guards].sort((a, b) => GUARD_ORDER.indexOf(a.status) - GUARD_ORDER.indexOf(b.status));
  const rows = sorted.map((g) => [GUARD_MARK[g.status] ?? '?', g.status, oneLine(g.metric), formatGuardNumber(g.value), guardThresholds(g)]);
  return `Guards:\n${textTable(['', 'status', 'metric', 'value', 'thresholds'], rows, ['l', 'l', 'l', 'r', 'l'])}`;
}

function traces(report: PlanReport): string {
  if (!report.traces.length) return '';
  let out = 'Sample traces:\n';
  for (const t of report.traces) {
    out += `  ${oneLine(t.customer)} ${oneLine(t.contact)} (${oneLine(t.timezone)})\n`;
    const rows = t.entries.map((e) => [e.at, [e.journey, e.step].filter((x) => x !== undefined).map((x) => oneLine(String(x))).join('/'), oneLine(e.what)]);
    out += textTable(['at', 'journey/step', 'what'], rows, ['l', 'l', 'l'], '    ');
  }
  return out;
}

export function renderPlanText(report: PlanReport): string {
  const r = view(report);
  const sections = [header(report), configDiff(report), segments(report)];
  const changed = changedJourneys(report);
  for (const j of report.journeys) sections.push(journey(report, j, changed.get(j.name)));
  sections.push(channels(report), guards(report));
  const t = traces(report);
  if (t) sections.push(t);
  if (r.clv) sections.push(`Customer lifetime value:\n${r.clv.text.replace(/\s+$/, '')}\n`);
  const conv = report.summary.conversions;
  sections.push(
    `${formatCount(report.summary.journeys)} journeys, ${formatCount(conv)} conversions (organic, goal reached in the window)${
      report.summary.customers ? `, ${formatPct((conv / report.summary.customers) * 100)} of customers` : ''
    }\n${summaryLine(report)}\n`,
  );
  return sections.join('\n');
}
