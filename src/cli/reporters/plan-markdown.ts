// The plan as the pull-request comment. Order: hidden marker (the workflow finds its one sticky comment by
// it), summary, money and guards, the config diff, then details folded in <details>. GitHub rejects comments
// over 65,536 characters, so the output is kept under MARKDOWN_LIMIT by dropping folded details in a fixed
// order (traces, CLV, step tables of unchanged journeys, of changed journeys, then table rows) and saying so
// in a line above the details.
import type { PlanReport } from '../../plan/plan-report.js';
import {
  changedJourneys,
  changeTag,
  changePct,
  describeChanges,
  describeSent,
  describeSuppressed,
  escapeHtml,
  escapeMarkdown as md,
  formatCount,
  formatGuardNumber,
  formatMoney,
  formatSignedCount,
  formatSignedPct,
  GUARD_ORDER,
  plural,
  summaryLine,
  view,
} from './plan-format.js';

export const PLAN_COMMENT_MARKER = '<!-- herald-plan -->';
/** Below GitHub's 65,536-character comment limit, with room for what a workflow may add around it. */
export const MARKDOWN_LIMIT = 60_000;
/** Room kept for the truncation note. */
const NOTE_RESERVE = 600;

type Align = 'l' | 'r';

interface Table {
  text: string;
  omitted: number;
}

/** A GFM table of already-escaped cells; with maxChars, rows are cut and the cut is stated under it. */
function mdTable(header: string[], align: Align[], rows: string[][], maxChars = Infinity): Table {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |\n`;
  let text = line(header) + line(align.map((a) => (a === 'r' ? '---:' : '---')));
  const tail = (n: number): string => `\n_… ${plural(n, 'more row')} not shown (comment size limit)._\n`;
  let shown = 0;
  for (const r of rows) {
    const l = line(r);
    const remaining = rows.length - shown - 1;
    if (text.length + l.length + (remaining > 0 ? tail(remaining).length : 0) > maxChars) break;
    text += l;
    shown++;
  }
  const omitted = rows.length - shown;
  return { text: omitted ? text + tail(omitted) : text, omitted };
}

/** A folded block; the summary line is raw HTML (markdown is not rendered there), the body markdown. */
function details(summary: string, body: string): string {
  return `<details><summary>${escapeHtml(summary)}</summary>\n\n${body.replace(/\n*$/, '\n')}\n</details>\n`;
}

/** Free text in the always-shown head is clipped, so no single value can push the comment over the limit. */
function clip(s: string, max = 200): string {
  const t = String(s);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function heading(report: PlanReport): string {
  const g = report.generated;
  const s = report.summary;
  return (
    `${PLAN_COMMENT_MARKER}\n` +
    `## Herald plan: ${md(clip(report.project))}\n\n` +
    `**${md(summaryLine(report))}**\n\n` +
    `Window ${md(clip(g.now))} + ${md(clip(g.horizon))} · seed ${g.seed} · dataset ${md(clip(g.dataset))} (${formatCount(s.customers)} customers, ` +
    `${formatCount(s.eventsInHorizon)} events) · ${g.base !== undefined ? `base ${md(clip(g.base))}` : 'no base compared'} · contacts ${g.masked ? 'masked' : '**unmasked**'}\n`
  );
}

function moneyTable(report: PlanReport): string {
  const r = view(report);
  const s = r.summary;
  const cur = report.currency;
  const withBase = report.generated.base !== undefined;
  const row = (label: string, head: string, base: string | undefined, pct: string): string[] => (withBase ? [label, head, base ?? '', pct] : [label, head]);
  const pctOf = (h: number, b: number | undefined): string => {
    if (b === undefined) return '';
    const p = changePct(h, b);
    return p === null ? (h === 0 ? '0.0%' : 'new') : formatSignedPct(p);
  };
  const rows = [
    row('Messages', formatCount(s.messages), s.baseMessages === undefined ? undefined : formatCount(s.baseMessages), pctOf(s.messages, s.baseMessages)),
    row('**Cost**', `**${formatMoney(s.cost, cur)}**`, s.baseCost === undefined ? undefined : formatMoney(s.baseCost, cur), pctOf(s.cost, s.baseCost)),
    row('Conversions (organic)', formatCount(s.conversions), s.baseConversions === undefined ? undefined : formatCount(s.baseConversions), pctOf(s.conversions, s.baseConversions)),
  ];
  const header = withBase ? ['', 'plan', `base (${md(clip(report.generated.base!))})`, 'change'] : ['', 'plan'];
  return mdTable(header, ['l', 'r', 'r', 'r'], rows).text;
}

const GUARD_MARK = { ok: '✅ ok', warn: '⚠️ warn', error: '❌ error' } as const;

function guardsSection(report: PlanReport, maxChars = Infinity): Table {
  if (!report.guards.length) return { text: '### Guards\n\n_No guards declared._\n', omitted: 0 };
  const sorted = [...report.guards].sort((a, b) => GUARD_ORDER.indexOf(a.status) - GUARD_ORDER.indexOf(b.status));
  const rows = sorted.map((g) => [
    GUARD_MARK[g.status] ?? md(String(g.status)),
    md(g.metric),
    formatGuardNumber(g.value),
    g.warnAbove === undefined ? '' : formatGuardNumber(g.warnAbove),
    g.errorAbove === undefined ? '' : formatGuardNumber(g.errorAbove),
  ]);
  const t = mdTable(['', 'metric', 'value', 'warn above', 'error above'], ['l', 'l', 'r', 'r', 'r'], rows, maxChars);
  return { text: `### Guards\n\n${t.text}`, omitted: t.omitted };
}

function diffSection(report: PlanReport, maxChars = Infinity): Table {
  const title = `### Configuration changes`;
  if (report.generated.base === undefined) return { text: `${title}\n\n_No base compared._\n`, omitted: 0 };
  if (!report.configDiff.length) return { text: `${title}\n\n_No configuration changes against ${md(clip(report.generated.base))}._\n`, omitted: 0 };
  const rows = report.configDiff.map((c) => [
    `\`${c.change === '+' || c.change === '~' || c.change === '-' ? c.change : '?'}\``,
    md(c.kind),
    md(c.name) + (c.renamedFrom !== undefined ? ` (renamed from ${md(c.renamedFrom)})` : ''),
    `${md(c.file)}:${c.line}`,
  ]);
  const t = mdTable(['', 'kind', 'name', 'where'], ['l', 'l', 'l', 'l'], rows, maxChars);
  return { text: `${title}: ${md(describeChanges(report))}\n\n${t.text}`, omitted: t.omitted };
}

function segmentsSection(report: PlanReport, maxChars = Infinity): Table {
  if (!report.segments.length) return { text: '', omitted: 0 };
  const withBase = report.generated.base !== undefined;
  const rows = report.segments.map((s) => {
    const row = [md(s.name), formatCount(s.size)];
    if (withBase) {
      row.push(s.baseSize === null || s.baseSize === undefined ? 'new' : formatCount(s.baseSize));
      row.push(s.change === undefined ? '' : formatSignedCount(s.change));
      row.push(s.changePct === null || s.changePct === undefined ? '' : formatSignedPct(s.changePct));
    }
    row.push(md(s.description ?? ''));
    return row;
  });
  const header = withBase ? ['segment', 'size', 'base', 'change', '%', 'description'] : ['segment', 'size', 'description'];
  const t = mdTable(header, withBase ? ['l', 'r', 'r', 'r', 'r', 'l'] : ['l', 'r', 'l'], rows, maxChars - 120);
  return { text: details(`Segments (${report.segments.length})`, t.text), omitted: t.omitted };
}

function journeysSection(report: PlanReport, changed: Map<string, '+' | '~'>, maxChars = Infinity): Table {
  if (!report.journeys.length) return { text: '', omitted: 0 };
  const cur = report.currency;
  const withBase = report.generated.base !== undefined;
  const rows = report.journeys.map((j) => {
    const row = [
      md(j.name) + changeTag(changed.get(j.name)),
      j.class,
      md(j.entry),
      formatCount(j.entered),
      formatCount(j.heldOut),
      formatCount(j.messages),
      formatMoney(j.cost, cur),
    ];
    if (withBase) row.push(j.base ? formatMoney(j.base.cost, cur) : 'new');
    row.push(formatCount(j.converted));
    return row;
  });
  const header = ['journey', 'class', 'entry', 'entered', 'held out', 'messages', 'cost'];
  if (withBase) header.push('base cost');
  header.push('converted');
  const t = mdTable(header, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'], rows, maxChars - 120);
  return { text: details(`Journeys (${report.journeys.length})`, t.text), omitted: t.omitted };
}

function stepsBlock(report: PlanReport, index: number, change: '+' | '~' | undefined): string {
  const j = report.journeys[index];
  const cur = report.currency;
  const rows = j.steps.map((s) => [
    md(s.id),
    md(s.label),
    formatCount(s.entered),
    md(describeSent(s, report.channels)),
    formatCount(s.delivered),
    formatCount(s.opened),
    formatCount(s.clicked),
    md(describeSuppressed(s)),
    formatCount(s.deferred),
    formatMoney(s.cost, cur),
  ]);
  const t = mdTable(['step', 'what', 'entered', 'sent', 'delivered', 'opened', 'clicked', 'suppressed', 'deferred', 'cost'], ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'l', 'r', 'r'], rows);
  const foot = `Entered ${formatCount(j.entered)}, held out ${formatCount(j.heldOut)}, converted ${formatCount(j.converted)}, exited ${formatCount(j.exited)}.\n`;
  return details(`Journey ${j.name}${changeTag(change)}: funnel per step`, `${t.text}\n${foot}`);
}

function channelsSection(report: PlanReport, maxChars = Infinity): Table {
  if (!report.channels.length) return { text: '', omitted: 0 };
  const cur = report.currency;
  const withBase = report.channels.some((c) => c.baseCost !== undefined);
  const rows = report.channels.map((c) => {
    const row = [md(c.name), c.type, formatCount(c.sent), formatCount(c.delivered), formatCount(c.opened), formatCount(c.clicked), formatCount(c.units), formatMoney(c.cost, cur)];
    if (withBase) {
      const p = c.baseCost === undefined ? null : changePct(c.cost, c.baseCost);
      row.push(c.baseCost === undefined ? '' : formatMoney(c.baseCost, cur), p === null ? '' : formatSignedPct(p));
    }
    return row;
  });
  const header = ['channel', 'type', 'sent', 'delivered', 'opened', 'clicked', 'units', 'cost'];
  if (withBase) header.push('base cost', 'change');
  const t = mdTable(header, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], rows, maxChars - 120);
  return { text: details(`Cost per channel (${report.channels.length})`, t.text), omitted: t.omitted };
}

function tracesBlock(report: PlanReport): string {
  if (!report.traces.length) return '';
  let body = '';
  for (const t of report.traces) {
    body += `**${md(t.customer)}** ${md(t.contact)} (${md(t.timezone)})\n\n`;
    const rows = t.entries.map((e) => [md(e.at), md([e.journey, e.step].filter((x) => x !== undefined).join(' / ')), md(e.what)]);
    body += mdTable(['at (UTC)', 'journey / step', 'what'], ['l', 'l', 'l'], rows).text + '\n';
  }
  return details(`Sample traces (${report.traces.length})`, body);
}

function clvBlock(report: PlanReport): string {
  const clv = view(report).clv;
  if (!clv) return '';
  const longestTicks = Math.max(2, ...(clv.text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longestTicks + 1);
  return details('Customer lifetime value', `${fence}text\n${clv.text.replace(/\s+$/, '')}\n${fence}\n`);
}

export function renderPlanMarkdown(report: PlanReport): string {
  const changed = changedJourneys(report);
  const head = heading(report) + '\n' + moneyTable(report);
  const stepBlocks = report.journeys.map((j, i) => ({ changed: changed.has(j.name), text: stepsBlock(report, i, changed.get(j.name)) }));
  const traces = tracesBlock(report);
  const clv = clvBlock(report);

  const assemble = (parts: { guards: Table; diff: Table; segments: Table; journeys: Table; channels: Table; steps: boolean[]; traces: boolean; clv: boolean }, note: string): string => {
    let out = head + '\n' + parts.guards.text + '\n' + parts.diff.text + '\n';
    if (note) out += `> ✂️ ${note}\n\n`;
    const folded = [parts.segments.text, parts.journeys.text, ...stepBlocks.filter((_, i) => parts.steps[i]).map((b) => b.text), parts.channels.text];
    if (parts.traces) folded.push(traces);
    if (parts.clv) folded.push(clv);
    return out + folded.filter(Boolean).join('\n');
  };

  const full = {
    guards: guardsSection(report),
    diff: diffSection(report),
    segments: segmentsSection(report),
    journeys: journeysSection(report, changed),
    channels: channelsSection(report),
    steps: stepBlocks.map(() => true),
    traces: traces !== '',
    clv: clv !== '',
  };
  const fullText = assemble(full, '');
  if (fullText.length <= MARKDOWN_LIMIT) return fullText;

  // Too long: keep the head and the overview tables (cutting their rows if even they do not fit), then add
  // folded blocks in priority order until the first that does not fit.
  const budget = MARKDOWN_LIMIT - NOTE_RESERVE - head.length - 8;
  const parts = { ...full, steps: stepBlocks.map(() => false), traces: false, clv: false };
  const size = (): number => parts.guards.text.length + parts.diff.text.length + parts.segments.text.length + parts.journeys.text.length + parts.channels.text.length + 8;
  // Guards and the config diff may take at most a quarter of the budget each (they rarely come close); the
  // folded overview tables then share what is left in proportion to their length.
  if (size() > budget) {
    if (parts.guards.text.length > budget / 4) parts.guards = guardsSection(report, Math.floor(budget / 4));
    if (parts.diff.text.length > budget / 4) parts.diff = diffSection(report, Math.floor(budget / 4));
    // Channels are few and carry the money: cut only when a quarter of the budget is not enough for them.
    if (parts.channels.text.length > budget / 4) parts.channels = channelsSection(report, Math.floor(budget / 4));
    const left = budget - parts.guards.text.length - parts.diff.text.length - parts.channels.text.length - 8;
    const folded = parts.segments.text.length + parts.journeys.text.length;
    if (folded > left) {
      const share = (len: number): number => Math.floor((len / folded) * left);
      parts.segments = segmentsSection(report, share(parts.segments.text.length));
      parts.journeys = journeysSection(report, changed, share(parts.journeys.text.length));
    }
  }
  let room = budget - size();
  const order = [
    ...stepBlocks.map((b, i) => ({ i, b })).filter((x) => x.b.changed),
    ...stepBlocks.map((b, i) => ({ i, b })).filter((x) => !x.b.changed),
  ];
  let stopped = false;
  for (const { i, b } of order) {
    const cost = b.text.length + 1;
    if (cost > room) {
      stopped = true;
      break;
    }
    parts.steps[i] = true;
    room -= cost;
  }
  if (!stopped && clv) {
    if (clv.length + 1 <= room) {
      parts.clv = true;
      room -= clv.length + 1;
    } else stopped = true;
  }
  if (!stopped && traces && traces.length + 1 <= room) parts.traces = true;

  const notes: string[] = [];
  if (traces && !parts.traces) notes.push('sample traces omitted');
  if (clv && !parts.clv) notes.push('CLV section omitted');
  const droppedChanged = stepBlocks.filter((b, i) => b.changed && !parts.steps[i]).length;
  const droppedUnchanged = stepBlocks.filter((b, i) => !b.changed && !parts.steps[i]).length;
  if (droppedUnchanged) notes.push(`step tables of ${plural(droppedUnchanged, 'unchanged journey')} omitted`);
  if (droppedChanged) notes.push(`step tables of ${plural(droppedChanged, 'changed journey')} omitted`);
  for (const [key, label] of [
    ['segments', 'segment'],
    ['journeys', 'journey'],
    ['channels', 'channel'],
    ['diff', 'configuration change'],
    ['guards', 'guard'],
  ] as const) {
    if (parts[key].omitted) notes.push(`${plural(parts[key].omitted, `${label} row`)} cut`);
  }
  const note = `Shortened to stay under GitHub's comment size limit: ${notes.join('; ')}. The JSON and HTML outputs of the same plan have everything.`;
  const out = assemble(parts, note);
  if (out.length <= MARKDOWN_LIMIT) return out;
  // Unreachable with the budgets above unless a single table cell is absurdly long; a hard cut still keeps
  // the marker, the summary and the promise that the comment can be posted.
  return `${out.slice(0, MARKDOWN_LIMIT - 200)}\n\n_… cut at ${formatCount(MARKDOWN_LIMIT - 200)} characters (comment size limit)._\n`;
}
