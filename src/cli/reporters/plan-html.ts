// The plan as one self-contained HTML page: inline CSS, inline SVG, no scripts, no external URLs (a CSP meta
// tag forbids them too). Every number a reader sees sits in an element with data-metric (a stable key) and
// data-value (the raw number), so tests and scripts can read the page back without parsing formatted text:
//   cost.total, cost.base, messages.total, conversions.total, customers.total, guard.<metric>,
//   segment.<name>.size|base, channel.<name>.sent|delivered|opened|clicked|units|cost|base_cost,
//   journey.<name>.entered|held_out|converted|exited|messages|cost|base_cost,
//   journey.<name>.step.<id>.entered|sent|sent.<channel>|delivered|opened|clicked|deferred|cost|suppressed.<reason>
import type { JourneyOutcome, PlanReport } from '../../plan/plan-report.js';
import {
  changedJourneys,
  changeTag,
  changePct,
  describeChanges,
  escapeHtml as esc,
  formatCount,
  formatGuardNumber,
  formatMoney,
  formatSignedCount,
  formatSignedPct,
  GUARD_ORDER,
  sentChannels,
  SUPPRESSION_REASONS,
  summaryLine,
  totalSent,
  view,
} from './plan-format.js';
import { isInertSvg, renderChannelCostSvg, renderFunnelSvg } from './plan-html-charts.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#4b5563;font-size:13px}.summary{font-weight:600;font-size:15px;margin:10px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:10px 14px;min-width:150px}
.card .k{color:#6b7280;font-size:12px}.card .v{font-size:20px;font-weight:600}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.item{white-space:nowrap}
.ok{color:#15803d}.warn{color:#b45309}.error{color:#b91c1c;font-weight:600}
.add{color:#15803d}.change{color:#b45309}.remove{color:#b91c1c}
.sym{font-family:ui-monospace,monospace;font-weight:700}
.chart{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:6px;margin:6px 0}
.trace td{font-size:13px}.muted{color:#6b7280}
`;

/** A number cell: formatted text for people, the raw value in data-value for machines. */
function num(metric: string, value: number, text: string = formatCount(value), tag: 'td' | 'span' = 'td'): string {
  return `<${tag} class="n" data-metric="${esc(metric)}" data-value="${esc(String(value))}">${esc(text)}</${tag}>`;
}

const th = (cells: Array<string | [string, 'n']>): string =>
  `<tr>${cells.map((c) => (Array.isArray(c) ? `<th class="n">${esc(c[0])}</th>` : `<th>${esc(c)}</th>`)).join('')}</tr>`;
const td = (text: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(text)}</td>`;

function header(report: PlanReport): string {
  const r = view(report);
  const g = report.generated;
  const s = r.summary;
  const cur = report.currency;
  const costPct = s.baseCost === undefined ? null : changePct(s.cost, s.baseCost);
  const card = (label: string, inner: string, sub = ''): string =>
    `<div class="card"><div class="k">${esc(label)}</div><div class="v">${inner}</div>${sub ? `<div class="k">${sub}</div>` : ''}</div>`;
  return (
    `<header><h1>Herald plan: ${esc(report.project)}</h1>` +
    `<div class="meta">window ${esc(g.now)} + ${esc(g.horizon)} · seed ${esc(String(g.seed))} · dataset ${esc(g.dataset)} · ` +
    `${g.base !== undefined ? `base ${esc(g.base)}` : 'no base compared'} · contacts ${g.masked ? 'masked' : '<strong>unmasked</strong>'}</div>` +
    `<p class="summary" data-metric="summary">${esc(summaryLine(report))}</p>` +
    `<div class="cards">` +
    card(
      'cost',
      num('cost.total', s.cost, formatMoney(s.cost, cur), 'span'),
      s.baseCost === undefined ? '' : `base ${num('cost.base', s.baseCost, formatMoney(s.baseCost, cur), 'span')}${costPct === null ? '' : ` (${esc(formatSignedPct(costPct))})`}`,
    ) +
    card('messages', num('messages.total', s.messages, formatCount(s.messages), 'span'), s.baseMessages === undefined ? '' : `base ${num('messages.base', s.baseMessages, formatCount(s.baseMessages), 'span')}`) +
    card(
      'conversions (organic)',
      num('conversions.total', s.conversions, formatCount(s.conversions), 'span'),
      s.baseConversions === undefined ? '' : `base ${num('conversions.base', s.baseConversions, formatCount(s.baseConversions), 'span')}`,
    ) +
    card('customers', num('customers.total', s.customers, formatCount(s.customers), 'span'), `${esc(formatCount(s.eventsInHorizon))} events in the window`) +
    card('configuration', esc(describeChanges(report))) +
    `</div></header>`
  );
}

function guards(report: PlanReport): string {
  let out = '<section id="guards"><h2>Guards</h2>';
  if (!report.guards.length) return out + '<p class="muted">No guards declared.</p></section>';
  const sorted = [...report.guards].sort((a, b) => GUARD_ORDER.indexOf(a.status) - GUARD_ORDER.indexOf(b.status));
  out += `<table>${th(['status', 'metric', ['value', 'n'], ['warn above', 'n'], ['error above', 'n']])}`;
  for (const g of sorted) {
    const mark = g.status === 'ok' ? '✅ ok' : g.status === 'warn' ? '⚠️ warn' : '❌ error';
    out += `<tr data-status="${esc(g.status)}">${td(mark, esc(g.status))}${td(g.metric)}${num(`guard.${g.metric}`, g.value, formatGuardNumber(g.value))}`;
    out += `${td(g.warnAbove === undefined ? '' : formatGuardNumber(g.warnAbove), 'n')}${td(g.errorAbove === undefined ? '' : formatGuardNumber(g.errorAbove), 'n')}</tr>`;
  }
  return out + '</table></section>';
}

function channels(report: PlanReport): string {
  let out = '<section id="channels"><h2>Cost per channel</h2>';
  if (!report.channels.length) return out + '<p class="muted">No channels.</p></section>';
  const cur = report.currency;
  const withBase = report.channels.some((c) => c.baseCost !== undefined);
  out += renderChannelCostSvg(report.channels, cur);
  out += `<table>${th(['channel', 'type', ['sent', 'n'], ['delivered', 'n'], ['opened', 'n'], ['clicked', 'n'], ['units', 'n'], ['cost', 'n'], ...(withBase ? [['base cost', 'n'] as [string, 'n'], ['change', 'n'] as [string, 'n']] : [])])}`;
  for (const c of report.channels) {
    const k = `channel.${c.name}`;
    out += `<tr>${td(c.name)}${td(c.type)}${num(`${k}.sent`, c.sent)}${num(`${k}.delivered`, c.delivered)}${num(`${k}.opened`, c.opened)}${num(`${k}.clicked`, c.clicked)}${num(`${k}.units`, c.units)}${num(`${k}.cost`, c.cost, formatMoney(c.cost, cur))}`;
    if (withBase) {
      const p = c.baseCost === undefined ? null : changePct(c.cost, c.baseCost);
      out += c.baseCost === undefined ? td('') : num(`${k}.base_cost`, c.baseCost, formatMoney(c.baseCost, cur));
      out += td(p === null ? '' : formatSignedPct(p), 'n');
    }
    out += '</tr>';
  }
  return out + '</table></section>';
}

const CHANGE_CLASS = { '+': 'add', '~': 'change', '-': 'remove' } as const;

function configDiff(report: PlanReport): string {
  let out = '<section id="config-diff"><h2>Configuration changes</h2>';
  if (report.generated.base === undefined) return out + '<p class="muted">No base compared.</p></section>';
  if (!report.configDiff.length) return out + `<p class="muted">No changes against ${esc(report.generated.base)}.</p></section>`;
  out += `<table>${th(['', 'kind', 'name', 'where'])}`;
  for (const c of report.configDiff) {
    const cls = CHANGE_CLASS[c.change] ?? '';
    out += `<tr class="${cls}"><td class="sym ${cls}">${esc(c.change)}</td>${td(c.kind)}${td(c.name + (c.renamedFrom !== undefined ? ` (renamed from ${c.renamedFrom})` : ''))}${td(`${c.file}:${c.line}`)}</tr>`;
  }
  return out + '</table></section>';
}

function segments(report: PlanReport): string {
  let out = '<section id="segments"><h2>Segments</h2>';
  if (!report.segments.length) return out + '<p class="muted">No segments.</p></section>';
  const withBase = report.generated.base !== undefined;
  out += `<table>${th(['segment', ['size', 'n'], ...(withBase ? [['base', 'n'] as [string, 'n'], ['change', 'n'] as [string, 'n'], ['%', 'n'] as [string, 'n']] : []), 'sample (masked)', 'description'])}`;
  for (const s of report.segments) {
    const k = `segment.${s.name}`;
    out += `<tr>${td(s.name)}${num(`${k}.size`, s.size)}`;
    if (withBase) {
      out += s.baseSize === null || s.baseSize === undefined ? td('new', 'n') : num(`${k}.base`, s.baseSize);
      out += td(s.change === undefined ? '' : formatSignedCount(s.change), 'n');
      out += td(s.changePct === null || s.changePct === undefined ? '' : formatSignedPct(s.changePct), 'n');
    }
    out += `<td>${s.sample.map((x) => esc(x)).join('<br>')}</td>${td(s.description ?? '')}</tr>`;
  }
  return out + '</table></section>';
}

function journey(report: PlanReport, j: JourneyOutcome, change: '+' | '~' | undefined): string {
  const cur = report.currency;
  const k = `journey.${j.name}`;
  let out = `<section class="journey"><h3>Journey ${esc(j.name)}${change ? ` <span class="${change === '+' ? 'add' : 'change'}">${esc(changeTag(change).trim())}</span>` : ''}</h3>`;
  out += `<div class="meta">${esc(j.class)} · entry: ${esc(j.entry)}${j.description ? ` · ${esc(j.description)}` : ''}</div>`;
  out += `<table>${th([['entered', 'n'], ['held out', 'n'], ['converted', 'n'], ['exited', 'n'], ['messages', 'n'], ['cost', 'n'], ...(j.base ? [['base cost', 'n'] as [string, 'n'], ['base messages', 'n'] as [string, 'n']] : [])])}<tr>`;
  out += num(`${k}.entered`, j.entered) + num(`${k}.held_out`, j.heldOut) + num(`${k}.converted`, j.converted) + num(`${k}.exited`, j.exited) + num(`${k}.messages`, j.messages) + num(`${k}.cost`, j.cost, formatMoney(j.cost, cur));
  if (j.base) out += num(`${k}.base_cost`, j.base.cost, formatMoney(j.base.cost, cur)) + num(`${k}.base_messages`, j.base.messages);
  out += '</tr></table>';
  out += renderFunnelSvg(j);
  out += `<table>${th(['step', 'what', ['entered', 'n'], 'sent', ['delivered', 'n'], ['opened', 'n'], ['clicked', 'n'], 'suppressed', ['deferred', 'n'], ['cost', 'n']])}`;
  for (const s of j.steps) {
    const sk = `${k}.step.${s.id}`;
    const sent = sentChannels(s, report.channels)
      .map((c) => `<span class="item">${esc(c)} ${num(`${sk}.sent.${c}`, s.sent[c], formatCount(s.sent[c]), 'span')}</span>`)
      .join('<br>');
    const suppressed = SUPPRESSION_REASONS.filter((r) => (s.suppressed[r] ?? 0) > 0)
      .map((r) => `<span class="item">${esc(r)} ${num(`${sk}.suppressed.${r}`, s.suppressed[r]!, formatCount(s.suppressed[r]!), 'span')}</span>`)
      .join('<br>');
    out += `<tr>${td(s.id)}${td(s.label)}${num(`${sk}.entered`, s.entered)}`;
    out += `<td data-metric="${esc(`${sk}.sent`)}" data-value="${totalSent(s)}">${sent || '-'}</td>`;
    out += num(`${sk}.delivered`, s.delivered) + num(`${sk}.opened`, s.opened) + num(`${sk}.clicked`, s.clicked);
    out += `<td>${suppressed || '-'}</td>${num(`${sk}.deferred`, s.deferred)}${num(`${sk}.cost`, s.cost, formatMoney(s.cost, cur))}</tr>`;
  }
  return out + '</table></section>';
}

function traces(report: PlanReport): string {
  if (!report.traces.length) return '';
  let out = '<section id="traces"><h2>Sample traces</h2>';
  for (const t of report.traces) {
    out += `<h3>${esc(t.customer)} <span class="muted">${esc(t.contact)} (${esc(t.timezone)})</span></h3>`;
    out += `<table class="trace">${th(['at (UTC)', 'journey', 'step', 'what'])}`;
    for (const e of t.entries) out += `<tr>${td(e.at)}${td(e.journey ?? '')}${td(e.step ?? '')}${td(e.what)}</tr>`;
    out += '</table>';
  }
  return out + '</section>';
}

function clv(report: PlanReport): string {
  const c = view(report).clv;
  if (!c) return '';
  const chart = isInertSvg(c.svg) ? c.svg : '<p class="muted">CLV chart not embedded: it holds markup a report must not run.</p>';
  return `<section id="clv"><h2>Customer lifetime value</h2>${chart}<pre>${esc(c.text)}</pre></section>`;
}

export function renderPlanHtml(report: PlanReport): string {
  const changed = changedJourneys(report);
  const journeys = report.journeys.length
    ? `<section id="journeys"><h2>Journeys</h2>${report.journeys.map((j) => journey(report, j, changed.get(j.name))).join('\n')}</section>`
    : '<section id="journeys"><h2>Journeys</h2><p class="muted">No journeys.</p></section>';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Herald plan: ${esc(report.project)}</title>`,
    `<style>${CSS}</style></head><body><main>`,
    header(report),
    guards(report),
    channels(report),
    configDiff(report),
    segments(report),
    journeys,
    traces(report),
    clv(report),
    `<footer class="meta">format_version ${esc(String(report.format_version))}</footer>`,
    '</main></body></html>',
    '',
  ].join('\n');
}
